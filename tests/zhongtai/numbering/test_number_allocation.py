"""赋码: receipt codes, gapless automatic numbers, and number ranges handed down the region tree."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from issuance.models import Receipt
from issuance.payload import parse_issue_input
from issuance.services import receipt_issue
from tests.conftest import nontax_payload
from tests.support.factories import UnitFactory
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Region, Unit
from zhongtai.numbering.errors import NumberingError
from zhongtai.numbering.models import MAX_RECEIPT_NUMBER, NumberRange, NumberSequence
from zhongtai.numbering.services import (
    check_code_generate,
    number_range_hand_down,
    number_range_reserve,
    numbers_allocate,
    receipt_code_for,
    sequence_ensure,
)

ACTOR = Actor.system("tests")


def _issue(unit: Unit, bus_no: str, **overrides: Any) -> Receipt:
    data, errors = parse_issue_input(nontax_payload(bus_no, **overrides), require_bus_no=True)
    assert data is not None, errors.fields
    return receipt_issue(unit=unit, data=data, actor=ACTOR, source=Receipt.Source.API)[0]


def test_receipt_code_is_province_category_kind_year(kind_nontax: Any, kind_outpatient: Any) -> None:
    assert receipt_code_for(kind=kind_nontax, year=2026) == "43010126"
    assert receipt_code_for(kind=kind_outpatient, year=2025) == "43060125"


def test_check_code_is_six_lower_hex_from_a_random_source() -> None:
    codes = {check_code_generate() for _ in range(200)}
    assert all(re.fullmatch(r"[0-9a-f]{6}", code) for code in codes)
    assert len(codes) > 190  # 16^6 values: collisions among 200 are rare


def test_auto_numbers_follow_the_sequence_of_the_code(unit: Unit) -> None:
    first, second = _issue(unit, "A1"), _issue(unit, "A2")
    assert (first.number, second.number) == (1, 2)
    code = receipt_code_for(kind=first.kind, year=timezone.localdate().year)
    assert first.receipt_code == code
    assert NumberSequence.objects.get(receipt_code=code).next_number == 3


def test_a_refused_issuance_burns_no_number(unit: Unit) -> None:
    _issue(unit, "A1")
    with pytest.raises(ApplicationError):
        _issue(unit, "A2", totalAmount="99.99")
    assert _issue(unit, "A3").number == 2


def test_allocation_rolled_back_with_its_transaction_leaves_no_gap(unit: Unit, kind_nontax: Any) -> None:
    # given an allocation inside a transaction that then fails
    year = timezone.localdate().year
    code = sequence_ensure(kind=kind_nontax, year=year).receipt_code
    with pytest.raises(RuntimeError), transaction.atomic():
        assert numbers_allocate(unit=unit, needs={code: 5}) == {code: [1, 2, 3, 4, 5]}
        raise RuntimeError("issuance failed after numbering")
    # then the next allocation starts where the failed one did
    with transaction.atomic():
        assert numbers_allocate(unit=unit, needs={code: 1}) == {code: [1]}


@pytest.mark.django_db(transaction=True)
def test_allocation_outside_a_transaction_is_refused(unit: Unit, kind_nontax: Any) -> None:
    code = sequence_ensure(kind=kind_nontax, year=2026).receipt_code
    with pytest.raises(RuntimeError):
        numbers_allocate(unit=unit, needs={code: 1})


def test_an_exhausted_code_is_refused(unit: Unit, kind_nontax: Any) -> None:
    year = timezone.localdate().year
    sequence = sequence_ensure(kind=kind_nontax, year=year)
    NumberSequence.objects.filter(pk=sequence.pk).update(next_number=MAX_RECEIPT_NUMBER)
    assert _issue(unit, "LAST").number == MAX_RECEIPT_NUMBER
    with pytest.raises(ApplicationError) as refused:
        _issue(unit, "OVER")
    assert refused.value.code == NumberingError.NUMBERS_EXHAUSTED
    assert refused.value.status_code == 409


@pytest.fixture
def range_unit(unit: Unit) -> Unit:
    Unit.objects.filter(pk=unit.pk).update(numbering_mode=Unit.NumberingMode.RANGE)
    unit.refresh_from_db()
    return unit


def test_ranges_flow_from_province_to_city_to_unit(
    province: Region, changsha: Region, range_unit: Unit, kind_nontax: Any
) -> None:
    year = timezone.localdate().year
    # given the province reserved 1000 numbers and handed 300 to Changsha, 100 of them to the unit
    block = number_range_reserve(kind=kind_nontax, year=year, count=1000, region=province, actor=ACTOR)
    city = number_range_hand_down(parent_id=block.pk, count=300, to_region=changsha, actor=ACTOR)
    mine = number_range_hand_down(parent_id=city.pk, count=100, to_unit=range_unit, actor=ACTOR)
    # then the blocks nest and the cursors moved
    assert (block.start_number, block.end_number) == (1, 1000)
    assert (city.start_number, city.end_number) == (1, 300)
    assert (mine.start_number, mine.end_number) == (1, 100)
    block.refresh_from_db()
    city.refresh_from_db()
    assert (block.cursor, city.cursor) == (301, 101)
    # and automatic numbering of the code continues after the reserved block
    assert NumberSequence.objects.get(receipt_code=block.receipt_code).next_number == 1001
    # when the unit issues, it takes numbers from its own block
    assert [_issue(range_unit, f"R{n}").number for n in range(3)] == [1, 2, 3]
    assert AuditEvent.objects.filter(action="number_range.hand_down").count() == 2


def test_a_unit_issues_across_its_ranges_in_order_and_then_is_refused(
    province: Region, range_unit: Unit, kind_nontax: Any
) -> None:
    year = timezone.localdate().year
    block = number_range_reserve(kind=kind_nontax, year=year, count=10, region=province, actor=ACTOR)
    number_range_hand_down(parent_id=block.pk, count=2, to_unit=range_unit, actor=ACTOR)
    number_range_hand_down(parent_id=block.pk, count=1, to_unit=range_unit, actor=ACTOR)
    assert [_issue(range_unit, f"R{n}").number for n in range(3)] == [1, 2, 3]
    with pytest.raises(ApplicationError) as refused:
        _issue(range_unit, "R9")
    assert refused.value.code == NumberingError.RANGE_EXHAUSTED
    assert sum(r.remaining for r in NumberRange.objects.filter(unit=range_unit)) == 0


def test_only_the_province_reserves_blocks(changsha: Region, kind_nontax: Any) -> None:
    with pytest.raises(ApplicationError) as refused:
        number_range_reserve(kind=kind_nontax, year=2026, count=10, region=changsha, actor=ACTOR)
    assert refused.value.code == NumberingError.RANGE_HOLDER_INVALID


def test_a_block_goes_only_down_its_own_region(province: Region, changsha: Region, kind_nontax: Any) -> None:
    zhuzhou = Region.objects.create(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    block = number_range_reserve(kind=kind_nontax, year=2026, count=10, region=province, actor=ACTOR)
    city = number_range_hand_down(parent_id=block.pk, count=5, to_region=changsha, actor=ACTOR)
    outsider = UnitFactory(code="430200001", region=zhuzhou)
    with pytest.raises(ApplicationError) as refused:
        number_range_hand_down(parent_id=city.pk, count=1, to_unit=outsider, actor=ACTOR)
    assert refused.value.code == NumberingError.RANGE_HOLDER_INVALID
    with pytest.raises(ApplicationError):
        number_range_hand_down(parent_id=city.pk, count=1, to_region=changsha, actor=ACTOR)


def test_hand_down_refuses_more_than_is_left_and_nonsense_counts(
    province: Region, changsha: Region, unit: Unit, kind_nontax: Any
) -> None:
    block = number_range_reserve(kind=kind_nontax, year=2026, count=10, region=province, actor=ACTOR)
    with pytest.raises(ApplicationError) as too_many:
        number_range_hand_down(parent_id=block.pk, count=11, to_region=changsha, actor=ACTOR)
    assert too_many.value.code == NumberingError.RANGE_EXHAUSTED
    with pytest.raises(ApplicationError) as zero:
        number_range_hand_down(parent_id=block.pk, count=0, to_region=changsha, actor=ACTOR)
    assert zero.value.code == NumberingError.RANGE_COUNT_INVALID
    with pytest.raises(ApplicationError) as both:
        number_range_hand_down(parent_id=block.pk, count=1, to_region=changsha, to_unit=unit, actor=ACTOR)
    assert both.value.code == NumberingError.RANGE_HOLDER_INVALID


def test_a_unit_block_cannot_be_divided_further(
    province: Region, unit: Unit, other_unit: Unit, kind_nontax: Any
) -> None:
    block = number_range_reserve(kind=kind_nontax, year=2026, count=10, region=province, actor=ACTOR)
    mine = number_range_hand_down(parent_id=block.pk, count=5, to_unit=unit, actor=ACTOR)
    with pytest.raises(ApplicationError) as refused:
        number_range_hand_down(parent_id=mine.pk, count=1, to_unit=other_unit, actor=ACTOR)
    assert refused.value.code == NumberingError.RANGE_NOT_DIVISIBLE


def test_the_number_range_command_reserves_and_hands_down(
    province: Region, changsha: Region, unit: Unit, kind_nontax: Any
) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("number_range", "reserve", "--kind", "0101", "--year", "2026", "--count", "500", stdout=out)
    block = NumberRange.objects.get(region=province)
    call_command(
        "number_range", "hand-down", "--range", str(block.pk), "--count", "50", "--region", "430100", stdout=out
    )
    city = NumberRange.objects.get(region=changsha)
    call_command("number_range", "hand-down", "--range", str(city.pk), "--count", "20", "--unit", unit.code, stdout=out)
    assert NumberRange.objects.get(unit=unit).end_number == 20
    assert "剩余" in out.getvalue()
    with pytest.raises(CommandError, match="RANGE_EXHAUSTED"):
        call_command("number_range", "hand-down", "--range", str(city.pk), "--count", "31", "--unit", unit.code)
