"""Red-offset (冲红): a red receipt that reverses a whole receipt; the original becomes 已冲红.

The red receipt is a receipt of its own: the same kind, unit, issuing point, payer, payee
and kind-specific fields as the original, its own number from the current receipt code of
the kind, every quantity and amount negated (unit prices stay as they were), and the
original named in ``related_receipt`` (the data file writes RelatedInvoiceCode/Number and
the layout file draws the red-offset mark from them). It is signed and rendered by the
pipeline like any other receipt.

Everything happens in one transaction: the original's row is locked first, then the
numbering lock is taken (the order every issuer follows: see ``receipt_lock``), the red
receipt, its items, the original's new status, both audit rows and the signing outbox row
are written, and the locks are released at commit. Two simultaneous red-offsets of one
receipt queue on the original's row: the second finds it red-offset and is refused (or,
with the same busNo, answered with the first one's red receipt).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from issuance.errors import IssuanceError
from issuance.jobs import jobs_create
from issuance.models import Receipt, ReceiptItem, ReceiptJob, SignStatus
from issuance.payload import BUS_NO_RE
from issuance.rules import unit_check_can_issue
from issuance.services import bus_no_conflict_error, receipt_lock, receipt_transition_locked
from issuance.states import ReceiptStatus
from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError, CommonError
from zhongtai.core.money import amount_in_capitals
from zhongtai.masterdata.kind_fields import KIND_FIELDS
from zhongtai.national import services as national
from zhongtai.numbering.services import check_code_generate, numbers_allocate, receipt_code_for, sequence_ensure
from zhongtai.webhooks.services import red_offset_notify

REASON_MAX_LENGTH = 200
PAPER_OUTSTANDING_MESSAGE = "该票据已换开纸质票据，须先收回并作废纸质票据后才能冲红。"
_RELATED = ("kind", "unit", "issuing_point", "related_receipt")


def red_offset_remark(*, receipt_code: str, number_text: str, reason: str) -> str:
    """备注 of a red receipt: the original it reverses, then why."""
    return f"冲红原票据：票据代码 {receipt_code}，票据号码 {number_text}。冲红原因：{reason}"


def receipt_red_offset(
    *,
    receipt: Receipt,
    reason: str,
    actor: Actor,
    source: str,
    bus_no: str | None = None,
    sandbox: bool = False,
) -> tuple[Receipt, bool]:
    """Red-offset ``receipt`` as a whole; returns (red receipt, created).

    ``bus_no`` (the unit's refund serial number) is an idempotency key in the unit's busNo
    space, shared with issuance: the same busNo for the same original returns the red
    receipt made the first time (``created`` False); a busNo that names anything else is
    ``BUS_NO_CONFLICT``. ``sandbox`` is the caller's environment; a receipt of the other
    environment is refused.
    """
    reason = _checked_reason(reason)
    if bus_no is not None and not BUS_NO_RE.match(bus_no):
        raise ApplicationError(
            CommonError.INVALID_INPUT,
            "请求数据校验未通过。",
            {"fields": {"busNo": "业务流水号只能包含字母、数字、- 和 _，长度 1-64。"}},
        )
    year = timezone.localdate().year
    # Created (if need be) before the transaction, as issuance does: the lock is then only a lock.
    sequence_ensure(kind=receipt.kind, year=year, sandbox=sandbox)
    try:
        return _red_offset(
            receipt=receipt, reason=reason, actor=actor, source=source, bus_no=bus_no, sandbox=sandbox, year=year
        )
    except IntegrityError:
        # Another request took this busNo between our lookup and our insert (the unique
        # constraint on unit + busNo + environment decided): answer from its receipt.
        existing = _by_bus_no(unit_id=receipt.unit_id, bus_no=bus_no, sandbox=sandbox) if bus_no else None
        if existing is None:
            raise
        return _repeat(existing, original_id=receipt.pk, bus_no=bus_no or ""), False


def _red_offset(
    *, receipt: Receipt, reason: str, actor: Actor, source: str, bus_no: str | None, sandbox: bool, year: int
) -> tuple[Receipt, bool]:
    with transaction.atomic():
        original = receipt_lock(receipt_id=receipt.pk)
        if original.sandbox != sandbox:
            raise _sandbox_mismatch(original)
        if bus_no:
            # Looked up under the original's lock: a concurrent twin that committed first is seen here.
            existing = _by_bus_no(unit_id=original.unit_id, bus_no=bus_no, sandbox=sandbox)
            if existing is not None:
                return _repeat(existing, original_id=original.pk, bus_no=bus_no), False
        _check_offsettable(original)
        unit_check_can_issue(original.unit, timezone.localdate())
        code = receipt_code_for(kind=original.kind, year=year)
        number = numbers_allocate(unit=original.unit, needs={code: 1}, sandbox=sandbox)[code][0]
        # Taken after the numbering lock, so that within a code a later number never has an earlier time.
        now = timezone.now()
        red = _build_red(
            original, code=code, number=number, now=now, reason=reason, actor=actor, source=source, bus_no=bus_no
        )
        red.save(force_insert=True)
        lines = _red_lines(original, red)
        ReceiptItem.objects.bulk_create(lines)
        red._prefetched_objects_cache = {"items": lines}  # type: ignore[attr-defined]
        receipt_transition_locked(current=original, target=ReceiptStatus.RED_OFFSET, actor=actor, reason=reason)
        # The signing step's outbox row commits (or rolls back) with the red receipt.
        jobs_create(receipts=[red], step=ReceiptJob.Step.SIGN)
        national.events_record_red_offset(original=original, red=red)
        # A reimbursed original: its bureau's alert and the parties' callbacks commit with it.
        red_offset_notify(original=original, red=red, reason=reason, actor=actor)
        audit_record(
            actor=actor,
            action="receipt.red_offset",
            object_type="receipt",
            object_id=red.pk,
            unit_code=original.unit.code,
            region_code=red.region_code,
            data={
                "receiptCode": red.receipt_code,
                "number": red.number_text,
                "original": {"receiptCode": original.receipt_code, "number": original.number_text},
                "reason": reason,
                "busNo": bus_no,
                "total": str(red.total_amount),
                **({"sandbox": True} if sandbox else {}),
            },
        )
    return red, True


def _checked_reason(reason: str) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    problem = ""
    if not text:
        problem = "冲红原因不能为空。"
    elif len(text) > REASON_MAX_LENGTH:
        problem = f"冲红原因不能超过 {REASON_MAX_LENGTH} 个字符。"
    elif any(ord(char) < 32 for char in text):
        problem = "冲红原因不能包含控制字符。"
    if problem:
        raise ApplicationError(
            IssuanceError.RED_OFFSET_REASON_INVALID, problem, {"maxLength": REASON_MAX_LENGTH}, status=422
        )
    return text


def _sandbox_mismatch(original: Receipt) -> ApplicationError:
    if original.sandbox:
        message = "该票据是联调测试票据，只能用联调测试凭证冲红。"
    else:
        message = "该票据是正式票据，联调测试凭证不能冲红。"
    return ApplicationError(IssuanceError.SANDBOX_MISMATCH, message, {"sandbox": original.sandbox}, status=409)


def _check_offsettable(original: Receipt) -> None:
    """The refusals of a red-offset, most permanent first; the state machine has the last word."""
    ident = {"receiptCode": original.receipt_code, "receiptNumber": original.number_text}
    if original.is_red:
        raise ApplicationError(IssuanceError.RECEIPT_IS_RED, "该票据本身是红票，不能冲红。", ident, status=422)
    if original.status == ReceiptStatus.RED_OFFSET:
        red = original.red_receipts.order_by("pk").first()
        extra = dict(ident)
        if red is not None:
            extra["redReceipt"] = {"receiptCode": red.receipt_code, "receiptNumber": red.number_text}
        raise ApplicationError(
            IssuanceError.RECEIPT_ALREADY_RED_OFFSET, "该票据已冲红，不能重复冲红。", extra, status=409
        )
    if original.status == ReceiptStatus.PAPER_CONVERTED:
        raise ApplicationError(IssuanceError.RECEIPT_PAPER_OUTSTANDING, PAPER_OUTSTANDING_MESSAGE, ident, status=409)
    if original.sign_status != SignStatus.SIGNED:
        # The red receipt names the original's data file: it must exist, signed, first.
        raise ApplicationError(
            IssuanceError.NOT_SIGNED_YET,
            f"原票据尚未完成签章（{original.get_sign_status_display()}），暂不能冲红，请稍后再试。",
            {**ident, "signStatus": original.sign_status},
            status=409,
        )


def _by_bus_no(*, unit_id: int, bus_no: str, sandbox: bool) -> Receipt | None:
    return (
        Receipt.objects.select_related(*_RELATED)
        .prefetch_related("items")
        .filter(unit_id=unit_id, bus_no=bus_no, sandbox=sandbox)
        .first()
    )


def _repeat(existing: Receipt, *, original_id: int, bus_no: str) -> Receipt:
    """The answer to a busNo seen before: the same red-offset again, or a conflict."""
    if existing.is_red and existing.related_receipt_id == original_id:
        return existing
    raise bus_no_conflict_error(bus_no, existing)


def _build_red(
    original: Receipt,
    *,
    code: str,
    number: int,
    now: datetime.datetime,
    reason: str,
    actor: Actor,
    source: str,
    bus_no: str | None,
) -> Receipt:
    today = timezone.localdate(now)
    total = -original.total_amount
    return Receipt(
        receipt_code=code,
        number=number,
        check_code=check_code_generate(),
        kind=original.kind,
        unit=original.unit,
        issuing_point_id=original.issuing_point_id,
        # Supervised where the original was, so that the two net out in the same region's figures.
        region_code=original.region_code,
        status=ReceiptStatus.ISSUED,
        is_red=True,
        related_receipt=original,
        sandbox=original.sandbox,
        bus_no=bus_no,
        bus_date=today,
        source=source,
        issued_by=actor.name,
        issued_at=now,
        issue_date=today,
        payer_type=original.payer_type,
        payer_name=original.payer_name,
        payer_code=original.payer_code,
        payer_phone=original.payer_phone,
        payer_email=original.payer_email,
        payer_account=original.payer_account,
        payer_bank=original.payer_bank,
        payee_name=original.payee_name,
        payee_account=original.payee_account,
        payee_bank=original.payee_bank,
        total_amount=total,
        total_amount_upper=amount_in_capitals(total),
        currency=original.currency,
        pay_mode=original.pay_mode,
        handling_person=original.handling_person,
        checker=original.checker,
        remark=red_offset_remark(receipt_code=original.receipt_code, number_text=original.number_text, reason=reason),
        ext=_negated_ext(original.ext or {}),
    )


def _red_lines(original: Receipt, red: Receipt) -> list[ReceiptItem]:
    return [
        ReceiptItem(
            receipt=red,
            line_no=line.line_no,
            fee_item_id=line.fee_item_id,
            item_code=line.item_code,
            item_name=line.item_name,
            unit_of_measure=line.unit_of_measure,
            quantity=-line.quantity,
            standard=line.standard,
            amount=-line.amount,
            remark=line.remark,
        )
        for line in original.items.order_by("line_no")
    ]


def _negated_ext(ext: dict[str, Any]) -> dict[str, Any]:
    """The original's kind-specific fields, with its money fields negated like its amounts.

    The medical split (fundPay, personalAccountPay, ...) adds up to the total on every receipt
    (ADR 0007); negated, it adds up to the red total. Other fields are copied as they are.
    """
    negated = dict(ext)
    for name, value in ext.items():
        spec = KIND_FIELDS.get(name)
        if spec is not None and spec.type == "money" and value not in (None, ""):
            # 0 - x, not -x: a zero stays "0.00", never "-0.00".
            negated[name] = format(Decimal(0) - Decimal(str(value)), "f")
    return negated
