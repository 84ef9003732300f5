"""Draining the national outbox: claim, send, record each event's result, retry, sweep.

The same pattern as the receipt pipeline (``issuance.jobs``): a worker claims events
with one conditional ``UPDATE … RETURNING`` that sets a lease and counts the attempt,
so two workers never send the same event at once and a dead worker's events are taken
again once its lease runs out; only the holder of the current lease (same attempt
count, still ``sending``) records a result.

What may be claimed, decided in that one statement:

* the event is due (pending and its backoff over, or sending with an expired lease);
* its receipt is signed: an ``issued`` event needs the signed data file, so a receipt's
  events wait, without counting attempts, until signing is done;
* every earlier ``seq`` of its receipt was delivered, or is claimed by the same
  statement (a receipt's events go out in order, consecutive ones in one request).

One request carries up to 100 events. A 5xx, a timeout, a broken connection or an
answer that does not match the request is a failed attempt of every event in it; per
event, ``accepted`` and ``duplicate`` are delivered, ``retry`` is a failed attempt and
``rejected`` is a dead letter at once. A failed attempt waits with exponential backoff;
after ``EREC_NATIONAL_MAX_ATTEMPTS`` the event is dead until an operator requeues it.

Delivery is at least once (a worker may die after the receiver stored the events but
before recording it); the receiver answers the repeat ``duplicate``, so it is stored
exactly once.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from issuance.models import Receipt, SignStatus
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor, audit_build
from zhongtai.core.backoff import backoff_delay
from zhongtai.national import client
from zhongtai.national.client import MAX_EVENTS_PER_REQUEST, NationalUnavailable
from zhongtai.national.models import NationalEvent
from zhongtai.national.payloads import CertificatePems, PayloadUnavailable, event_payload

logger = logging.getLogger(__name__)

SKIPPED = "skipped"
RETRY_CAP_SECONDS = 3600
# Receipts handed to one task when their signing completed (their events are looked up there).
RECEIPTS_PER_TASK = 100
# Rounds of one call that send the events whose predecessors were just delivered.
_FOLLOW_UP_ROUNDS = 20
_SYSTEM = Actor.system("national")
_State = NationalEvent.State


def retry_delay(attempts: int) -> datetime.timedelta:
    """Backoff after the ``attempts``-th failed attempt: base, 2 x base, 4 x base … at most an hour."""
    return backoff_delay(attempts, base_seconds=settings.EREC_NATIONAL_RETRY_SECONDS, cap_seconds=RETRY_CAP_SECONDS)


def lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.EREC_NATIONAL_LEASE_SECONDS)


# --- handing work to the workers ---------------------------------------------------------


def events_enqueue(event_ids: Sequence[int], *, countdown: float | None = None) -> None:
    """Hand event ids to the workers in requests' worth. A lost message is harmless: the sweeper finds the rows."""
    from zhongtai.national.tasks import national_events_send_task

    ids = list(event_ids)
    for start in range(0, len(ids), MAX_EVENTS_PER_REQUEST):
        chunk = ids[start : start + MAX_EVENTS_PER_REQUEST]
        try:
            if countdown:
                national_events_send_task.apply_async((chunk,), countdown=countdown)
            else:
                national_events_send_task.delay(chunk)
        except Exception:  # the broker may be down: the rows stay pending for the sweeper
            logger.exception("could not enqueue national events; the sweeper will pick them up")
            return


def receipts_enqueue(receipt_ids: Sequence[int]) -> None:
    """Hand the ids of receipts just signed to the workers, which send their waiting events."""
    from zhongtai.national.tasks import national_receipts_send_task

    ids = list(receipt_ids)
    for start in range(0, len(ids), RECEIPTS_PER_TASK):
        try:
            national_receipts_send_task.delay(ids[start : start + RECEIPTS_PER_TASK])
        except Exception:
            logger.exception("could not enqueue signed receipts' national events; the sweeper will pick them up")
            return


# --- what is due -------------------------------------------------------------------------


def _claimable(now: datetime.datetime) -> Q:
    return Q(state=_State.PENDING, available_at__lte=now) | Q(state=_State.SENDING, lease_until__lt=now)


def _due(now: datetime.datetime) -> Q:
    """Claimable now, its receipt signed, and nothing earlier of its receipt that holds it back."""
    holds_back = (
        NationalEvent.objects.filter(receipt_id=OuterRef("receipt_id"), seq__lt=OuterRef("seq"))
        .exclude(state=_State.DELIVERED)
        .exclude(_claimable(now))
    )
    return _claimable(now) & Q(receipt__sign_status=SignStatus.SIGNED) & ~Exists(holds_back)


def events_due(*, limit: int = 2000, receipt_ids: Sequence[int] | None = None) -> list[int]:
    """Events a worker could send now, a receipt's in ``seq`` order (of ``receipt_ids`` when given)."""
    queryset = NationalEvent.objects.filter(_due(timezone.now()))
    if receipt_ids is not None:
        queryset = queryset.filter(receipt_id__in=list(receipt_ids))
    return list(queryset.order_by("receipt_id", "seq").values_list("id", flat=True)[:limit])


def _chunks_by_receipt(event_ids: Sequence[int]) -> list[list[int]]:
    """Requests' worth of event ids that keep one receipt's events together where they fit."""
    receipt_of = dict(NationalEvent.objects.filter(pk__in=list(event_ids)).values_list("id", "receipt_id"))
    groups: dict[int, list[int]] = defaultdict(list)
    for event_id in event_ids:
        if event_id in receipt_of:
            groups[receipt_of[event_id]].append(event_id)
    chunks: list[list[int]] = [[]]
    for ids in groups.values():
        if chunks[-1] and len(chunks[-1]) + len(ids) > MAX_EVENTS_PER_REQUEST:
            chunks.append([])
        chunks[-1].extend(ids)
    return [chunk for chunk in chunks if chunk]


def events_sweep(*, limit: int = 2000) -> int:
    """Re-dispatch every due event: lost messages, retries whose backoff ran out, dead workers' leases."""
    if not client.is_configured():
        return 0
    due = events_due(limit=limit)
    for chunk in _chunks_by_receipt(due):
        events_enqueue(chunk)
    return len(due)


# --- claiming ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """An event this worker holds: its attempt count is the lease's token."""

    id: int
    receipt_id: int
    seq: int
    attempts: int


def events_claim(*, event_ids: Sequence[int]) -> list[Claimed]:
    """Claim every claimable event among ``event_ids`` at once (see the module); a receipt's in order."""
    ids = sorted({int(event_id) for event_id in event_ids})
    if not ids:
        return []
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    quote = connection.ops.quote_name
    table = quote(NationalEvent._meta.db_table)
    c = {
        name: quote(NationalEvent._meta.get_field(name).column)
        for name in ("id", "receipt", "seq", "state", "attempts", "available_at", "lease_until", "updated_at")
    }
    receipts = quote(Receipt._meta.db_table)
    receipt_pk = quote(Receipt._meta.pk.column)  # type: ignore[union-attr]
    sign_status = quote(Receipt._meta.get_field("sign_status").column)
    in_ids = f"IN ({', '.join(['%s'] * len(ids))})"

    def claimable(alias: str) -> str:
        return (
            f"(({alias}.{c['state']} = %s AND {alias}.{c['available_at']} <= %s) "
            f"OR ({alias}.{c['state']} = %s AND {alias}.{c['lease_until']} < %s))"
        )

    claimable_params = [_State.PENDING.value, adapt(now), _State.SENDING.value, adapt(now)]
    # RETURNING (PostgreSQL, SQLite >= 3.35) names the rows this statement took, so two
    # workers never both believe they hold one. The earlier-seq test reads the rows as
    # they were before this statement: an earlier event it takes too does not hold back.
    sql = (
        f"UPDATE {table} SET {c['state']} = %s, {c['lease_until']} = %s, "
        f"{c['attempts']} = {c['attempts']} + 1, {c['updated_at']} = %s "
        f"WHERE {table}.{c['id']} {in_ids} AND {claimable(table)} "
        f"AND EXISTS (SELECT 1 FROM {receipts} r WHERE r.{receipt_pk} = {table}.{c['receipt']} "
        f"AND r.{sign_status} = %s) "
        f"AND NOT EXISTS (SELECT 1 FROM {table} e2 WHERE e2.{c['receipt']} = {table}.{c['receipt']} "
        f"AND e2.{c['seq']} < {table}.{c['seq']} AND e2.{c['state']} <> %s "
        f"AND NOT (e2.{c['id']} {in_ids} AND {claimable('e2')})) "
        f"RETURNING {c['id']}, {c['receipt']}, {c['seq']}, {c['attempts']}"
    )
    params = [
        _State.SENDING.value,
        adapt(now + lease()),
        adapt(now),
        *ids,
        *claimable_params,
        SignStatus.SIGNED.value,
        _State.DELIVERED.value,
        *ids,
        *claimable_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    claimed = [Claimed(id=row[0], receipt_id=row[1], seq=row[2], attempts=row[3]) for row in rows]
    return sorted(claimed, key=lambda event: (event.receipt_id, event.seq))


# --- delivering --------------------------------------------------------------------------


def events_deliver(*, event_ids: Sequence[int]) -> dict[str, int]:
    """Claim and send these events (and then those their delivery lets go); returns counts by outcome.

    Outcomes: ``delivered``, ``pending`` (a failed attempt, retried later), ``dead``,
    ``skipped`` (not claimed: someone else has it, not due, not signed yet, or pushing off).
    """
    counts: dict[str, int] = defaultdict(int)
    if not client.is_configured():
        counts[SKIPPED] = len(set(event_ids))
        return dict(counts)
    wanted = list(event_ids)
    for _ in range(_FOLLOW_UP_ROUNDS):
        claimed = events_claim(event_ids=wanted[:MAX_EVENTS_PER_REQUEST])
        counts[SKIPPED] += len(set(wanted[:MAX_EVENTS_PER_REQUEST])) - len(claimed)
        wanted = wanted[MAX_EVENTS_PER_REQUEST:]
        delivered_receipts: set[int] = set()
        if claimed:
            for state, events in _send(claimed).items():
                counts[state] += len(events)
                if state == _State.DELIVERED:
                    delivered_receipts.update(event.receipt_id for event in events)
                elif state == _State.PENDING:
                    _retry_later(events)
        # The later events of receipts whose events just arrived are due now: send them too,
        # rather than leave them to the sweeper. A failed attempt waits for its backoff, so
        # this ends (a receipt has finitely many events).
        if delivered_receipts:
            wanted = [*wanted, *[i for i in events_due(receipt_ids=sorted(delivered_receipts)) if i not in wanted]]
        if not wanted:
            break
    else:
        if wanted:  # more than the rounds allowed: hand the rest to other workers
            events_enqueue(wanted)
    return dict(counts)


def _retry_later(events: list[Claimed]) -> None:
    """Hand failed events back to the broker for when their backoff is over, one message per delay.

    Not without a broker: an eager "countdown" would run at once, find the events not yet
    due and do nothing (or, worse, loop). Then the sweeper, or the next dispatch, retries them.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for event in events:
        by_attempts[event.attempts].append(event.id)
    for attempts, ids in by_attempts.items():
        events_enqueue(ids, countdown=retry_delay(attempts).total_seconds() + 1)


def receipts_deliver(*, receipt_ids: Sequence[int]) -> dict[str, int]:
    """Send the due events of these receipts (their signing just completed)."""
    if not client.is_configured():
        return {}
    counts: dict[str, int] = defaultdict(int)
    for chunk in _chunks_by_receipt(events_due(receipt_ids=receipt_ids)):
        for state, count in events_deliver(event_ids=chunk).items():
            counts[state] += count
    return dict(counts)


def _send(claimed: list[Claimed]) -> dict[str, list[Claimed]]:
    """Build, send and record one request's events; returns them by the state they ended in."""
    by_id = {event.id: event for event in claimed}
    events = list(
        NationalEvent.objects.filter(pk__in=list(by_id))
        .select_related("receipt__unit", "receipt__kind", "receipt__related_receipt")
        .order_by("receipt_id", "seq")
    )
    outcome: dict[str, list[Claimed]] = defaultdict(list)

    def fail(event: NationalEvent, *, code: str, error: str, permanent: bool = False) -> None:
        held = by_id[event.pk]
        outcome[_failed(held, event, code=code, error=error, permanent=permanent)].append(held)

    certificates = CertificatePems(event.receipt for event in events if event.type == "issued")
    sending: list[tuple[NationalEvent, dict[str, object]]] = []
    unbuilt: set[int] = set()
    for event in events:
        if by_id[event.pk].attempts > settings.EREC_NATIONAL_MAX_ATTEMPTS:
            # Only a claim taken over from an expired lease gets here: workers kept dying on it.
            fail(
                event,
                code="WORKER_LOST",
                error=f"已尝试 {event.attempts - 1} 次，最后一次的处理进程未返回结果。",
                permanent=True,
            )
            unbuilt.add(event.receipt_id)
        elif event.receipt_id in unbuilt:  # an earlier event of its receipt is not going: neither is this one
            fail(event, code="HELD_BACK", error="同一票据的前序事件本次未能发送。")
        else:
            try:
                sending.append((event, event_payload(event, certificates=certificates)))
            except PayloadUnavailable as exc:
                unbuilt.add(event.receipt_id)
                fail(event, code="PAYLOAD", error=str(exc))
    if not sending:
        return outcome
    try:
        results = client.events_post([payload for _, payload in sending])
    except NationalUnavailable as exc:
        logger.warning("national platform: %s events not delivered: %s", len(sending), exc)
        code = exc.code or (f"HTTP_{exc.status}" if exc.status else "UNAVAILABLE")
        for event, _ in sending:
            fail(event, code=code, error=str(exc))
        return outcome
    delivered: list[tuple[Claimed, str]] = []
    for (event, _), result in zip(sending, results, strict=True):
        if result.status in ("accepted", "duplicate"):
            delivered.append((by_id[event.pk], result.status))
        elif result.status == "retry":
            fail(event, code=result.code or "RETRY", error=result.message)
        else:
            fail(event, code=result.code or "REJECTED", error=result.message, permanent=True)
    outcome[_State.DELIVERED].extend(_delivered(delivered))
    return outcome


def _delivered(delivered: list[tuple[Claimed, str]]) -> list[Claimed]:
    """Record deliveries: one UPDATE per (attempt count, answer), usually one or two. Returns those recorded."""
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for held, status in delivered:
        groups[(held.attempts, status)].append(held.id)
    now = timezone.now()
    recorded: set[int] = set()
    for (attempts, status), ids in groups.items():
        # Only the holder of the current lease records: an event re-claimed by another worker is theirs.
        taken = NationalEvent.objects.filter(pk__in=ids, state=_State.SENDING, attempts=attempts)
        recorded.update(taken.values_list("id", flat=True))
        taken.update(
            state=_State.DELIVERED,
            delivered_at=now,
            lease_until=None,
            last_code=status.upper(),
            last_error="",
            updated_at=now,
        )
    return [held for held, _ in delivered if held.id in recorded]


def _failed(held: Claimed, event: NationalEvent, *, code: str, error: str, permanent: bool = False) -> str:
    """A failed attempt: pending again after the backoff, or dead (rejected, or the last attempt)."""
    error = error[:2000] or code
    if permanent or held.attempts >= settings.EREC_NATIONAL_MAX_ATTEMPTS:
        return _dead(held, event, code=code, error=error)
    available_at = timezone.now() + retry_delay(held.attempts)
    recorded = _finish(held, state=_State.PENDING, code=code, error=error, available_at=available_at)
    return _State.PENDING if recorded else SKIPPED


def _dead(held: Claimed, event: NationalEvent, *, code: str, error: str) -> str:
    """A dead letter (失败待人工处理), audited, waiting for an operator's requeue."""
    with transaction.atomic():
        if not _finish(held, state=_State.DEAD, code=code, error=error):
            return SKIPPED
        AuditEvent.objects.bulk_create([_dead_audit(event, held=held, code=code, error=error)])
    logger.error("national event %s (%s #%s) is a dead letter: %s %s", held.id, event.receipt, held.seq, code, error)
    return _State.DEAD


def _dead_audit(event: NationalEvent, *, held: Claimed, code: str, error: str) -> AuditEvent:
    receipt = event.receipt
    return audit_build(
        actor=_SYSTEM,
        action="national_event.dead",
        object_type="national_event",
        object_id=held.id,
        unit_code=receipt.unit.code,
        region_code=receipt.region_code,
        data={
            "receiptCode": receipt.receipt_code,
            "number": receipt.number_text,
            "seq": held.seq,
            "type": event.type,
            "attempts": held.attempts,
            "code": code,
            "error": error[:500],
        },
    )


def _finish(held: Claimed, *, state: str, code: str, error: str, available_at: datetime.datetime | None = None) -> bool:
    """Record an outcome if this worker still holds the event (same attempt count, still sending)."""
    fields: dict[str, object] = {
        "state": state,
        "last_code": code[:64],
        "last_error": error,
        "lease_until": None,
        "updated_at": timezone.now(),
    }
    if available_at is not None:
        fields["available_at"] = available_at
    updated = NationalEvent.objects.filter(pk=held.id, state=_State.SENDING, attempts=held.attempts).update(**fields)
    return updated == 1


def events_undelivered(*, receipt_ids: Iterable[int]) -> int:
    """How many events of these receipts have not reached the national platform yet."""
    return NationalEvent.objects.filter(receipt_id__in=list(receipt_ids)).exclude(state=_State.DELIVERED).count()
