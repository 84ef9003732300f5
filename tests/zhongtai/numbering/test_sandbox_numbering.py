"""The sandbox (联调测试) numbers from sequences of its own: it never uses up nor reveals a production number."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from issuance.models import Receipt
from issuance.payload import parse_issue_input
from issuance.services import receipt_issue
from tests.conftest import nontax_payload
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Region, Unit
from zhongtai.numbering.models import MAX_RECEIPT_NUMBER, NumberRange, NumberSequence
from zhongtai.numbering.services import (
    number_range_hand_down,
    number_range_reserve,
    numbers_allocate,
    sequence_ensure,
)

ACTOR = Actor.system("tests")


def _issue(unit: Unit, bus_no: str, *, sandbox: bool) -> Receipt:
    data, errors = parse_issue_input(nontax_payload(bus_no), require_bus_no=True)
    assert data is not None, errors.fields
    return receipt_issue(unit=unit, data=data, actor=ACTOR, source=Receipt.Source.API, sandbox=sandbox)[0]


def test_each_environment_has_its_own_sequence_of_a_code(kind_nontax: Any) -> None:
    production = sequence_ensure(kind=kind_nontax, year=2026)
    sandbox = sequence_ensure(kind=kind_nontax, year=2026, sandbox=True)
    assert production.receipt_code == sandbox.receipt_code == "43010126"
    assert (production.sandbox, sandbox.sandbox) == (False, True)
    assert production.pk != sandbox.pk
    # and asking again gives the same rows
    assert sequence_ensure(kind=kind_nontax, year=2026, sandbox=True).pk == sandbox.pk
    assert NumberSequence.objects.filter(receipt_code="43010126").count() == 2


def test_sandbox_allocation_leaves_the_production_sequence_alone(unit: Unit, kind_nontax: Any) -> None:
    code = sequence_ensure(kind=kind_nontax, year=2026).receipt_code
    sequence_ensure(kind=kind_nontax, year=2026, sandbox=True)
    with transaction.atomic():
        assert numbers_allocate(unit=unit, needs={code: 3}) == {code: [1, 2, 3]}
        assert numbers_allocate(unit=unit, needs={code: 2}, sandbox=True) == {code: [1, 2]}
        assert numbers_allocate(unit=unit, needs={code: 1}) == {code: [4]}
    assert NumberSequence.objects.get(receipt_code=code, sandbox=False).next_number == 5
    assert NumberSequence.objects.get(receipt_code=code, sandbox=True).next_number == 3


def test_sandbox_allocation_needs_its_own_sequence(unit: Unit, kind_nontax: Any) -> None:
    code = sequence_ensure(kind=kind_nontax, year=2026).receipt_code
    with pytest.raises(RuntimeError, match="sandbox sequence"), transaction.atomic():
        numbers_allocate(unit=unit, needs={code: 1}, sandbox=True)


def test_sandbox_receipts_are_numbered_apart_from_production(unit: Unit) -> None:
    # given production receipts 1 and 2
    assert [_issue(unit, f"P{n}", sandbox=False).number for n in range(2)] == [1, 2]
    # when the unit issues in the sandbox, its receipts start at 1 of the same receipt code
    first = _issue(unit, "S0", sandbox=True)
    assert (first.number, first.sandbox) == (1, True)
    assert first.receipt_code == Receipt.objects.get(bus_no="P0").receipt_code
    # and production goes on where it was
    assert _issue(unit, "P2", sandbox=False).number == 3


def test_an_exhausted_sandbox_sequence_does_not_touch_production(unit: Unit, kind_nontax: Any) -> None:
    year = timezone.localdate().year
    sandbox = sequence_ensure(kind=kind_nontax, year=year, sandbox=True)
    NumberSequence.objects.filter(pk=sandbox.pk).update(next_number=MAX_RECEIPT_NUMBER + 1)
    with pytest.raises(ApplicationError) as refused:
        _issue(unit, "S0", sandbox=True)
    assert refused.value.code == "NUMBERS_EXHAUSTED"
    assert _issue(unit, "P0", sandbox=False).number == 1


def test_a_unit_in_range_mode_numbers_sandbox_receipts_from_the_sandbox_sequence(
    unit: Unit, province: Region, kind_nontax: Any
) -> None:
    # given a unit numbering from a production range of 5
    year = timezone.localdate().year
    block = number_range_reserve(kind=kind_nontax, year=year, count=5, region=province, actor=ACTOR)
    mine = number_range_hand_down(parent_id=block.pk, count=5, to_unit=unit, actor=ACTOR)
    Unit.objects.filter(pk=unit.pk).update(numbering_mode=Unit.NumberingMode.RANGE)
    unit.refresh_from_db()
    # when it issues in the sandbox
    receipt = _issue(unit, "S0", sandbox=True)
    # then the number comes from the sandbox sequence and the range is untouched
    assert receipt.number == 1
    assert NumberSequence.objects.get(receipt_code=receipt.receipt_code, sandbox=True).next_number == 2
    assert NumberRange.objects.get(pk=mine.pk).cursor == mine.start_number
    # while production still issues from the range
    assert _issue(unit, "P0", sandbox=False).number == mine.start_number


def test_number_ranges_are_reserved_from_the_production_sequence(province: Region, kind_nontax: Any) -> None:
    sequence_ensure(kind=kind_nontax, year=2026, sandbox=True)
    block = number_range_reserve(kind=kind_nontax, year=2026, count=10, region=province, actor=ACTOR)
    assert (block.start_number, block.end_number) == (1, 10)
    assert NumberSequence.objects.get(receipt_code=block.receipt_code, sandbox=False).next_number == 11
    assert NumberSequence.objects.get(receipt_code=block.receipt_code, sandbox=True).next_number == 1
