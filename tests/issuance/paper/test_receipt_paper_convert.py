"""Converting an e-receipt to paper (换开纸质票据): which number, which receipts, never twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from issuance.models import Receipt, SignStatus
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.selectors import paper_outstanding_count, paper_stock_summary
from issuance.paper.services import (
    paper_number_void_blank,
    paper_stock_receive,
    paper_use_void,
    receipt_paper_convert,
)
from issuance.red_offset import receipt_red_offset
from issuance.services import receipt_transition
from issuance.states import ReceiptStatus
from tests.issuance.paper.conftest import ACTOR, OTHER_CODE, PAPER_CODE, issue_for
from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit


def refusal(call: Callable[[], Any]) -> ApplicationError:
    with pytest.raises(ApplicationError) as refused:
        call()
    return refused.value


def test_a_signed_receipt_is_printed_on_the_lowest_number_and_marked_converted(
    receipt: Receipt, stock: PaperStock
) -> None:
    # when the receipt is converted without naming a number
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    # then it is printed on the first form of the stock, and the receipt is 已换开纸质票据
    assert (use.paper_code, use.number_text, use.state) == (PAPER_CODE, "0000000101", PaperUse.State.PRINTED)
    assert use.receipt == receipt and use.stock == stock and use.printed_by == ACTOR.name and use.printed_at
    assert receipt.status == ReceiptStatus.PAPER_CONVERTED
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.PAPER_CONVERTED
    # and the change is audited on the receipt: the transition and the conversion
    actions = list(
        AuditEvent.objects.filter(object_type="receipt", object_id=str(receipt.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["receipt.transition", "receipt.paper_convert"]
    event = AuditEvent.objects.get(action="receipt.paper_convert")
    assert event.data["paperCode"] == PAPER_CODE and event.data["paperNumber"] == "0000000101"
    assert event.actor == ACTOR.name
    [summary] = paper_stock_summary(unit=receipt.unit)
    assert (summary.received, summary.used, summary.voided, summary.on_hand) == (10, 1, 0, 9)
    assert paper_outstanding_count(unit=receipt.unit) == 1


def test_a_receipt_is_never_converted_twice(receipt: Receipt, stock: PaperStock) -> None:
    first = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    # when the same receipt is converted again (with a stale copy, or naming another number)
    stale = Receipt.objects.get(pk=receipt.pk)
    for call in (
        lambda: receipt_paper_convert(receipt=receipt, actor=ACTOR),
        lambda: receipt_paper_convert(receipt=stale, actor=ACTOR, paper_code=PAPER_CODE, paper_number=105),
    ):
        error = refusal(call)
        # then it is refused, naming the paper copy it already has
        assert error.code == "PAPER_ALREADY_CONVERTED" and error.status_code == 409
        assert error.extra["paperNumber"] == first.number_text
    assert PaperUse.objects.count() == 1


def test_the_database_allows_one_live_copy_per_receipt(receipt: Receipt, stock: PaperStock) -> None:
    receipt_paper_convert(receipt=receipt, actor=ACTOR)
    # when a second printed copy of the receipt is written past the service
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperUse.objects.create(
            stock=stock,
            paper_code=PAPER_CODE,
            paper_number=105,
            receipt=receipt,
            state=PaperUse.State.PRINTED,
            printed_at=timezone.now(),
        )


def test_the_lowest_paper_code_and_first_free_number_come_first(
    unit: Unit, pki: dict[str, Any], issue_signed: Callable[..., Receipt]
) -> None:
    # given two codes in stock, recorded higher code first, and some numbers of the lower code gone
    paper_stock_receive(unit=unit, paper_code=OTHER_CODE, start_number=1, end_number=5, actor=ACTOR)
    paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=501, end_number=505, actor=ACTOR)
    paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=101, end_number=103, actor=ACTOR)
    paper_number_void_blank(unit=unit, paper_code=PAPER_CODE, paper_number=101, actor=ACTOR, reason="受潮")
    explicit = issue_signed(unit, "P-EXPLICIT")
    receipt_paper_convert(receipt=explicit, actor=ACTOR, paper_code=PAPER_CODE, paper_number=103)
    # when receipts are converted one after another without naming a number
    numbers = []
    for index in range(4):
        use = receipt_paper_convert(receipt=issue_signed(unit, f"P-NEXT-{index}"), actor=ACTOR)
        numbers.append(f"{use.paper_code}-{use.number_text}")
    # then the gaps of the lowest code are filled first, then its next range, then the next code
    assert numbers == [
        f"{PAPER_CODE}-0000000102",
        f"{PAPER_CODE}-0000000501",
        f"{PAPER_CODE}-0000000502",
        f"{PAPER_CODE}-0000000503",
    ]


def test_a_paper_code_alone_takes_the_next_number_of_that_code(receipt: Receipt, stock: PaperStock) -> None:
    paper_stock_receive(unit=receipt.unit, paper_code=OTHER_CODE, start_number=7, end_number=9, actor=ACTOR)
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR, paper_code=OTHER_CODE)
    assert (use.paper_code, use.paper_number) == (OTHER_CODE, 7)


def test_a_named_number_of_the_stock_is_used(receipt: Receipt, stock: PaperStock) -> None:
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR, paper_code=PAPER_CODE, paper_number=108)
    assert use.number_text == "0000000108"


def test_a_named_number_outside_the_units_stock_is_refused(
    receipt: Receipt, stock: PaperStock, other_unit: Unit
) -> None:
    paper_stock_receive(unit=other_unit, paper_code=PAPER_CODE, start_number=201, end_number=210, actor=ACTOR)
    # when the number is beyond every range, of another code, or in another unit's range
    for code, number in ((PAPER_CODE, 111), (OTHER_CODE, 101), (PAPER_CODE, 205)):
        error = refusal(
            lambda c=code, n=number: receipt_paper_convert(receipt=receipt, actor=ACTOR, paper_code=c, paper_number=n)
        )
        # then it is refused and the receipt stays as it was
        assert error.code == "PAPER_NUMBER_NOT_IN_STOCK" and error.status_code == 422
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.ISSUED
    assert not PaperUse.objects.exists()


def test_a_named_number_already_used_is_refused(
    receipt: Receipt, stock: PaperStock, issue_signed: Callable[..., Receipt]
) -> None:
    receipt_paper_convert(receipt=receipt, actor=ACTOR, paper_code=PAPER_CODE, paper_number=104)
    paper_number_void_blank(unit=receipt.unit, paper_code=PAPER_CODE, paper_number=105, actor=ACTOR, reason="撕毁")
    second = issue_signed(receipt.unit, "PAPER0002")
    for number, state in ((104, "printed"), (105, "voided")):
        error = refusal(
            lambda n=number: receipt_paper_convert(receipt=second, actor=ACTOR, paper_code=PAPER_CODE, paper_number=n)
        )
        assert error.code == "PAPER_NUMBER_USED" and error.status_code == 409
        assert error.extra["state"] == state
    second.refresh_from_db()
    assert second.status == ReceiptStatus.ISSUED


def test_a_number_without_its_code_is_invalid_input(receipt: Receipt, stock: PaperStock) -> None:
    error = refusal(lambda: receipt_paper_convert(receipt=receipt, actor=ACTOR, paper_number=101))
    assert error.code == "INVALID_INPUT" and "paperCode" in error.extra["fields"]


def test_no_stock_or_used_up_stock_is_refused(
    receipt: Receipt, unit: Unit, issue_signed: Callable[..., Receipt]
) -> None:
    # given no stock at all
    error = refusal(lambda: receipt_paper_convert(receipt=receipt, actor=ACTOR))
    assert error.code == "PAPER_STOCK_EMPTY" and error.status_code == 409
    # given a range of two, both gone
    paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=1, end_number=2, actor=ACTOR)
    receipt_paper_convert(receipt=receipt, actor=ACTOR)
    paper_number_void_blank(unit=unit, paper_code=PAPER_CODE, paper_number=2, actor=ACTOR, reason="")
    later = issue_signed(unit, "PAPER0003")
    error = refusal(lambda: receipt_paper_convert(receipt=later, actor=ACTOR))
    assert error.code == "PAPER_STOCK_EMPTY"
    error = refusal(lambda: receipt_paper_convert(receipt=later, actor=ACTOR, paper_code=OTHER_CODE))
    assert error.code == "PAPER_STOCK_EMPTY" and error.extra == {"paperCode": OTHER_CODE}
    later.refresh_from_db()
    assert later.status == ReceiptStatus.ISSUED


def test_a_receipt_not_signed_yet_is_refused(unit: Unit, stock: PaperStock) -> None:
    # given a receipt whose unit has no certificate yet: it waits for signing
    unsigned = issue_for(unit, "UNSIGNED1")
    assert unsigned.sign_status == SignStatus.PENDING
    error = refusal(lambda: receipt_paper_convert(receipt=unsigned, actor=ACTOR))
    assert error.code == "NOT_SIGNED_YET" and error.status_code == 409
    assert not PaperUse.objects.exists()


def test_red_and_red_offset_receipts_are_refused(receipt: Receipt, stock: PaperStock) -> None:
    # given a receipt red-offset through the red-offset service
    red, _ = receipt_red_offset(receipt=receipt, reason="退费", actor=ACTOR, source=Receipt.Source.API)
    receipt.refresh_from_db()
    # then neither the red receipt nor the offset original can be converted
    error = refusal(lambda: receipt_paper_convert(receipt=red, actor=ACTOR))
    assert error.code == "PAPER_RECEIPT_RED" and error.status_code == 422
    error = refusal(lambda: receipt_paper_convert(receipt=receipt, actor=ACTOR))
    assert error.code == "PAPER_RECEIPT_RED_OFFSET" and error.status_code == 409
    assert not PaperUse.objects.exists()


def test_a_sandbox_receipt_is_refused(receipt: Receipt, stock: PaperStock) -> None:
    Receipt.objects.filter(pk=receipt.pk).update(sandbox=True)
    receipt.refresh_from_db()
    error = refusal(lambda: receipt_paper_convert(receipt=receipt, actor=ACTOR))
    assert error.code == "PAPER_RECEIPT_SANDBOX" and error.status_code == 422


def test_a_red_offset_waits_until_the_paper_copy_is_recovered(receipt: Receipt, stock: PaperStock) -> None:
    # given a receipt converted to paper
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    # when it is red-offset, it is refused: the paper copy is still with the payer
    error = refusal(lambda: receipt_red_offset(receipt=receipt, reason="退费", actor=ACTOR, source=Receipt.Source.API))
    assert error.code == "RECEIPT_PAPER_OUTSTANDING" and error.status_code == 409
    error = refusal(lambda: receipt_transition(receipt=receipt, target=ReceiptStatus.RED_OFFSET, actor=ACTOR))
    assert error.code == "TRANSITION_NOT_ALLOWED"
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.PAPER_CONVERTED
    # when the copy is recovered and voided, the red-offset goes through
    paper_use_void(use=use, reason="recovered", actor=ACTOR)
    red, created = receipt_red_offset(receipt=receipt, reason="退费", actor=ACTOR, source=Receipt.Source.API)
    assert created and red.is_red
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.RED_OFFSET
