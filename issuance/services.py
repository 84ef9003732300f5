"""Issuance services: the only code that creates receipts or changes their status."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from issuance.errors import IssuanceError
from issuance.jobs import jobs_create
from issuance.models import Receipt, ReceiptItem, ReceiptJob
from issuance.payload import IssueInput
from issuance.rules import CheckedReceipt, Violation, context_load, receipt_check, unit_check_can_issue
from issuance.states import can_transition
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor, audit_build, audit_record
from zhongtai.core.errors import ApplicationError
from zhongtai.core.money import amount_in_capitals
from zhongtai.masterdata.models import Unit
from zhongtai.national import services as national
from zhongtai.numbering.services import (
    check_code_generate,
    exhaustion_error,
    numbers_allocate,
    receipt_code_for,
    sequence_ensure,
)

logger = logging.getLogger(__name__)

# A concurrent duplicate busNo makes the insert fail; the batch is then re-checked.
_MAX_ATTEMPTS = 3
_RELATED = ("kind", "unit", "issuing_point", "related_receipt")


@dataclass
class IssueOutcome:
    """The result of one request of a batch: a receipt (new or the earlier one) or an error."""

    receipt: Receipt | None = None
    created: bool = False
    error: ApplicationError | None = None


def violations_error(violations: list[Violation]) -> ApplicationError:
    first = violations[0]
    return ApplicationError(first.code, first.message, {"errors": [v.as_dict() for v in violations]}, status=422)


def bus_no_conflict_error(bus_no: str, receipt: Receipt) -> ApplicationError:
    return ApplicationError(
        IssuanceError.BUS_NO_CONFLICT,
        f"业务流水号 {bus_no} 已用于开具另一内容的票据，不能用于不同的请求。",
        {"busNo": bus_no, "receiptCode": receipt.receipt_code, "receiptNumber": receipt.number_text},
        status=409,
    )


def receipt_issue(
    *, unit: Unit, data: IssueInput, actor: Actor, source: str, sandbox: bool = False
) -> tuple[Receipt, bool]:
    """Issue one receipt; returns (receipt, created). ``created`` is False for a repeated busNo."""
    outcome = receipts_issue(unit=unit, inputs=[data], actor=actor, source=source, sandbox=sandbox)[0]
    if outcome.error is not None:
        raise outcome.error
    assert outcome.receipt is not None
    return outcome.receipt, outcome.created


def receipts_issue(
    *, unit: Unit, inputs: list[IssueInput], actor: Actor, source: str, sandbox: bool = False
) -> list[IssueOutcome]:
    """Issue a batch for one unit; each request succeeds or fails on its own.

    busNo is the idempotency key and is answered first: a busNo seen before (in an
    earlier request or earlier in this batch) with the same content returns that
    receipt at any later time, whatever has changed in master data since; with other
    content it is refused. The rest is checked against master data and numbered in
    one short transaction for the whole batch.

    ``sandbox`` issues sandbox receipts (联调测试票据): busNos, numbers and receipts of
    the sandbox are apart from production's.
    """
    outcomes = [IssueOutcome() for _ in inputs]
    digests = [data.digest() for data in inputs]
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        pending, repeats = _answer_known_bus_nos(
            unit=unit, inputs=inputs, digests=digests, outcomes=outcomes, sandbox=sandbox
        )
        try:
            _check_and_create(
                unit=unit,
                inputs=inputs,
                digests=digests,
                pending=pending,
                outcomes=outcomes,
                actor=actor,
                source=source,
                sandbox=sandbox,
            )
        except IntegrityError:
            # A concurrent request created one of these busNos first: answer it from the database.
            if attempt == _MAX_ATTEMPTS:
                raise
            logger.info("busNo race for unit %s, re-checking (attempt %s)", unit.code, attempt)
            for index in pending:
                outcomes[index] = IssueOutcome()
            continue
        _answer_in_batch_repeats(digests=digests, repeats=repeats, inputs=inputs, outcomes=outcomes)
        break
    # A repeat whose first request failed and whose content differs is a request of its own.
    again = [i for i, first in repeats.items() if outcomes[first].receipt is None and digests[i] != digests[first]]
    if again:
        for index, outcome in zip(
            again,
            receipts_issue(unit=unit, inputs=[inputs[i] for i in again], actor=actor, source=source, sandbox=sandbox),
            strict=True,
        ):
            outcomes[index] = outcome
    return outcomes


def _answer_known_bus_nos(
    *, unit: Unit, inputs: list[IssueInput], digests: list[str], outcomes: list[IssueOutcome], sandbox: bool
) -> tuple[list[int], dict[int, int]]:
    """Answer busNos that already have a receipt; return the requests still to create.

    Also returns the in-batch repeats (index -> index of the first request with that
    busNo), which are answered once the first one is done.
    """
    bus_nos = {data.bus_no for data in inputs if data.bus_no}
    existing = (
        {
            r.bus_no: r
            for r in Receipt.objects.filter(unit=unit, bus_no__in=bus_nos, sandbox=sandbox).select_related(*_RELATED)
        }
        if bus_nos
        else {}
    )
    pending: list[int] = []
    repeats: dict[int, int] = {}
    first_in_batch: dict[str, int] = {}
    for index, data in enumerate(inputs):
        bus_no = data.bus_no
        if bus_no and bus_no in existing:
            receipt = existing[bus_no]
            if receipt.request_digest == digests[index]:
                outcomes[index] = IssueOutcome(receipt=receipt, created=False)
            else:
                outcomes[index] = IssueOutcome(error=bus_no_conflict_error(bus_no, receipt))
        elif bus_no and bus_no in first_in_batch:
            repeats[index] = first_in_batch[bus_no]
        else:
            if bus_no:
                first_in_batch[bus_no] = index
            pending.append(index)
    return pending, repeats


def _check_and_create(
    *,
    unit: Unit,
    inputs: list[IssueInput],
    digests: list[str],
    pending: list[int],
    outcomes: list[IssueOutcome],
    actor: Actor,
    source: str,
    sandbox: bool,
) -> None:
    if not pending:
        return
    try:
        unit_check_can_issue(unit, timezone.localdate())
    except ApplicationError as refusal:
        for index in pending:
            outcomes[index] = IssueOutcome(error=refusal)
        return
    ctx = context_load(unit=unit, item_codes={item.item_code for i in pending for item in inputs[i].items})
    checked: dict[int, CheckedReceipt] = {}
    for index in pending:
        result = receipt_check(ctx, inputs[index], digests[index])
        if isinstance(result, list):
            outcomes[index] = IssueOutcome(error=violations_error(result))
        else:
            checked[index] = result
    if checked:
        _create(unit=unit, checked=checked, outcomes=outcomes, actor=actor, source=source, sandbox=sandbox)


def _create(
    *,
    unit: Unit,
    checked: dict[int, CheckedReceipt],
    outcomes: list[IssueOutcome],
    actor: Actor,
    source: str,
    sandbox: bool,
) -> None:
    year = timezone.localdate().year
    order = sorted(checked)
    codes = {index: receipt_code_for(kind=checked[index].kind, year=year) for index in order}
    needs: dict[str, int] = defaultdict(int)
    for code in codes.values():
        needs[code] += 1
    for kind in {item.kind.pk: item.kind for item in checked.values()}.values():
        sequence_ensure(kind=kind, year=year, sandbox=sandbox)
    # Everything that does not depend on the number is built before the lock is taken:
    # the lock serialises every issuer of the same receipt code, so it is held briefly.
    built = {
        index: _build_receipt(
            unit=unit, item=checked[index], code=codes[index], actor=actor, source=source, sandbox=sandbox
        )
        for index in order
    }
    lines = {index: _build_items(built[index], checked[index]) for index in order}
    refused: dict[int, ApplicationError] = {}
    issued: list[int] = []
    with transaction.atomic():
        numbers = numbers_allocate(unit=unit, needs=needs, partial=True, sandbox=sandbox)
        allocated = {code: iter(got) for code, got in numbers.items()}
        # Taken after the lock, so that within a receipt code a later number never has an earlier time.
        now = timezone.now()
        today = timezone.localdate(now)
        for index in order:
            code = codes[index]
            number = next(allocated[code], None)
            if number is None:
                refused[index] = exhaustion_error(
                    unit=unit, receipt_code=code, needed=needs[code], available=len(numbers[code]), sandbox=sandbox
                )
                continue
            receipt = built[index]
            receipt.number, receipt.issued_at, receipt.issue_date = number, now, today
            receipt.bus_date = receipt.bus_date or today
            issued.append(index)
        if issued:
            _insert(unit=unit, receipts=[built[i] for i in issued], lines=[lines[i] for i in issued], actor=actor)
    for index in issued:
        outcomes[index] = IssueOutcome(receipt=built[index], created=True)
    for index, error in refused.items():
        outcomes[index] = IssueOutcome(error=error)


def _insert(*, unit: Unit, receipts: list[Receipt], lines: list[list[ReceiptItem]], actor: Actor) -> None:
    """Receipts, their items and one audit row each, in the caller's transaction."""
    Receipt.objects.bulk_create(receipts)
    for receipt, receipt_lines in zip(receipts, lines, strict=True):
        for line in receipt_lines:
            line.receipt_id = receipt.pk
        receipt._prefetched_objects_cache = {"items": receipt_lines}  # type: ignore[attr-defined]
    ReceiptItem.objects.bulk_create([line for receipt_lines in lines for line in receipt_lines])
    # The outbox rows of the signing step commit (or roll back) with the receipts.
    jobs_create(receipts=receipts, step=ReceiptJob.Step.SIGN)
    # And the national platform's outbox rows (one INSERT … SELECT; sandbox receipts get none).
    national.events_record_issued(receipt_ids=[receipt.pk for receipt in receipts if not receipt.sandbox])
    AuditEvent.objects.bulk_create(
        [
            audit_build(
                actor=actor,
                action="receipt.issue",
                object_type="receipt",
                object_id=receipt.pk,
                unit_code=unit.code,
                region_code=receipt.region_code,
                data={
                    "receiptCode": receipt.receipt_code,
                    "number": receipt.number_text,
                    "busNo": receipt.bus_no,
                    "total": str(receipt.total_amount),
                    # Marked only in the sandbox: production rows are the many.
                    **({"sandbox": True} if receipt.sandbox else {}),
                },
            )
            for receipt in receipts
        ]
    )


def _answer_in_batch_repeats(
    *, digests: list[str], repeats: dict[int, int], inputs: list[IssueInput], outcomes: list[IssueOutcome]
) -> None:
    """A busNo repeated inside one batch gets the first request's receipt (or a conflict)."""
    for index, first_index in repeats.items():
        first = outcomes[first_index]
        if first.receipt is None:
            # Same content fails the same way; other content is issued on its own afterwards.
            outcomes[index] = IssueOutcome(error=first.error)
        elif digests[index] == digests[first_index]:
            outcomes[index] = IssueOutcome(receipt=first.receipt, created=False)
        else:
            outcomes[index] = IssueOutcome(error=bus_no_conflict_error(inputs[index].bus_no or "", first.receipt))


def _build_receipt(*, unit: Unit, item: CheckedReceipt, code: str, actor: Actor, source: str, sandbox: bool) -> Receipt:
    """The receipt without its number and time, which are set under the numbering lock."""
    data = item.data
    return Receipt(
        receipt_code=code,
        sandbox=sandbox,
        check_code=check_code_generate(),
        kind=item.kind,
        unit=unit,
        issuing_point=item.issuing_point,
        region_code=unit.region.code,
        bus_no=data.bus_no,
        bus_date=data.bus_date,
        request_digest=item.digest,
        source=source,
        issued_by=actor.name,
        payer_type=data.payer.type,
        payer_name=data.payer.name,
        payer_code=data.payer.code,
        payer_phone=data.payer.phone,
        payer_email=data.payer.email,
        payer_account=data.payer.account,
        payer_bank=data.payer.bank,
        payee_name=unit.payee_name or unit.name,
        payee_account=unit.payee_account,
        payee_bank=unit.payee_bank,
        total_amount=data.total_amount,
        total_amount_upper=amount_in_capitals(data.total_amount),
        pay_mode=data.pay_mode,
        handling_person=data.handling_person,
        checker=data.checker,
        remark=data.remark,
        ext=item.ext,
    )


def _build_items(receipt: Receipt, item: CheckedReceipt) -> list[ReceiptItem]:
    return [
        ReceiptItem(
            receipt=receipt,
            line_no=line_no,
            fee_item=line.fee_item,
            item_code=line.fee_item.code,
            item_name=line.fee_item.name,
            unit_of_measure=line.fee_item.unit_of_measure,
            quantity=line.quantity,
            standard=line.standard,
            amount=line.amount,
            remark=line.remark,
        )
        for line_no, line in enumerate(item.items, start=1)
    ]


def receipt_lock(*, receipt_id: int) -> Receipt:
    """The receipt's row, locked until the caller's transaction ends (with its unit loaded).

    Lock order: a receipt row first, then any numbering lock (zhongtai.numbering.locks).
    Issuance takes numbering locks and never a receipt row, so the order has no cycle.
    """
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"
    return Receipt.objects.select_for_update(of=("self",)).select_related("unit").get(pk=receipt_id)


def receipt_transition(*, receipt: Receipt, target: str, actor: Actor, reason: str = "") -> Receipt:
    """Move a receipt to ``target`` if the state machine allows it, atomically and audited."""
    with transaction.atomic():
        receipt_transition_locked(
            current=receipt_lock(receipt_id=receipt.pk), target=target, actor=actor, reason=reason
        )
    receipt.refresh_from_db()
    return receipt


def receipt_transition_locked(*, current: Receipt, target: str, actor: Actor, reason: str = "") -> None:
    """:func:`receipt_transition` for a receipt the caller has locked (:func:`receipt_lock`), in its transaction."""
    if not can_transition(current.status, target):
        raise ApplicationError(
            IssuanceError.TRANSITION_NOT_ALLOWED,
            f"票据当前状态为“{current.get_status_display()}”，不能变更为“{Receipt(status=target).get_status_display()}”。",
            {"from": current.status, "to": target},
            status=409,
        )
    Receipt.objects.filter(pk=current.pk, status=current.status).update(status=target)
    audit_record(
        actor=actor,
        action="receipt.transition",
        object_type="receipt",
        object_id=current.pk,
        unit_code=current.unit.code,
        region_code=current.region_code,
        data={"from": current.status, "to": target, "reason": reason},
    )
    current.status = target
