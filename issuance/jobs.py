"""The outbox of the receipt pipeline (签章、版式文件): create, claim, finish, sweep.

Rows are written in the issuing transaction, so a receipt is never committed without
the work that must follow it. Workers claim a row with a conditional UPDATE and a
lease; anything a crashed worker held is taken again once its lease runs out. Each
step is idempotent, so a step that ran twice (lease expired mid-step) does no harm.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from issuance.models import Receipt, ReceiptJob

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
CHUNK = 50


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
    rows = [ReceiptJob(receipt=receipt, step=step, available_at=now) for receipt in receipts]
    if existing_ok:
        ReceiptJob.objects.bulk_create(rows, ignore_conflicts=True)
        ids = list(
            ReceiptJob.objects.filter(
                receipt__in=[row.receipt_id for row in rows], step=step, state=ReceiptJob.State.PENDING
            ).values_list("pk", flat=True)
        )
    else:
        ids = [job.pk for job in ReceiptJob.objects.bulk_create(rows)]
    transaction.on_commit(lambda: jobs_enqueue(ids))
    return ids


def jobs_enqueue(job_ids: list[int]) -> None:
    """Hand job ids to the workers in chunks. A lost message is harmless: the sweeper finds the row."""
    from issuance.tasks import receipt_jobs_run_task

    for start in range(0, len(job_ids), CHUNK):
        try:
            receipt_jobs_run_task.delay(job_ids[start : start + CHUNK])
        except Exception:  # the broker may be down: the rows stay pending for the sweeper
            logger.exception("could not enqueue receipt jobs; the sweeper will pick them up")
            return


def job_claim(*, job_id: int) -> ReceiptJob | None:
    """Claim a due job (pending, or running with an expired lease); None if someone else has it."""
    now = timezone.now()
    claimed = (
        ReceiptJob.objects.filter(pk=job_id, available_at__lte=now)
        .filter(Q(state=ReceiptJob.State.PENDING) | Q(state=ReceiptJob.State.RUNNING, lease_until__lt=now))
        .update(state=ReceiptJob.State.RUNNING, lease_until=now + lease(), attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return None
    return ReceiptJob.objects.select_related("receipt").get(pk=job_id)


def job_run(*, job_id: int, handlers: dict[str, Callable[[Receipt], None]] | None = None) -> str:
    """Run one job if it can be claimed; returns the job's state afterwards (or 'skipped')."""
    job = job_claim(job_id=job_id)
    if job is None:
        return "skipped"
    if handlers is None:
        from issuance.pipeline import STEP_HANDLERS

        handlers = STEP_HANDLERS
    try:
        handlers[job.step](job.receipt)
    except PermanentJobError as exc:
        return _finish(job, state=ReceiptJob.State.DEAD, error=str(exc))
    except Exception as exc:
        logger.warning("receipt job %s (%s) failed on attempt %s: %s", job.pk, job.step, job.attempts, exc)
        if job.attempts >= MAX_ATTEMPTS:
            return _finish(job, state=ReceiptJob.State.DEAD, error=f"{exc.__class__.__name__}: {exc}")
        return _finish(
            job,
            state=ReceiptJob.State.PENDING,
            error=f"{exc.__class__.__name__}: {exc}",
            available_at=timezone.now() + retry_delay(job.attempts),
        )
    return _finish(job, state=ReceiptJob.State.DONE, error="")


def _finish(job: ReceiptJob, *, state: str, error: str, available_at: datetime.datetime | None = None) -> str:
    # Only the holder of the current lease may finish the job.
    fields: dict[str, object] = {"state": state, "last_error": error[:2000], "lease_until": None}
    if available_at is not None:
        fields["available_at"] = available_at
    ReceiptJob.objects.filter(pk=job.pk, state=ReceiptJob.State.RUNNING, attempts=job.attempts).update(**fields)
    return state


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
    updated = ReceiptJob.objects.filter(pk=job_id, state=ReceiptJob.State.DEAD).update(
        state=ReceiptJob.State.PENDING, attempts=0, available_at=timezone.now(), last_error=""
    )
    if updated:
        transaction.on_commit(lambda: jobs_enqueue([job_id]))
    return bool(updated)


def receipt_step_run_now(*, receipt: Receipt, step: str) -> None:
    """Run a receipt's step in this process if no worker has it (e.g. signing inside the request).

    The claim is the same conditional UPDATE a worker uses, so the step still runs once.
    """
    job_id = ReceiptJob.objects.filter(receipt=receipt, step=step).values_list("pk", flat=True).first()
    if job_id is not None:
        job_run(job_id=job_id)
