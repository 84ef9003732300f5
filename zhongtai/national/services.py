"""Writing the national outbox: events in the caller's transaction, and the operator's requeue.

The hooks the receipt services call are cheap on purpose: :func:`events_record_issued`
is one ``INSERT … SELECT`` for a whole batch of new receipts, and
:func:`receipts_signed_dispatch` runs no query at all (it only hands the receipt ids to
the workers after the commit, and only when pushing is configured).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from issuance.models import Receipt
from zhongtai.audit.services import Actor, audit_record
from zhongtai.national.models import EventType, NationalEvent
from zhongtai.national.payloads import money_text

if TYPE_CHECKING:
    from issuance.paper.models import PaperUse
    from verification.models import ReceiptEntry


def events_record_issued(*, receipt_ids: Sequence[int]) -> None:
    """The ``issued`` event (seq 1) of each new production receipt, in the caller's transaction.

    One ``INSERT … SELECT`` over the receipts table, which also leaves out sandbox
    receipts (联调测试票据 are never pushed). The event holds no data: its payload (the
    signed data file, the certificates) is built from the receipt when it is sent.
    """
    ids = sorted({int(pk) for pk in receipt_ids})
    if not ids:
        return
    quote = connection.ops.quote_name
    field = NationalEvent._meta.get_field
    columns = [
        "receipt",
        "seq",
        "type",
        "data",
        "occurred_at",
        "state",
        "attempts",
        "available_at",
        "last_error",
        "last_code",
        "created_at",
        "updated_at",
    ]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    data = field("data").get_db_prep_save({}, connection)  # type: ignore[union-attr]
    receipt_table = quote(Receipt._meta.db_table)
    receipt_pk = quote(Receipt._meta.pk.column)  # type: ignore[union-attr]
    issued_at = quote(Receipt._meta.get_field("issued_at").column)
    sql = (
        f"INSERT INTO {quote(NationalEvent._meta.db_table)} "
        f"({', '.join(quote(field(name).column) for name in columns)}) "
        f"SELECT {receipt_pk}, 1, %s, %s, {issued_at}, %s, 0, %s, '', '', %s, %s "
        f"FROM {receipt_table} WHERE {receipt_pk} IN ({', '.join(['%s'] * len(ids))}) "
        f"AND {quote(Receipt._meta.get_field('sandbox').column)} = %s"
    )
    params: list[Any] = [EventType.ISSUED.value, data, NationalEvent.State.PENDING.value, now, now, now, *ids, False]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def event_record(
    *, receipt: Receipt, type: str, data: dict[str, Any], occurred_at: datetime.datetime | None = None
) -> NationalEvent | None:
    """A status event of ``receipt``, in the caller's transaction; None for a sandbox receipt.

    The caller holds the receipt's row lock (every status change takes it), which keeps
    the receipt's ``seq`` gapless and unique; the unique constraint is the second line.
    A receipt issued before the outbox existed gets its ``issued`` event first.
    """
    assert transaction.get_connection().in_atomic_block, "national events are written in the change's transaction"
    if receipt.sandbox:
        return None
    last = NationalEvent.objects.filter(receipt_id=receipt.pk).aggregate(last=Max("seq"))["last"]
    if last is None:
        events_record_issued(receipt_ids=[receipt.pk])
        last = 1
    now = timezone.now()
    event = NationalEvent.objects.create(
        receipt_id=receipt.pk,
        seq=last + 1,
        type=type,
        data=data,
        occurred_at=occurred_at or now,
        available_at=now,
    )
    if settings.EREC_NATIONAL_URL:
        event_id = event.pk
        transaction.on_commit(lambda: _enqueue_events([event_id]), robust=True)
    return event


def events_record_red_offset(*, original: Receipt, red: Receipt) -> None:
    """A red-offset, in its transaction: the red receipt's ``issued`` and the original's ``red_offset``."""
    events_record_issued(receipt_ids=[red.pk])
    event_record(
        receipt=original,
        type=EventType.RED_OFFSET,
        data={"redCode": red.receipt_code, "redNumber": red.number},
        occurred_at=red.issued_at,
    )


def event_record_paper(*, receipt: Receipt, use: PaperUse, converted: bool) -> None:
    """The receipt was printed on paper (``converted``), or its paper copy was voided and it is electronic again."""
    event_record(
        receipt=receipt,
        type=EventType.PAPER_CONVERTED if converted else EventType.PAPER_RECOVERED,
        data={"paperNumber": paper_number_text(use.paper_code, use.paper_number)},
    )


def event_record_paper_reprint(*, receipt: Receipt, voided: PaperUse, reprinted: PaperUse) -> None:
    """A misprint printed again: the national platform learns the copy that now counts.

    The contract has no event for a new paper number, so the misprinted copy is
    ``paper_recovered`` and the new one ``paper_converted``, in that order.
    """
    event_record_paper(receipt=receipt, use=voided, converted=False)
    event_record_paper(receipt=receipt, use=reprinted, converted=True)


def paper_number_text(paper_code: str, paper_number: int) -> str:
    """A paper form as the events name it: its 8-digit paper code and 10-digit number."""
    return f"{paper_code}{paper_number:010d}"


def event_record_entry(*, receipt: Receipt, entry: ReceiptEntry, cancelled: bool) -> None:
    """A reimbursement or book entry (报销/入账) of the receipt was recorded, or cancelled."""
    event_record(
        receipt=receipt,
        type=EventType.ENTRY_CANCELLED if cancelled else EventType.ENTERED,
        data={
            "partyCode": entry.party.credit_code,
            "partyName": entry.party.name,
            "amount": money_text(entry.amount),
            "entryDate": entry.entry_date.isoformat(),
        },
    )


def receipts_signed_dispatch(*, receipt_ids: Sequence[int]) -> None:
    """After the caller's transaction commits, send the waiting events of receipts it signed.

    No query here: the workers look the events up. Nothing at all when pushing is off.
    """
    if not settings.EREC_NATIONAL_URL or not receipt_ids:
        return
    ids = list(receipt_ids)
    transaction.on_commit(lambda: _enqueue_receipts(ids), robust=True)


def event_requeue(*, event_id: int, actor: Actor) -> bool:
    """An operator sends a dead letter back to the outbox (重新排队), audited; False if it is not dead."""
    with transaction.atomic():
        event = (
            NationalEvent.objects.select_for_update(of=("self",))
            .select_related("receipt__unit")
            .filter(pk=event_id, state=NationalEvent.State.DEAD)
            .first()
        )
        if event is None:
            return False
        NationalEvent.objects.filter(pk=event.pk).update(
            state=NationalEvent.State.PENDING, attempts=0, available_at=timezone.now(), lease_until=None
        )
        audit_record(
            actor=actor,
            action="national_event.requeue",
            object_type="national_event",
            object_id=event.pk,
            unit_code=event.receipt.unit.code,
            region_code=event.receipt.region_code,
            data={
                "receiptCode": event.receipt.receipt_code,
                "number": event.receipt.number_text,
                "seq": event.seq,
                "type": event.type,
                "attempts": event.attempts,
                "lastCode": event.last_code,
                "lastError": event.last_error[:500],
            },
        )
        transaction.on_commit(lambda: _enqueue_events([event_id]), robust=True)
    return True


def receipt_events_resend(*, receipt_id: int, actor: Actor) -> int:
    """Send all of a receipt's events again (the national platform lost them), audited; returns how many.

    For a reconciliation that lists the receipt as missing on the national side although
    its events were delivered. Events being sent right now are left alone. A resend of
    what the national platform still has is answered ``duplicate``: harmless.
    """
    with transaction.atomic():
        receipt = Receipt.objects.select_related("unit").get(pk=receipt_id)
        events = NationalEvent.objects.select_for_update().filter(
            receipt_id=receipt_id, state__in=[NationalEvent.State.DELIVERED, NationalEvent.State.DEAD]
        )
        ids = list(events.order_by("seq").values_list("pk", flat=True))
        if not ids:
            return 0
        NationalEvent.objects.filter(pk__in=ids).update(
            state=NationalEvent.State.PENDING, attempts=0, available_at=timezone.now(), delivered_at=None
        )
        audit_record(
            actor=actor,
            action="national_event.resend",
            object_type="receipt",
            object_id=receipt.pk,
            unit_code=receipt.unit.code,
            region_code=receipt.region_code,
            data={"receiptCode": receipt.receipt_code, "number": receipt.number_text, "events": len(ids)},
        )
        transaction.on_commit(lambda: _enqueue_events(ids), robust=True)
    return len(ids)


def _enqueue_events(event_ids: list[int]) -> None:
    from zhongtai.national.outbox import events_enqueue

    events_enqueue(event_ids)


def _enqueue_receipts(receipt_ids: list[int]) -> None:
    from zhongtai.national.outbox import receipts_enqueue

    receipts_enqueue(receipt_ids)
