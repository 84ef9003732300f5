"""Charging standards (收费标准): their shape, and which one is in force for a unit on a day."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.support.factories import FeeItemFactory, FeeStandardFactory, RegionFactory
from zhongtai.masterdata.models import FeeItem, FeeStandard, Region
from zhongtai.masterdata.selectors import fee_standards_for

FIXED, RANGE = FeeStandard.Mode.FIXED, FeeStandard.Mode.RANGE
DAY = datetime.date(2025, 6, 15)


def standard(**fields: Any) -> FeeStandard:
    values: dict[str, Any] = {"mode": FIXED, "amount": None, "min_amount": None, "max_amount": None}
    money = {"amount", "min_amount", "max_amount"}
    values.update({k: Decimal(v) if k in money else v for k, v in fields.items()})
    values.setdefault("valid_from", datetime.date(2020, 1, 1))
    return FeeStandard(**values)


@pytest.fixture
def item(db: Any) -> FeeItem:
    return FeeItemFactory(code="S0001", name="测试收费")


def in_force(item: FeeItem, region_code: str = "430102", day: datetime.date = DAY) -> FeeStandard | None:
    return fee_standards_for(fee_item_ids=[item.pk], region_code=region_code, day=day).get(item.pk)


def add(item: FeeItem, amount: str, region: Region | None = None, **dates: datetime.date | None) -> FeeStandard:
    return FeeStandardFactory(fee_item=item, region=region, mode=FIXED, amount=Decimal(amount), **dates)


# --- clean() -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": "10.00"},
        {"amount": "0"},
        {"amount": "0.1234"},
        {"mode": RANGE, "min_amount": "5", "max_amount": "50"},
        {"mode": RANGE, "min_amount": "5", "max_amount": "5"},
        {"amount": "1", "valid_to": datetime.date(2020, 1, 1)},
    ],
)
def test_well_formed_standard_is_clean(fields: dict[str, Any]) -> None:
    standard(**fields).clean()


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({}, "__all__"),
        ({"amount": "10", "min_amount": "5"}, "__all__"),
        ({"amount": "10", "max_amount": "50"}, "__all__"),
        ({"amount": "-0.01"}, "amount"),
        ({"mode": RANGE, "min_amount": "5"}, "__all__"),
        ({"mode": RANGE, "max_amount": "5"}, "__all__"),
        ({"mode": RANGE, "amount": "10", "min_amount": "5", "max_amount": "50"}, "__all__"),
        ({"mode": RANGE, "min_amount": "-1", "max_amount": "50"}, "__all__"),
        ({"mode": RANGE, "min_amount": "50", "max_amount": "5"}, "__all__"),
        ({"amount": "1", "valid_to": datetime.date(2019, 12, 31)}, "valid_to"),
    ],
)
def test_malformed_standard_is_refused_by_clean(fields: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError) as refused:
        standard(**fields).clean()
    assert set(refused.value.update_error_dict({})) == {key}


# --- database constraints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"amount": "10", "min_amount": "5"},
        {"amount": "-1"},
        {"mode": RANGE, "min_amount": "5"},
        {"mode": RANGE, "amount": "10", "min_amount": "5", "max_amount": "50"},
        {"mode": RANGE, "min_amount": "-1", "max_amount": "50"},
        {"mode": RANGE, "min_amount": "50", "max_amount": "5"},
        {"mode": "tiered", "amount": "10"},
        {"amount": "1", "valid_to": datetime.date(2019, 12, 31)},
    ],
)
def test_database_refuses_a_malformed_standard(item: FeeItem, fields: dict[str, Any]) -> None:
    malformed = standard(**fields)
    malformed.fee_item = item
    with pytest.raises(IntegrityError), transaction.atomic():
        malformed.save()


def test_database_accepts_a_range_standard(item: FeeItem) -> None:
    saved = standard(mode=RANGE, min_amount="5", max_amount="50")
    saved.fee_item = item
    saved.save()
    saved.refresh_from_db()
    assert saved.describe() == "5.0000–50.0000 元"


# --- the standard in force -----------------------------------------------------------------------------


def test_province_wide_standard_applies_to_every_region(item: FeeItem) -> None:
    wide = add(item, "10.00")
    assert in_force(item, "430102") == wide
    assert in_force(item, "431100") == wide


def test_city_standard_wins_over_the_province_wide_one(item: FeeItem, changsha: Region) -> None:
    add(item, "10.00")
    city = add(item, "9.00", changsha)
    assert in_force(item, "430102") == city
    assert in_force(item, "430100") == city


def test_county_standard_wins_over_the_city_and_province(item: FeeItem, changsha: Region, furong: Region) -> None:
    add(item, "10.00")
    add(item, "9.00", changsha)
    county = add(item, "8.00", furong)
    assert in_force(item, "430102") == county


def test_county_standard_does_not_apply_to_its_city_or_sibling_counties(
    item: FeeItem, changsha: Region, furong: Region
) -> None:
    city = add(item, "9.00", changsha)
    add(item, "8.00", furong)
    assert in_force(item, "430100") == city
    assert in_force(item, "430103") == city


def test_another_citys_standard_does_not_apply(item: FeeItem, province: Region) -> None:
    zhuzhou = RegionFactory(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    wide = add(item, "10.00")
    add(item, "7.00", zhuzhou)
    assert in_force(item, "430102") == wide


def test_no_standard_at_all_gives_none(item: FeeItem) -> None:
    assert in_force(item) is None


def test_more_specific_region_wins_even_when_older(item: FeeItem, furong: Region) -> None:
    county = add(item, "8.00", furong, valid_from=datetime.date(2020, 1, 1))
    add(item, "12.00", valid_from=datetime.date(2025, 1, 1))
    assert in_force(item, "430102") == county


def test_later_standard_of_the_same_region_wins(item: FeeItem) -> None:
    add(item, "10.00", valid_from=datetime.date(2020, 1, 1))
    newer = add(item, "12.00", valid_from=datetime.date(2025, 1, 1))
    assert in_force(item) == newer


def test_standard_not_yet_in_force_is_ignored(item: FeeItem) -> None:
    current = add(item, "10.00")
    add(item, "12.00", valid_from=DAY + datetime.timedelta(days=1))
    assert in_force(item) == current


def test_expired_standard_is_ignored(item: FeeItem, furong: Region) -> None:
    wide = add(item, "10.00")
    add(item, "8.00", furong, valid_to=DAY - datetime.timedelta(days=1))
    assert in_force(item) == wide


def test_standard_is_in_force_on_its_first_and_last_day(item: FeeItem) -> None:
    only = add(item, "10.00", valid_from=DAY, valid_to=DAY)
    assert in_force(item, day=DAY) == only
    assert in_force(item, day=DAY - datetime.timedelta(days=1)) is None
    assert in_force(item, day=DAY + datetime.timedelta(days=1)) is None


def test_standards_of_several_items_are_resolved_at_once(item: FeeItem, furong: Region) -> None:
    other = FeeItemFactory(code="S0002")
    unpriced = FeeItemFactory(code="S0003")
    mine = add(item, "8.00", furong)
    theirs = add(other, "3.00")
    found = fee_standards_for(fee_item_ids=[item.pk, other.pk, unpriced.pk], region_code="430102", day=DAY)
    assert found == {item.pk: mine, other.pk: theirs}
