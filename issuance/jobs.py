"""The outbox of the receipt pipeline (签章、版式文件): create, claim, run, finish, sweep.

Rows are written in the issuing transaction, so a receipt is never committed without
the work that must follow it. Workers claim rows with a conditional UPDATE and a
lease; anything a crashed worker held is taken again once its lease runs out. Each
step is idempotent, so a step that ran twice (lease expired mid-step) does no harm.

A worker's message carries up to :data:`CHUNK` job ids. They are claimed with one
statement, each step runs over all its receipts at once (shared lookups, bulk
writes), and every job is then finished on its own terms: done, retried later with
backoff, or dead. One receipt's failure never fails the others of its chunk.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from issuance.models import Receipt, ReceiptJob, SignStatus
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor, audit_build
from zhongtai.core.lookups import sql_in

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# Job ids per message. What a chunk shares (claim, loading queries, certificates and keys, the
# recording transaction and its commit) is paid once per chunk, and its SM2 operations run back
# to back: 500 signs in about a second and renders in a few, far from the task's time limit and
# the job lease (decisions 0013 and 0014).
CHUNK = 500

# A step over many receipts: receipt id -> None (done) or the exception that receipt failed with.
ChunkHandler = Callable[[list[int]], dict[int, BaseException | None]]
SKIPPED = "skipped"


def lease() -> datetime.timedelta:
    """How long a claimed job is a worker's before the sweeper may give it to another."""
    return datetime.timedelta(seconds=settings.EREC_JOB_LEASE_SECONDS)


class PermanentJobError(Exception):
    """A step that cannot succeed by retrying (e.g. no certificate): dead at once, for an operator."""


def retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff: 10 s, 20 s, 40 s ... capped at 10 minutes."""
    return datetime.timedelta(seconds=min(600, 10 * 2 ** max(0, attempts - 1)))


def jobs_create(*, receipts: Iterable[Receipt], step: str, existing_ok: bool = False) -> list[int]:
    """Outbox rows for ``receipts``, in the caller's transaction, enqueued after it commits.

    New receipts cannot have jobs yet; with ``existing_ok`` a receipt that already has
    this step's row keeps it (one row per receipt and step), and pending rows are enqueued.
    """
    now = timezone.now()
    if existing_ok:
        receipt_ids = sorted({receipt.pk for receipt in receipts})
        if not receipt_ids:
            return []
        ids = _insert_missing(receipt_ids, step=step, now=now)
        if len(ids) < len(receipt_ids):  # some had this step's row already: enqueue it if pending
            ids = list(
                ReceiptJob.objects.filter(
                    receipt_id__in=receipt_ids, step=step, state=ReceiptJob.State.PENDING
                ).values_list("pk", flat=True)
            )
    else:
        rows = [ReceiptJob(receipt=receipt, step=step, available_at=now) for receipt in receipts]
        ids = [job.pk for job in ReceiptJob.objects.bulk_create(rows)]
    # Robust: the rows are committed whatever happens to the message (the sweeper finds them).
    transaction.on_commit(lambda: jobs_enqueue(ids), robust=True)
    return ids


def _insert_missing(receipt_ids: list[int], *, step: str, now: datetime.datetime) -> list[int]:
    """``bulk_create(..., ignore_conflicts=True)`` of a pending row per receipt, in one INSERT … SELECT.

    Returns the ids of the rows it inserted. The rows are the ones the ORM writes
    (defaults included); building a model instance per row only to read its fields back
    cost more than the rest of recording a signature.
    """
    quote = connection.ops.quote_name
    c = {
        name: quote(ReceiptJob._meta.get_field(name).column)
        for name in (
            "receipt",
            "step",
            "state",
            "attempts",
            "available_at",
            "lease_until",
            "last_error",
            "created_at",
            "updated_at",
        )
    }
    at = connection.ops.adapt_datetimefield_value(now)
    receipt_pk = quote(Receipt._meta.pk.column)  # type: ignore[union-attr]
    among, among_params = sql_in(connection, receipt_pk, receipt_ids)
    # ON CONFLICT DO NOTHING: the unique (receipt, step) row that exists stays as it is. (The
    # WHERE clause also keeps SQLite from reading ON CONFLICT as a join condition.)
    sql = (
        f"INSERT INTO {quote(ReceiptJob._meta.db_table)} ({', '.join(c.values())}) "
        f"SELECT {receipt_pk}, %s, %s, 0, %s, NULL, '', %s, %s FROM {quote(Receipt._meta.db_table)} "
        f"WHERE {among} ON CONFLICT DO NOTHING "
        f"RETURNING {quote(ReceiptJob._meta.pk.column)}"  # type: ignore[union-attr]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [step, ReceiptJob.State.PENDING.value, at, at, at, *among_params])
        return [row[0] for row in cursor.fetchall()]


def jobs_enqueue(job_ids: list[int]) -> None:
    """Hand job ids to the workers in chunks. A lost message is harmless: the sweeper finds the row."""
    from issuance.tasks import receipt_jobs_run_task

    for start in range(0, len(job_ids), CHUNK):
        try:
            receipt_jobs_run_task.delay(job_ids[start : start + CHUNK])
        except Exception:  # the broker may be down: the rows stay pending for the sweeper
            logger.exception("could not enqueue receipt jobs; the sweeper will pick them up")
            return


def jobs_claim(*, job_ids: Sequence[int]) -> list[ReceiptJob]:
    """Claim every due job among ``job_ids`` (pending, or running with an expired lease) at once.

    One conditional UPDATE takes them all and answers which ones it took, each with
    its new attempt count: the jobs someone else holds, or that are not due, are not
    returned. The attempt count is the lease's token (see :func:`_finish`).
    """
    ids = sorted({int(job_id) for job_id in job_ids})
    if not ids:
        return []
    now = timezone.now()
    until = now + lease()
    adapt = connection.ops.adapt_datetimefield_value
    running, pending = ReceiptJob.State.RUNNING.value, ReceiptJob.State.PENDING.value
    c = {
        name: connection.ops.quote_name(ReceiptJob._meta.get_field(name).column)
        for name in ("id", "receipt", "step", "state", "attempts", "available_at", "lease_until")
    }
    among, among_params = sql_in(connection, c["id"], ids)
    # The ORM's update() answers only a row count; RETURNING (PostgreSQL, SQLite >= 3.35)
    # names the rows this statement took, so two workers never both believe they hold one.
    sql = (
        f"UPDATE {connection.ops.quote_name(ReceiptJob._meta.db_table)} "
        f"SET {c['state']} = %s, {c['lease_until']} = %s, {c['attempts']} = {c['attempts']} + 1 "
        f"WHERE {among} AND {c['available_at']} <= %s "
        f"AND ({c['state']} = %s OR ({c['state']} = %s AND {c['lease_until']} < %s)) "
        f"RETURNING {c['id']}, {c['receipt']}, {c['step']}, {c['attempts']}"
    )
    params = [running, adapt(until), *among_params, adapt(now), pending, running, adapt(now)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # The instances ReceiptJob(pk=..., receipt_id=..., step=..., attempts=..., state=running,
    # lease_until=until) would be, built from positional values: Model.__init__ with keywords
    # cost more per job than the rest of claiming it.
    names = [f.attname for f in ReceiptJob._meta.concrete_fields]
    template = [f.get_default() for f in ReceiptJob._meta.concrete_fields]
    template[names.index("state")], template[names.index("lease_until")] = running, until
    returned = [names.index(name) for name in ("id", "receipt_id", "step", "attempts")]
    jobs = []
    for row in sorted(rows):
        values = template.copy()
        for at, value in zip(returned, row, strict=True):
            values[at] = value
        jobs.append(ReceiptJob(*values))
    return jobs


def job_claim(*, job_id: int) -> ReceiptJob | None:
    """Claim a due job (pending, or running with an expired lease); None if someone else has it."""
    claimed = jobs_claim(job_ids=[job_id])
    return claimed[0] if claimed else None


def jobs_run(*, job_ids: Sequence[int], handlers: dict[str, ChunkHandler] | None = None) -> dict[str, int]:
    """Claim and run a chunk of jobs; returns how many ended in each state ('skipped': not claimed)."""
    jobs = jobs_claim(job_ids=job_ids)
    states = _run_claimed(jobs, handlers)
    counts: dict[str, int] = defaultdict(int)
    for state in states.values():
        counts[state] += 1
    skipped = len(set(job_ids)) - len(jobs)
    if skipped:
        counts[SKIPPED] += skipped
    return dict(counts)


def job_run(*, job_id: int, handlers: dict[str, Callable[[Receipt], None]] | None = None) -> str:
    """Run one job if it can be claimed; returns the job's state afterwards (or 'skipped').

    ``handlers`` (for tests and tools) maps a step to a function of one receipt; by
    default the pipeline's steps run, the same code a worker runs over a chunk.
    """
    job = job_claim(job_id=job_id)
    if job is None:
        return SKIPPED
    chunk_handlers = None if handlers is None else {step: _per_receipt(handler) for step, handler in handlers.items()}
    return _run_claimed([job], chunk_handlers)[job.pk]


def _per_receipt(handler: Callable[[Receipt], None]) -> ChunkHandler:
    def run(receipt_ids: list[int]) -> dict[int, BaseException | None]:
        outcomes: dict[int, BaseException | None] = {}
        for receipt in Receipt.objects.filter(pk__in=receipt_ids):
            try:
                handler(receipt)
            except Exception as exc:
                outcomes[receipt.pk] = exc
            else:
                outcomes[receipt.pk] = None
        return outcomes

    return run


@dataclass
class _Running:
    """The claimed jobs of the step a handler is running, and those finished in its transactions."""

    jobs: dict[int, ReceiptJob]  # receipt id -> its claimed job of this step
    finished: set[int] = field(default_factory=set)  # job ids finished in a committed transaction


_running: ContextVar[_Running | None] = ContextVar("issuance_jobs_running", default=None)


def jobs_done_with(*, receipt_ids: Iterable[int]) -> None:
    """Finish, in the caller's transaction, the claimed jobs of these receipts as done.

    For a step handler that records its results in a transaction: the results and the
    completion of their jobs then commit together, or roll back together (and the jobs
    are failed as usual). One commit per chunk instead of two. As everywhere, only the
    holder of the current lease finishes a job. Outside a step run by :func:`jobs_run`
    it does nothing; jobs not finished this way are finished when the handler returns.
    """
    running = _running.get()
    if running is None:
        return
    jobs = [running.jobs[receipt_id] for receipt_id in receipt_ids if receipt_id in running.jobs]
    _finish_done(jobs)
    finished = {job.pk for job in jobs}
    # Only a commit makes them finished: after a rollback they are still ours to finish or fail.
    transaction.on_commit(lambda: running.finished.update(finished))


def _run_claimed(jobs: list[ReceiptJob], handlers: dict[str, ChunkHandler] | None) -> dict[int, str]:
    """Run claimed jobs step by step and finish each one; returns job id -> state."""
    if handlers is None:
        from issuance.pipeline import STEP_CHUNK_HANDLERS

        handlers = STEP_CHUNK_HANDLERS
    by_step: dict[str, list[ReceiptJob]] = defaultdict(list)
    for job in jobs:
        by_step[job.step].append(job)
    states: dict[int, str] = {}
    for step, step_jobs in by_step.items():
        running = _Running(jobs={job.receipt_id: job for job in step_jobs})
        token = _running.set(running)
        try:
            outcomes = handlers[step]([job.receipt_id for job in step_jobs])
        except Exception as exc:  # the step failed as a whole (database down...): each job fails alike
            outcomes = {job.receipt_id: exc for job in step_jobs}
        finally:
            _running.reset(token)
        done: list[ReceiptJob] = []
        for job in step_jobs:
            error = outcomes.get(job.receipt_id, RuntimeError(f"step {step} gave no outcome for this receipt"))
            if error is None:
                done.append(job)
            else:
                states[job.pk] = _fail(job, error)
        _finish_done([job for job in done if job.pk not in running.finished])
        states.update({job.pk: ReceiptJob.State.DONE for job in done})
        if step == ReceiptJob.Step.SIGN:
            _signing_settled([job.receipt_id for job in step_jobs if states[job.pk] != ReceiptJob.State.PENDING])
    return states


def _signing_settled(receipt_ids: list[int]) -> None:
    """Batches whose last receipts this chunk signed (or gave up on) are complete: one query per chunk.

    Never fails the chunk: a batch missed here is completed by the webhooks' sweeper.
    """
    if not receipt_ids:
        return
    from zhongtai.webhooks.batches import batches_check_after_signing

    try:
        batches_check_after_signing(receipt_ids=receipt_ids)
    except Exception:
        logger.exception("batch completion check failed; the webhooks sweeper will retry it")


def _fail(job: ReceiptJob, exc: BaseException) -> str:
    """Dead at once for a PermanentJobError or the last attempt; otherwise pending again after a backoff."""
    if isinstance(exc, PermanentJobError):
        return _dead(job, error=str(exc))
    logger.warning("receipt job %s (%s) failed on attempt %s: %s", job.pk, job.step, job.attempts, exc)
    error = f"{exc.__class__.__name__}: {exc}"
    if job.attempts >= MAX_ATTEMPTS:
        return _dead(job, error=error)
    return _finish(
        job,
        state=ReceiptJob.State.PENDING,
        error=error,
        available_at=timezone.now() + retry_delay(job.attempts),
    )


def _finish(job: ReceiptJob, *, state: str, error: str, available_at: datetime.datetime | None = None) -> str:
    # Only the holder of the current lease may finish the job.
    fields: dict[str, object] = {"state": state, "last_error": error[:2000], "lease_until": None}
    if available_at is not None:
        fields["available_at"] = available_at
    ReceiptJob.objects.filter(pk=job.pk, state=ReceiptJob.State.RUNNING, attempts=job.attempts).update(**fields)
    return state


def _dead(job: ReceiptJob, *, error: str) -> str:
    """A dead sign job marks its receipt 签章失败, so that lists and the API show it, not just the outbox."""
    with transaction.atomic():
        state = _finish(job, state=ReceiptJob.State.DEAD, error=error)
        if job.step == ReceiptJob.Step.SIGN:
            Receipt.objects.filter(pk=job.receipt_id, sign_status=SignStatus.PENDING).update(
                sign_status=SignStatus.FAILED
            )
    return state


def _finish_done(jobs: list[ReceiptJob]) -> None:
    """:func:`_finish` for many successful jobs: one UPDATE per attempt count (usually one), none for none."""
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for job in jobs:
        by_attempts[job.attempts].append(job.pk)
    if not by_attempts:
        return
    # What filter(pk__any=ids, state=RUNNING, attempts=attempts).update(state=DONE, last_error="",
    # lease_until=None) writes, without the ORM compiling it and preparing each id on its own.
    c = {
        name: connection.ops.quote_name(ReceiptJob._meta.get_field(name).column)
        for name in ("id", "state", "attempts", "last_error", "lease_until")
    }
    with connection.cursor() as cursor:
        for attempts, ids in by_attempts.items():
            among, among_params = sql_in(connection, c["id"], ids)
            cursor.execute(
                f"UPDATE {connection.ops.quote_name(ReceiptJob._meta.db_table)} "
                f"SET {c['state']} = %s, {c['last_error']} = %s, {c['lease_until']} = NULL "
                f"WHERE {among} AND {c['state']} = %s AND {c['attempts']} = %s",
                [ReceiptJob.State.DONE.value, "", *among_params, ReceiptJob.State.RUNNING.value, attempts],
            )


def jobs_due(*, limit: int = 1000) -> list[int]:
    """Jobs a worker should run now: pending and due, or running with an expired lease."""
    now = timezone.now()
    return list(
        ReceiptJob.objects.filter(available_at__lte=now)
        .filter(Q(state=ReceiptJob.State.PENDING) | Q(state=ReceiptJob.State.RUNNING, lease_until__lt=now))
        .order_by("available_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def job_requeue(*, job_id: int) -> bool:
    """An operator sends a dead job back to the queue (after fixing its cause)."""
    with transaction.atomic():
        updated = ReceiptJob.objects.filter(pk=job_id, state=ReceiptJob.State.DEAD).update(
            state=ReceiptJob.State.PENDING, attempts=0, available_at=timezone.now(), last_error=""
        )
        if updated:
            # A failed signing gets its chance again: the sign step takes only pending receipts.
            Receipt.objects.filter(
                jobs__pk=job_id, jobs__step=ReceiptJob.Step.SIGN, sign_status=SignStatus.FAILED
            ).update(sign_status=SignStatus.PENDING)
            transaction.on_commit(lambda: jobs_enqueue([job_id]))
    return bool(updated)


def receipt_step_run_now(*, receipt: Receipt, step: str) -> None:
    """Run a receipt's step in this process if no worker has it (e.g. signing inside the request).

    The claim is the same conditional UPDATE a worker uses, so the step still runs once.
    """
    job_id = ReceiptJob.objects.filter(receipt=receipt, step=step).values_list("pk", flat=True).first()
    if job_id is not None:
        job_run(job_id=job_id)


def receipts_sign_again(*, unit_id: int, actor: Actor) -> int:
    """Send a unit's receipts that wait for its own signature, or whose signing failed, back to signing.

    For a unit that moved from its own key to a hosted one (or got its certificate after
    issuing): the sign step then signs them with the unit's current certificate.
    """
    with transaction.atomic():
        receipts = list(
            Receipt.objects.select_for_update(of=("self",))
            .filter(unit_id=unit_id, sign_status__in=[SignStatus.AWAITING_UNIT, SignStatus.FAILED])
            .select_related("unit")
            .order_by("pk")
        )
        if not receipts:
            return 0
        ids = [receipt.pk for receipt in receipts]
        Receipt.objects.filter(pk__in=ids).update(sign_status=SignStatus.PENDING)
        ReceiptJob.objects.filter(receipt_id__in=ids, step=ReceiptJob.Step.SIGN).update(
            state=ReceiptJob.State.PENDING, attempts=0, available_at=timezone.now(), last_error="", lease_until=None
        )
        AuditEvent.objects.bulk_create(
            [
                audit_build(
                    actor=actor,
                    action="receipt.sign_again",
                    object_type="receipt",
                    object_id=receipt.pk,
                    unit_code=receipt.unit.code,
                    region_code=receipt.region_code,
                    data={"from": receipt.sign_status},
                )
                for receipt in receipts
            ]
        )
        job_ids = list(
            ReceiptJob.objects.filter(receipt_id__in=ids, step=ReceiptJob.Step.SIGN).values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: jobs_enqueue(job_ids))
    return len(receipts)
