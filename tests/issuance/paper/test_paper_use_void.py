"""Voiding paper numbers: misprint and reprint, recovered copies, damaged blanks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from issuance.models import Receipt
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.selectors import paper_outstanding_count, paper_stock_summary
from issuance.paper.services import (
    paper_number_void,
    paper_number_void_blank,
    paper_stock_receive,
    paper_use_void,
    receipt_paper_convert,
)
from issuance.services import receipt_transition
from issuance.states import ReceiptStatus
from tests.issuance.paper.conftest import ACTOR, OTHER_CODE, PAPER_CODE
from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit

MISPRINT, RECOVERED, DAMAGED = "misprint", "recovered", "damaged"


def refusal(call: Callable[[], Any]) -> ApplicationError:
    with pytest.raises(ApplicationError) as refused:
        call()
    return refused.value


def accounting(unit: Unit) -> list[tuple[int, int, int, int]]:
    return [(s.received, s.used, s.voided, s.on_hand) for s in paper_stock_summary(unit=unit)]


def test_a_misprint_is_voided_and_printed_again_on_the_next_number(receipt: Receipt, stock: PaperStock) -> None:
    # given a receipt printed on 0000000101
    first = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    # when the print came out wrong and is voided with a reprint
    again = paper_use_void(use=first, reason=MISPRINT, actor=ACTOR, reprint=True, note="卡纸")
    # then 101 is void (打印错误), the receipt is printed on 102, replacing 101, and stays converted
    assert (first.state, first.void_reason, first.void_note) == (PaperUse.State.VOIDED, MISPRINT, "卡纸")
    assert first.voided_by == ACTOR.name and first.voided_at is not None
    assert again is not None
    assert (again.number_text, again.state, again.receipt, again.replaces) == (
        "0000000102",
        PaperUse.State.PRINTED,
        receipt,
        first,
    )
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.PAPER_CONVERTED
    assert accounting(receipt.unit) == [(10, 1, 1, 8)]
    reasons = list(
        AuditEvent.objects.filter(action__in=["receipt.paper_void", "receipt.paper_convert"])
        .order_by("id")
        .values_list("action", "data__paperNumber")
    )
    assert reasons == [
        ("receipt.paper_convert", "0000000101"),
        ("receipt.paper_void", "0000000101"),
        ("receipt.paper_convert", "0000000102"),
    ]


def test_a_reprint_skips_numbers_used_meanwhile(
    receipt: Receipt, stock: PaperStock, issue_signed: Callable[..., Receipt]
) -> None:
    first = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    receipt_paper_convert(receipt=issue_signed(receipt.unit, "PAPER0002"), actor=ACTOR)  # takes 102
    again = paper_use_void(use=first, reason=MISPRINT, actor=ACTOR, reprint=True)
    assert again is not None and again.number_text == "0000000103"


def test_a_reprint_stays_on_the_same_paper_code(receipt: Receipt, unit: Unit) -> None:
    # given one form of the code and plenty of a higher code
    paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=1, end_number=1, actor=ACTOR)
    paper_stock_receive(unit=unit, paper_code=OTHER_CODE, start_number=1, end_number=50, actor=ACTOR)
    first = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    assert first.paper_code == PAPER_CODE
    # when it is misprinted: no form of that code is left, so the reprint is refused as a whole
    error = refusal(lambda: paper_use_void(use=first, reason=MISPRINT, actor=ACTOR, reprint=True))
    assert error.code == "PAPER_STOCK_EMPTY" and error.extra == {"paperCode": PAPER_CODE}
    # and nothing changed: the copy is still live
    first.refresh_from_db()
    assert first.state == PaperUse.State.PRINTED
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.PAPER_CONVERTED


def test_a_misprint_without_reprint_returns_the_receipt_to_issued(receipt: Receipt, stock: PaperStock) -> None:
    first = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    assert paper_use_void(use=first, reason=MISPRINT, actor=ACTOR) is None
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.ISSUED
    assert paper_outstanding_count(unit=receipt.unit) == 0
    # and it can be converted again, on a new number
    assert receipt_paper_convert(receipt=receipt, actor=ACTOR).number_text == "0000000102"


def test_a_recovered_copy_returns_the_receipt_to_issued_so_it_can_be_red_offset(
    receipt: Receipt, stock: PaperStock
) -> None:
    # given a converted receipt whose payer brought the paper copy back
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    # when the copy is voided as recovered
    assert paper_use_void(use=use, reason=RECOVERED, actor=ACTOR, note="交款人退回") is None
    # then the copy is void, the receipt is normal again, and the history says why
    use.refresh_from_db()
    assert (use.state, use.void_reason) == (PaperUse.State.VOIDED, RECOVERED)
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.ISSUED
    transition = AuditEvent.objects.filter(action="receipt.transition").latest("id")
    assert transition.data["to"] == ReceiptStatus.ISSUED
    assert "收回作废" in transition.data["reason"]
    assert accounting(receipt.unit) == [(10, 0, 1, 9)]
    # and the red-offset the paper copy blocked is now allowed
    receipt_transition(receipt=receipt, target=ReceiptStatus.RED_OFFSET, actor=ACTOR)
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.RED_OFFSET


def test_a_voided_copy_cannot_be_voided_again(receipt: Receipt, stock: PaperStock) -> None:
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    stale = PaperUse.objects.get(pk=use.pk)
    paper_use_void(use=use, reason=RECOVERED, actor=ACTOR)
    for reason in (RECOVERED, MISPRINT):
        error = refusal(lambda r=reason: paper_use_void(use=stale, reason=r, actor=ACTOR))
        assert error.code == "PAPER_ALREADY_VOIDED" and error.status_code == 409
    assert AuditEvent.objects.filter(action="receipt.paper_void").count() == 1


@pytest.mark.parametrize(
    ("reason", "reprint"),
    [(DAMAGED, False), ("retired", False), ("lost", False), (RECOVERED, True)],
    ids=["damaged", "retired", "unknown", "recovered-with-reprint"],
)
def test_a_printed_copy_is_voided_only_for_its_reasons(
    receipt: Receipt, stock: PaperStock, reason: str, reprint: bool
) -> None:
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    error = refusal(lambda: paper_use_void(use=use, reason=reason, actor=ACTOR, reprint=reprint))
    assert error.code == "PAPER_VOID_REASON_INVALID" and error.status_code == 422
    use.refresh_from_db()
    assert use.state == PaperUse.State.PRINTED


def test_a_damaged_blank_is_voided_and_no_longer_on_hand(unit: Unit, stock: PaperStock) -> None:
    blank = paper_number_void_blank(unit=unit, paper_code=PAPER_CODE, paper_number=104, actor=ACTOR, reason="受潮")
    assert (blank.state, blank.void_reason, blank.void_note, blank.receipt) == (
        PaperUse.State.VOIDED,
        DAMAGED,
        "受潮",
        None,
    )
    assert accounting(unit) == [(10, 0, 1, 9)]
    event = AuditEvent.objects.get(action="paper.void_blank")
    assert event.data == {"paperCode": PAPER_CODE, "paperNumber": "0000000104", "note": "受潮"}
    # a second time, it is already void
    error = refusal(
        lambda: paper_number_void_blank(unit=unit, paper_code=PAPER_CODE, paper_number=104, actor=ACTOR, reason="")
    )
    assert error.code == "PAPER_ALREADY_VOIDED"


def test_a_printed_number_is_no_blank(receipt: Receipt, stock: PaperStock) -> None:
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    error = refusal(
        lambda: paper_number_void_blank(
            unit=receipt.unit, paper_code=PAPER_CODE, paper_number=use.paper_number, actor=ACTOR, reason=""
        )
    )
    assert error.code == "PAPER_VOID_REASON_INVALID"
    use.refresh_from_db()
    assert use.state == PaperUse.State.PRINTED


def test_a_number_outside_the_units_stock_is_not_found(unit: Unit, other_unit: Unit, stock: PaperStock) -> None:
    paper_stock_receive(unit=other_unit, paper_code=PAPER_CODE, start_number=201, end_number=210, actor=ACTOR)
    for number in (111, 205):
        error = refusal(
            lambda n=number: paper_number_void_blank(
                unit=unit, paper_code=PAPER_CODE, paper_number=n, actor=ACTOR, reason=""
            )
        )
        assert error.code == "PAPER_NUMBER_NOT_FOUND" and error.status_code == 404
    assert not PaperUse.objects.exists()


def test_voiding_by_number_takes_the_right_path(receipt: Receipt, stock: PaperStock) -> None:
    unit = receipt.unit
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    # a number on hand: only as a damaged blank, never printed again
    for reason, reprint in ((MISPRINT, False), (RECOVERED, False), (DAMAGED, True)):
        error = refusal(
            lambda r=reason, p=reprint: paper_number_void(
                unit=unit, paper_code=PAPER_CODE, paper_number=109, reason=r, actor=ACTOR, reprint=p
            )
        )
        assert error.code == "PAPER_VOID_REASON_INVALID"
    blank = paper_number_void(unit=unit, paper_code=PAPER_CODE, paper_number=109, reason=DAMAGED, actor=ACTOR)
    assert blank.voided.void_reason == DAMAGED and blank.reprinted is None
    # a printed copy: misprint with reprint
    outcome = paper_number_void(
        unit=unit, paper_code=PAPER_CODE, paper_number=use.paper_number, reason=MISPRINT, actor=ACTOR, reprint=True
    )
    assert outcome.voided.pk == use.pk and outcome.voided.state == PaperUse.State.VOIDED
    assert outcome.reprinted is not None and outcome.reprinted.number_text == "0000000102"
    # a voided number: already void
    error = refusal(
        lambda: paper_number_void(unit=unit, paper_code=PAPER_CODE, paper_number=101, reason=RECOVERED, actor=ACTOR)
    )
    assert error.code == "PAPER_ALREADY_VOIDED"
