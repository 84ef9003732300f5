"""Paper stock and paper conversion services: the only code that writes paper stock and uses.

Every change writes an audit row in its own transaction; a receipt's status moves
between ``issued`` and ``paper_converted`` only through ``receipt_transition``, in the
same transaction as the paper use that justifies it, so a receipt is
``paper_converted`` exactly while it has one live paper copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from issuance.errors import IssuanceError
from issuance.models import Receipt, SignStatus
from issuance.paper.errors import PaperError
from issuance.paper.locks import lock_paper_code, lock_receipt, lock_unit_stocks, lock_use
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.selectors import (
    paper_first_free_number,
    paper_number_find,
    paper_outstanding_count,
    paper_stock_summary,
)
from issuance.services import receipt_transition
from issuance.states import ReceiptStatus
from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError, CommonError
from zhongtai.masterdata.models import Unit
from zhongtai.national import services as national
from zhongtai.numbering.models import MAX_RECEIPT_NUMBER

# The reads the "stop paper receipts" workflow needs are selectors; they are importable from
# here too, beside the clean-up they go with.
__all__ = [
    "MAX_STOCK_RANGE",
    "VoidOutcome",
    "paper_number_void",
    "paper_number_void_blank",
    "paper_outstanding_count",
    "paper_stock_receive",
    "paper_stock_retire_unused",
    "paper_stock_summary",
    "paper_use_void",
    "receipt_paper_convert",
]

# One delivery of paper forms is a few books of 50 or 100; a larger range is a typing error.
MAX_STOCK_RANGE = 100_000
NOTE_MAX = 200
_BULK_BATCH = 1000
# [0-9] and fullmatch: \d takes other scripts' digits, and $ allows a trailing newline.
PAPER_CODE_RE = re.compile(r"[0-9]{8}")


@dataclass(frozen=True)
class VoidOutcome:
    """The voided paper use, and the new copy when a misprint was printed again."""

    voided: PaperUse
    reprinted: PaperUse | None = None


# --- paper stock -------------------------------------------------------------------------


def paper_stock_receive(
    *, unit: Unit, paper_code: str, start_number: int, end_number: int, actor: Actor, note: str = ""
) -> PaperStock:
    """Record a range of paper forms the unit received (纸质票据入库).

    The range may not overlap any range of the same paper code, whichever unit holds it.
    """
    _check_range(paper_code=paper_code, start_number=start_number, end_number=end_number)
    _require_paper_not_stopped(unit_id=unit.pk)
    note = _clean_note(note, field="note")
    try:
        with transaction.atomic():
            lock_paper_code(paper_code=paper_code)
            clash = (
                PaperStock.objects.filter(
                    paper_code=paper_code, start_number__lte=end_number, end_number__gte=start_number
                )
                .order_by("start_number")
                .first()
            )
            if clash is not None:
                raise _overlap_error(paper_code, start_number, end_number, clash)
            stock = PaperStock.objects.create(
                unit=unit,
                paper_code=paper_code,
                start_number=start_number,
                end_number=end_number,
                received_at=timezone.now(),
                recorded_by=actor.name,
                note=note,
            )
            audit_record(
                actor=actor,
                action="paper.stock_receive",
                object_type="paper_stock",
                object_id=stock.pk,
                unit_code=unit.code,
                region_code=unit.region.code,
                data={
                    "paperCode": paper_code,
                    "start": stock.start_text,
                    "end": stock.end_text,
                    "count": stock.size,
                    "note": note,
                },
            )
    except IntegrityError:
        # The database's own overlap guard (PostgreSQL exclusion constraint, start unique).
        raise _overlap_error(paper_code, start_number, end_number, None) from None
    return stock


def paper_stock_retire_unused(*, unit: Unit, actor: Actor, reason: str) -> int:
    """Void every number of the unit's stock still on hand (核销清理); returns how many.

    For a unit that stops using paper receipts. Live paper copies are left alone: the
    caller decides whether they must be recovered first (``paper_outstanding_count``).
    One audit row per range records the numbers retired.
    """
    reason = _clean_note(reason, field="reason", required=True)
    retired = 0
    with transaction.atomic():
        now = timezone.now()
        for stock in lock_unit_stocks(unit_id=unit.pk):
            taken = set(PaperUse.objects.filter(stock=stock).values_list("paper_number", flat=True))
            free = [n for n in range(stock.start_number, stock.end_number + 1) if n not in taken]
            if not free:
                continue
            PaperUse.objects.bulk_create(
                [
                    PaperUse(
                        stock=stock,
                        paper_code=stock.paper_code,
                        paper_number=number,
                        state=PaperUse.State.VOIDED,
                        void_reason=PaperUse.VoidReason.RETIRED,
                        void_note=reason,
                        voided_at=now,
                        voided_by=actor.name,
                    )
                    for number in free
                ],
                batch_size=_BULK_BATCH,
            )
            audit_record(
                actor=actor,
                action="paper.stock_retire",
                object_type="paper_stock",
                object_id=stock.pk,
                unit_code=unit.code,
                region_code=unit.region.code,
                data={
                    "paperCode": stock.paper_code,
                    "count": len(free),
                    "numbers": _runs(free),
                    "reason": reason,
                },
            )
            retired += len(free)
    return retired


# --- conversion --------------------------------------------------------------------------


def receipt_paper_convert(
    *, receipt: Receipt, actor: Actor, paper_code: str | None = None, paper_number: int | None = None
) -> PaperUse:
    """Convert an e-receipt to paper (换开纸质票据) on one paper number of the unit's stock.

    Without a number: the lowest unused number of the unit's stock (of ``paper_code``
    when given), lowest paper code first. The receipt becomes ``paper_converted``.
    """
    if paper_number is not None and paper_code is None:
        raise _invalid("paperCode", "指定纸质票据号码时，须同时指定纸质票据代码。")
    with transaction.atomic():
        current = lock_receipt(receipt_id=receipt.pk)
        _check_convertible(current)
        _require_paper_not_stopped(unit_id=current.unit_id)
        stocks = lock_unit_stocks(unit_id=current.unit_id)
        stock, number = _choose_number(stocks, paper_code=paper_code, paper_number=paper_number)
        use = _print(stock=stock, number=number, receipt=current, actor=actor)
        receipt_transition(
            receipt=current, target=ReceiptStatus.PAPER_CONVERTED, actor=actor, reason=f"纸质票据 {_label(use)}"
        )
        _audit_use(use, receipt=current, actor=actor, action="receipt.paper_convert", reason=f"纸质票据 {_label(use)}")
        national.event_record_paper(receipt=current, use=use, converted=True)
    receipt.refresh_from_db(fields=["status"])
    return use


def paper_use_void(
    *, use: PaperUse, reason: str, actor: Actor, reprint: bool = False, note: str = ""
) -> PaperUse | None:
    """Void a printed paper copy; returns the new copy when a misprint is printed again.

    ``misprint`` with ``reprint``: the receipt is printed on the next unused number of the
    same paper code and stays ``paper_converted``. ``misprint`` without reprint, and
    ``recovered`` (the copy came back from the payer): the receipt returns to ``issued``,
    so that it can be red-offset or converted again.
    """
    reason = _printed_reason(reason, reprint=reprint)
    note = _clean_note(note, field="note")
    if use.receipt_id is None:
        raise _already_voided(use)
    with transaction.atomic():
        receipt = lock_receipt(receipt_id=use.receipt_id)
        current = lock_use(use_id=use.pk)
        if current.state != PaperUse.State.PRINTED:
            raise _already_voided(current)
        current.state = PaperUse.State.VOIDED
        current.void_reason = reason
        current.void_note = note
        current.voided_at = timezone.now()
        current.voided_by = actor.name
        current.save(update_fields=["state", "void_reason", "void_note", "voided_at", "voided_by"])
        _audit_use(
            current,
            receipt=receipt,
            actor=actor,
            action="receipt.paper_void",
            reason=f"纸质票据 {_label(current)} {current.get_void_reason_display()}" + (f"：{note}" if note else ""),
        )
        reprinted = None
        if reprint:
            stocks = lock_unit_stocks(unit_id=receipt.unit_id)
            stock, number = _choose_number(stocks, paper_code=current.paper_code, paper_number=None)
            reprinted = _print(stock=stock, number=number, receipt=receipt, actor=actor, replaces=current)
            _audit_use(
                reprinted,
                receipt=receipt,
                actor=actor,
                action="receipt.paper_convert",
                reason=f"重新打印于纸质票据 {_label(reprinted)}（替换打印错误的 {_label(current)}）",
            )
            national.event_record_paper_reprint(receipt=receipt, voided=current, reprinted=reprinted)
        else:
            receipt_transition(
                receipt=receipt,
                target=ReceiptStatus.ISSUED,
                actor=actor,
                reason=f"纸质票据 {_label(current)} {current.get_void_reason_display()}",
            )
            national.event_record_paper(receipt=receipt, use=current, converted=False)
    use.refresh_from_db()
    return reprinted


def paper_number_void_blank(*, unit: Unit, paper_code: str, paper_number: int, actor: Actor, reason: str) -> PaperUse:
    """Void a blank paper number of the unit's stock that was damaged (空白票损毁).

    ``reason`` says what happened to the form (free text, may be empty).
    """
    note = _clean_note(reason, field="reason")
    with transaction.atomic():
        stocks = lock_unit_stocks(unit_id=unit.pk)
        stock = next((s for s in stocks if s.holds(paper_code, paper_number)), None)
        if stock is None:
            raise _number_not_found(paper_code, paper_number)
        existing = PaperUse.objects.filter(paper_code=paper_code, paper_number=paper_number).first()
        if existing is not None:
            if existing.state == PaperUse.State.VOIDED:
                raise _already_voided(existing)
            raise ApplicationError(
                PaperError.PAPER_VOID_REASON_INVALID,
                f"纸质票据 {_label(existing)} 已打印，不是空白票，请按“打印错误”或“收回作废”作废。",
                {"paperCode": paper_code, "paperNumber": existing.number_text, "state": existing.state},
                status=422,
            )
        use = PaperUse.objects.create(
            stock=stock,
            paper_code=paper_code,
            paper_number=paper_number,
            state=PaperUse.State.VOIDED,
            void_reason=PaperUse.VoidReason.DAMAGED,
            void_note=note,
            voided_at=timezone.now(),
            voided_by=actor.name,
        )
        audit_record(
            actor=actor,
            action="paper.void_blank",
            object_type="paper_use",
            object_id=use.pk,
            unit_code=unit.code,
            region_code=unit.region.code,
            data={"paperCode": paper_code, "paperNumber": use.number_text, "note": note},
        )
    return use


def paper_number_void(
    *, unit: Unit, paper_code: str, paper_number: int, reason: str, actor: Actor, reprint: bool = False, note: str = ""
) -> VoidOutcome:
    """Void one paper number of the unit's stock, whatever it is (the API's and portal's entry).

    A number on hand can only be voided as a damaged blank; a printed copy as a misprint
    (optionally printed again) or as recovered.
    """
    found = paper_number_find(unit=unit, paper_code=paper_code, paper_number=paper_number)
    if found is None:
        raise _number_not_found(paper_code, paper_number)
    _, use = found
    if use is None:
        if reason != PaperUse.VoidReason.DAMAGED or reprint:
            raise ApplicationError(
                PaperError.PAPER_VOID_REASON_INVALID,
                f"纸质票据 {paper_code}-{paper_number:010d} 尚未使用，只能按“空白票损毁”作废，且不能重新打印。",
                {"paperCode": paper_code, "paperNumber": f"{paper_number:010d}", "state": "on_hand"},
                status=422,
            )
        blank = paper_number_void_blank(
            unit=unit, paper_code=paper_code, paper_number=paper_number, actor=actor, reason=note
        )
        return VoidOutcome(voided=blank)
    if use.state == PaperUse.State.VOIDED:
        raise _already_voided(use)
    reprinted = paper_use_void(use=use, reason=reason, actor=actor, reprint=reprint, note=note)
    return VoidOutcome(voided=use, reprinted=reprinted)


# --- internals ---------------------------------------------------------------------------


def _check_range(*, paper_code: str, start_number: int, end_number: int) -> None:
    fields = {}
    if not isinstance(paper_code, str) or not PAPER_CODE_RE.fullmatch(paper_code):
        fields["paperCode"] = "纸质票据代码应为 8 位数字。"
    for name, value in (("startNumber", start_number), ("endNumber", end_number)):
        if not 1 <= value <= MAX_RECEIPT_NUMBER:
            fields[name] = "纸质票据号码应在 0000000001 到 9999999999 之间。"
    if fields:
        raise ApplicationError(PaperError.PAPER_RANGE_INVALID, "纸质票据号段不正确。", {"fields": fields})
    if end_number < start_number:
        raise ApplicationError(
            PaperError.PAPER_RANGE_INVALID,
            "终止号码不能小于起始号码。",
            {"fields": {"endNumber": "终止号码不能小于起始号码。"}},
        )
    if end_number - start_number + 1 > MAX_STOCK_RANGE:
        raise ApplicationError(
            PaperError.PAPER_RANGE_INVALID,
            f"一次登记的号段不能超过 {MAX_STOCK_RANGE} 份，请核对起止号码。",
            {"fields": {"endNumber": f"号段不能超过 {MAX_STOCK_RANGE} 份。"}, "max": MAX_STOCK_RANGE},
        )


def _require_paper_not_stopped(*, unit_id: int) -> None:
    """A unit whose paper receipts were stopped (停用纸质票据) takes no paper stock and prints no paper."""
    from zhongtai.onboarding.models import UnitRollout  # onboarding builds on paper, not the reverse

    stopped = UnitRollout.objects.filter(unit_id=unit_id, paper_stopped_at__isnull=False).first()
    if stopped is not None:
        raise ApplicationError(
            PaperError.PAPER_STOPPED,
            f"本单位已于 {timezone.localtime(stopped.paper_stopped_at):%Y-%m-%d} 停用纸质票据，"
            "不能再领用或换开纸质票据。",
            {"paperStoppedAt": stopped.paper_stopped_at.isoformat()},
            status=409,
        )


def _check_convertible(receipt: Receipt) -> None:
    """The refusals of a conversion, most fundamental first (the receipt is locked)."""
    where = {"receiptCode": receipt.receipt_code, "receiptNumber": receipt.number_text}
    if getattr(receipt, "sandbox", False):
        raise ApplicationError(
            PaperError.PAPER_RECEIPT_SANDBOX, "联调测试（沙箱）票据不能换开纸质票据。", where, status=422
        )
    if receipt.is_red:
        raise ApplicationError(PaperError.PAPER_RECEIPT_RED, "红字票据不能换开纸质票据。", where, status=422)
    if receipt.status == ReceiptStatus.RED_OFFSET:
        raise ApplicationError(
            PaperError.PAPER_RECEIPT_RED_OFFSET, "该票据已冲红，不能换开纸质票据。", where, status=409
        )
    if receipt.status == ReceiptStatus.PAPER_CONVERTED:
        live = PaperUse.objects.filter(receipt=receipt, state=PaperUse.State.PRINTED).first()
        extra: dict[str, Any] = dict(where)
        if live is not None:
            extra.update(paperCode=live.paper_code, paperNumber=live.number_text)
        raise ApplicationError(
            PaperError.PAPER_ALREADY_CONVERTED,
            "该票据已换开纸质票据，不能重复换开。" + (f"纸质票据：{_label(live)}。" if live else ""),
            extra,
            status=409,
        )
    if receipt.sign_status != SignStatus.SIGNED:
        raise ApplicationError(
            IssuanceError.NOT_SIGNED_YET,
            f"票据尚未完成签章（{receipt.get_sign_status_display()}），不能换开纸质票据。",
            {"signStatus": receipt.sign_status},
            status=409,
        )


def _choose_number(
    stocks: list[PaperStock], *, paper_code: str | None, paper_number: int | None
) -> tuple[PaperStock, int]:
    """The range and number to print on (the unit's ranges are locked)."""
    if paper_number is not None:
        assert paper_code is not None
        stock = next((s for s in stocks if s.holds(paper_code, paper_number)), None)
        if stock is None:
            raise ApplicationError(
                PaperError.PAPER_NUMBER_NOT_IN_STOCK,
                f"纸质票据 {paper_code}-{paper_number:010d} 不在本单位的纸质票据库存中。",
                {"paperCode": paper_code, "paperNumber": f"{paper_number:010d}"},
                status=422,
            )
        used = PaperUse.objects.filter(paper_code=paper_code, paper_number=paper_number).first()
        if used is not None:
            raise ApplicationError(
                PaperError.PAPER_NUMBER_USED,
                f"纸质票据 {_label(used)} {used.get_state_display()}，不能再使用。",
                {"paperCode": paper_code, "paperNumber": used.number_text, "state": used.state},
                status=409,
            )
        return stock, paper_number
    for stock in stocks:
        if paper_code is not None and stock.paper_code != paper_code:
            continue
        number = paper_first_free_number(stock=stock)
        if number is not None:
            return stock, number
    which = f"纸质票据代码 {paper_code} 的库存" if paper_code else "本单位的纸质票据库存"
    raise ApplicationError(
        PaperError.PAPER_STOCK_EMPTY,
        f"{which}已用完，请先登记新领用的纸质票据。",
        {"paperCode": paper_code},
        status=409,
    )


def _print(
    *, stock: PaperStock, number: int, receipt: Receipt, actor: Actor, replaces: PaperUse | None = None
) -> PaperUse:
    return PaperUse.objects.create(
        stock=stock,
        paper_code=stock.paper_code,
        paper_number=number,
        receipt=receipt,
        replaces=replaces,
        state=PaperUse.State.PRINTED,
        printed_at=timezone.now(),
        printed_by=actor.name,
    )


def _audit_use(use: PaperUse, *, receipt: Receipt, actor: Actor, action: str, reason: str) -> None:
    """One audit row on the receipt (so that its history shows it) naming the paper use."""
    data: dict[str, Any] = {
        "paperUseId": use.pk,
        "paperCode": use.paper_code,
        "paperNumber": use.number_text,
        "reason": reason,
    }
    if use.void_reason:
        data.update(voidReason=use.void_reason, note=use.void_note)
    if use.replaces_id is not None:
        data["replaces"] = use.replaces_id
    audit_record(
        actor=actor,
        action=action,
        object_type="receipt",
        object_id=receipt.pk,
        unit_code=receipt.unit.code,
        region_code=receipt.region_code,
        data=data,
    )


def _printed_reason(reason: str, *, reprint: bool) -> str:
    if reason not in PaperUse.PRINTED_REASONS:
        labels = "、".join(f"{r.value}（{r.label}）" for r in PaperUse.PRINTED_REASONS)
        raise ApplicationError(
            PaperError.PAPER_VOID_REASON_INVALID,
            f"已打印的纸质票据只能按以下原因作废：{labels}。",
            {"reason": reason, "allowed": [r.value for r in PaperUse.PRINTED_REASONS]},
            status=422,
        )
    if reprint and reason != PaperUse.VoidReason.MISPRINT:
        raise ApplicationError(
            PaperError.PAPER_VOID_REASON_INVALID,
            "只有打印错误的纸质票据可以重新打印；收回作废后票据恢复为正常状态。",
            {"reason": reason, "reprint": True},
            status=422,
        )
    return str(reason)


def _clean_note(value: str, *, field: str, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise _invalid(field, "请填写原因。")
    if len(text) > NOTE_MAX:
        raise _invalid(field, f"不能超过 {NOTE_MAX} 个字。")
    return text


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": {field: message}})


def _overlap_error(paper_code: str, start: int, end: int, clash: PaperStock | None) -> ApplicationError:
    extra: dict[str, Any] = {"paperCode": paper_code, "startNumber": f"{start:010d}", "endNumber": f"{end:010d}"}
    message = f"纸质票据代码 {paper_code} 的号段 {start:010d}-{end:010d} 与已登记的号段重叠"
    if clash is not None:
        extra["existing"] = {"startNumber": clash.start_text, "endNumber": clash.end_text}
        message += f"（{clash.start_text}-{clash.end_text}）"
    return ApplicationError(PaperError.PAPER_STOCK_OVERLAP, message + "。", extra, status=409)


def _number_not_found(paper_code: str, paper_number: int) -> ApplicationError:
    return ApplicationError(
        PaperError.PAPER_NUMBER_NOT_FOUND,
        f"本单位的纸质票据库存中没有 {paper_code}-{paper_number:010d}。",
        {"paperCode": paper_code, "paperNumber": f"{paper_number:010d}"},
        status=404,
    )


def _already_voided(use: PaperUse) -> ApplicationError:
    return ApplicationError(
        PaperError.PAPER_ALREADY_VOIDED,
        f"纸质票据 {_label(use)} 已作废（{use.get_void_reason_display()}）。",
        {"paperCode": use.paper_code, "paperNumber": use.number_text, "reason": use.void_reason},
        status=409,
    )


def _label(use: PaperUse) -> str:
    return f"{use.paper_code}-{use.number_text}"


def _runs(numbers: list[int]) -> list[str]:
    """Sorted numbers as runs "start-end" (a single number alone), for the audit row."""
    runs: list[str] = []
    start = previous = numbers[0]
    for number in numbers[1:]:
        if number != previous + 1:
            runs.append(_run(start, previous))
            start = number
        previous = number
    runs.append(_run(start, previous))
    return runs


def _run(start: int, end: int) -> str:
    return f"{start:010d}" if start == end else f"{start:010d}-{end:010d}"
