"""Recording paper stock received (纸质票据入库): ranges, their checks, no overlap per paper code."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from issuance.paper.models import PaperStock
from issuance.paper.selectors import paper_stock_summary
from issuance.paper.services import MAX_STOCK_RANGE, paper_stock_receive
from tests.issuance.paper.conftest import ACTOR, OTHER_CODE, PAPER_CODE
from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit


def test_a_received_range_is_recorded_audited_and_on_hand(unit: Unit) -> None:
    # when the unit records forms 0000000101-0000000110 of paper code 43010125
    stock = paper_stock_receive(
        unit=unit, paper_code=PAPER_CODE, start_number=101, end_number=110, actor=ACTOR, note=" 领用单 2026-001 "
    )
    # then the range is stored with who recorded it, and all ten forms are on hand
    assert (stock.paper_code, stock.start_text, stock.end_text, stock.size) == (
        PAPER_CODE,
        "0000000101",
        "0000000110",
        10,
    )
    assert stock.recorded_by == ACTOR.name and stock.note == "领用单 2026-001"
    [summary] = paper_stock_summary(unit=unit)
    assert (summary.received, summary.used, summary.voided, summary.on_hand) == (10, 0, 0, 10)
    event = AuditEvent.objects.get(action="paper.stock_receive")
    assert event.object_id == str(stock.pk) and event.unit_code == unit.code
    assert event.data == {
        "paperCode": PAPER_CODE,
        "start": "0000000101",
        "end": "0000000110",
        "count": 10,
        "note": "领用单 2026-001",
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [(95, 101), (110, 120), (103, 105), (90, 130), (101, 110)],
    ids=["overlaps-start", "overlaps-end", "inside", "around", "same"],
)
def test_a_range_overlapping_a_recorded_one_is_refused(unit: Unit, other_unit: Unit, start: int, end: int) -> None:
    # given 101-110 of the code recorded for one unit
    paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=101, end_number=110, actor=ACTOR)
    # when any unit records a range of the same code that shares a number with it
    for holder in (unit, other_unit):
        with pytest.raises(ApplicationError) as refused:
            paper_stock_receive(unit=holder, paper_code=PAPER_CODE, start_number=start, end_number=end, actor=ACTOR)
        # then it is refused, naming the range it overlaps, and nothing is stored
        assert refused.value.code == "PAPER_STOCK_OVERLAP"
        assert refused.value.status_code == 409
        assert refused.value.extra["existing"] == {"startNumber": "0000000101", "endNumber": "0000000110"}
    assert PaperStock.objects.count() == 1
    assert AuditEvent.objects.filter(action="paper.stock_receive").count() == 1


def test_adjacent_ranges_and_other_codes_do_not_overlap(unit: Unit, other_unit: Unit) -> None:
    paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=101, end_number=110, actor=ACTOR)
    # when the ranges just before and after, and the same numbers of another code, are recorded
    paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=111, end_number=120, actor=ACTOR)
    paper_stock_receive(unit=other_unit, paper_code=PAPER_CODE, start_number=1, end_number=100, actor=ACTOR)
    paper_stock_receive(unit=other_unit, paper_code=OTHER_CODE, start_number=101, end_number=110, actor=ACTOR)
    # then all are stored
    assert PaperStock.objects.count() == 4
    assert [s.received for s in paper_stock_summary(unit=unit)] == [10, 10]


@pytest.mark.parametrize(
    ("code", "start", "end", "field"),
    [
        ("4301012", 1, 10, "paperCode"),
        ("4301012５", 1, 10, "paperCode"),
        ("43010125\n", 1, 10, "paperCode"),
        (PAPER_CODE, 0, 10, "startNumber"),
        (PAPER_CODE, 1, 10_000_000_000, "endNumber"),
        (PAPER_CODE, 20, 10, "endNumber"),
        (PAPER_CODE, 1, MAX_STOCK_RANGE + 1, "endNumber"),
    ],
    ids=["short-code", "fullwidth-digit", "newline", "zero", "eleven-digits", "reversed", "too-many"],
)
def test_a_malformed_range_is_refused(unit: Unit, code: str, start: int, end: int, field: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        paper_stock_receive(unit=unit, paper_code=code, start_number=start, end_number=end, actor=ACTOR)
    assert refused.value.code == "PAPER_RANGE_INVALID"
    assert field in refused.value.extra["fields"]
    assert not PaperStock.objects.exists()


def test_the_largest_range_allowed_is_accepted(unit: Unit) -> None:
    stock = paper_stock_receive(
        unit=unit, paper_code=PAPER_CODE, start_number=1, end_number=MAX_STOCK_RANGE, actor=ACTOR
    )
    assert stock.size == MAX_STOCK_RANGE


def test_a_note_longer_than_200_characters_is_refused(unit: Unit) -> None:
    with pytest.raises(ApplicationError) as refused:
        paper_stock_receive(
            unit=unit, paper_code=PAPER_CODE, start_number=1, end_number=2, actor=ACTOR, note="长" * 201
        )
    assert refused.value.code == "INVALID_INPUT"
    assert "note" in refused.value.extra["fields"]


def _insert(unit: Unit, start: int, end: int) -> None:
    PaperStock.objects.create(
        unit=unit,
        paper_code=PAPER_CODE,
        start_number=start,
        end_number=end,
        received_at=timezone.now(),
        recorded_by="raw",
    )


def test_the_database_refuses_two_ranges_starting_at_the_same_number(unit: Unit, other_unit: Unit) -> None:
    # given a range written past the service (as a careless script would)
    _insert(unit, 101, 110)
    # then a second range of the code starting at the same number fails in the database itself
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert(other_unit, 101, 105)


def test_the_database_refuses_a_malformed_paper_code(unit: Unit) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperStock.objects.create(
            unit=unit, paper_code="4301A125", start_number=1, end_number=2, received_at=timezone.now()
        )


@pytest.mark.postgres
def test_postgres_refuses_any_overlap_in_the_database(unit: Unit, other_unit: Unit) -> None:
    assert connection.vendor == "postgresql"
    _insert(unit, 101, 110)
    # when ranges that overlap it without sharing its first number are written past the service
    for start, end in ((105, 120), (90, 101), (110, 110)):
        with pytest.raises(IntegrityError), transaction.atomic():
            _insert(other_unit, start, end)
    # then only the adjacent one gets in
    _insert(other_unit, 111, 120)
    assert PaperStock.objects.count() == 2
