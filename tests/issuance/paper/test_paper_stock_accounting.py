"""Paper stock is accounted for (received = used + voided + on hand), and retired when paper stops."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from issuance.models import Receipt
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.selectors import (
    StockTotals,
    paper_outstanding_count,
    paper_stock_summary,
    paper_stock_totals,
    paper_stock_totals_of,
)
from issuance.paper.services import (
    paper_number_void_blank,
    paper_stock_receive,
    paper_stock_retire_unused,
    paper_use_void,
    receipt_paper_convert,
)
from tests.issuance.paper.conftest import ACTOR, OTHER_CODE, PAPER_CODE
from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit


def test_each_range_accounts_for_every_number(
    receipt: Receipt, stock: PaperStock, issue_signed: Callable[..., Receipt]
) -> None:
    unit = receipt.unit
    other = paper_stock_receive(unit=unit, paper_code=OTHER_CODE, start_number=1, end_number=5, actor=ACTOR)
    # given a printed copy, a misprint printed again, a recovered copy and a damaged blank
    misprint = receipt_paper_convert(receipt=receipt, actor=ACTOR)  # 101
    paper_use_void(use=misprint, reason="misprint", actor=ACTOR, reprint=True)  # 102 live
    recovered = receipt_paper_convert(receipt=issue_signed(unit, "PAPER0002"), actor=ACTOR)  # 103
    paper_use_void(use=recovered, reason="recovered", actor=ACTOR)
    paper_number_void_blank(unit=unit, paper_code=OTHER_CODE, paper_number=5, actor=ACTOR, reason="破损")
    # then each range says what became of its numbers
    rows = {
        (s.paper_code, s.stock.pk): (s.received, s.used, s.voided, s.on_hand) for s in paper_stock_summary(unit=unit)
    }
    assert rows == {(PAPER_CODE, stock.pk): (10, 1, 2, 7), (OTHER_CODE, other.pk): (5, 0, 1, 4)}
    assert paper_outstanding_count(unit=unit) == 1
    # and the totals counted in the database agree with the ranges added up
    totals = StockTotals(received=15, used=1, voided=3, on_hand=11)
    assert paper_stock_totals(paper_stock_summary(unit=unit)) == totals
    assert paper_stock_totals_of(stocks=PaperStock.objects.filter(unit=unit)) == totals


def test_outstanding_copies_are_counted_per_unit(
    receipt: Receipt, stock: PaperStock, other_unit: Unit, networked_unit: Unit
) -> None:
    receipt_paper_convert(receipt=receipt, actor=ACTOR)
    assert paper_outstanding_count(unit=receipt.unit) == 1
    assert paper_outstanding_count(unit=other_unit) == 0
    assert paper_outstanding_count(unit=networked_unit) == 0


def test_retiring_voids_every_number_on_hand_and_nothing_else(receipt: Receipt, stock: PaperStock) -> None:
    unit = receipt.unit
    other = paper_stock_receive(unit=unit, paper_code=OTHER_CODE, start_number=1, end_number=3, actor=ACTOR)
    live = receipt_paper_convert(receipt=receipt, actor=ACTOR)  # 101
    paper_number_void_blank(unit=unit, paper_code=PAPER_CODE, paper_number=105, actor=ACTOR, reason="")
    # when the unit stops using paper receipts and retires what is left
    retired = paper_stock_retire_unused(unit=unit, actor=ACTOR, reason="停用纸质票据申请 2026-07")
    # then the 8 + 3 numbers on hand are void (停用核销), the live copy untouched
    assert retired == 11
    rows = {s.stock.pk: (s.received, s.used, s.voided, s.on_hand) for s in paper_stock_summary(unit=unit)}
    assert rows == {stock.pk: (10, 1, 9, 0), other.pk: (3, 0, 3, 0)}
    live.refresh_from_db()
    assert live.state == PaperUse.State.PRINTED
    assert PaperUse.objects.filter(void_reason="retired", void_note="停用纸质票据申请 2026-07").count() == 11
    # and each range's retirement is audited with the numbers it took
    events = {e.object_id: e.data for e in AuditEvent.objects.filter(action="paper.stock_retire")}
    assert events[str(stock.pk)]["numbers"] == ["0000000102-0000000104", "0000000106-0000000110"]
    assert events[str(stock.pk)]["count"] == 8
    assert events[str(other.pk)]["numbers"] == ["0000000001-0000000003"]
    # and retiring again finds nothing; converting finds no stock
    assert paper_stock_retire_unused(unit=unit, actor=ACTOR, reason="再次清理") == 0
    assert AuditEvent.objects.filter(action="paper.stock_retire").count() == 2


def test_retiring_leaves_other_units_alone(unit: Unit, other_unit: Unit, stock: PaperStock) -> None:
    paper_stock_receive(unit=other_unit, paper_code=PAPER_CODE, start_number=1, end_number=4, actor=ACTOR)
    assert paper_stock_retire_unused(unit=other_unit, actor=ACTOR, reason="停用") == 4
    assert [s.on_hand for s in paper_stock_summary(unit=unit)] == [10]


def test_after_retiring_nothing_can_be_converted(receipt: Receipt, stock: PaperStock) -> None:
    paper_stock_retire_unused(unit=receipt.unit, actor=ACTOR, reason="停用")
    with pytest.raises(ApplicationError) as refused:
        receipt_paper_convert(receipt=receipt, actor=ACTOR)
    assert refused.value.code == "PAPER_STOCK_EMPTY"


def test_retiring_needs_a_reason(unit: Unit, stock: PaperStock) -> None:
    with pytest.raises(ApplicationError) as refused:
        paper_stock_retire_unused(unit=unit, actor=ACTOR, reason="  ")
    assert refused.value.code == "INVALID_INPUT"
    assert not PaperUse.objects.exists()
