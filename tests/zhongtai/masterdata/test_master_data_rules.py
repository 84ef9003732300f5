"""Rules of master data: the region tree, units, receipt kinds, fee items, issuing points.

Model ``clean()`` gives people a reason; database constraints are the last line.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.support.factories import (
    FeeItemFactory,
    IssuingPointFactory,
    ReceiptKindFactory,
    RegionFactory,
    UnitFactory,
)
from zhongtai.masterdata.models import ReceiptKind, Region, Unit
from zhongtai.masterdata.selectors import region_ancestors_codes, region_subtree_units

PUBLIC_CODE = "91350100M000100Y43"


def clean_errors(instance: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as refused:
        instance.clean()
    return refused.value.message_dict


def violates_constraint(create: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


# --- regions ----------------------------------------------------------------------------------


def test_province_city_and_county_of_the_fixtures_are_clean(furong: Region) -> None:
    for region in Region.objects.all():
        region.full_clean()


def test_province_cannot_have_a_parent(province: Region) -> None:
    region = Region(code="440000", name="广东省", level=Region.Level.PROVINCE, parent=province)
    assert set(clean_errors(region)) == {"parent"}


def test_province_code_ends_in_0000(db: Any) -> None:
    assert set(clean_errors(Region(code="430100", name="x", level=Region.Level.PROVINCE))) == {"code"}


@pytest.mark.parametrize("level", [Region.Level.CITY, Region.Level.COUNTY])
def test_city_and_county_need_a_parent(db: Any, level: int) -> None:
    assert set(clean_errors(Region(code="430100", name="x", level=level))) == {"parent"}


def test_city_cannot_sit_under_a_city(changsha: Region) -> None:
    region = Region(code="430200", name="株洲市", level=Region.Level.CITY, parent=changsha)
    assert set(clean_errors(region)) == {"parent"}


def test_county_cannot_sit_under_a_county(furong: Region) -> None:
    region = Region(code="430103", name="天心区", level=Region.Level.COUNTY, parent=furong)
    assert set(clean_errors(region)) == {"parent"}


def test_county_may_sit_directly_under_the_province(province: Region) -> None:
    Region(code="439001", name="省直管县", level=Region.Level.COUNTY, parent=province).clean()


def test_region_code_must_lie_within_its_parent(changsha: Region) -> None:
    region = Region(code="430201", name="荷塘区", level=Region.Level.COUNTY, parent=changsha)
    assert set(clean_errors(region)) == {"code"}


def test_region_code_cannot_equal_its_parents(changsha: Region) -> None:
    region = Region(code="430100", name="x", level=Region.Level.COUNTY, parent=changsha)
    assert set(clean_errors(region)) == {"code"}


def test_city_code_ends_in_00(province: Region) -> None:
    region = Region(code="430101", name="x", level=Region.Level.CITY, parent=province)
    assert set(clean_errors(region)) == {"code"}


def test_county_code_does_not_end_in_00(province: Region) -> None:
    region = Region(code="431100", name="x", level=Region.Level.COUNTY, parent=province)
    assert set(clean_errors(region)) == {"code"}


def test_database_refuses_a_province_with_a_parent(province: Region) -> None:
    violates_constraint(
        lambda: Region.objects.create(code="440000", name="x", level=Region.Level.PROVINCE, parent=province)
    )


def test_database_refuses_a_city_without_a_parent(db: Any) -> None:
    violates_constraint(lambda: Region.objects.create(code="430100", name="x", level=Region.Level.CITY))


def test_region_contains_itself_and_the_regions_below(furong: Region, changsha: Region, province: Region) -> None:
    zhuzhou = RegionFactory(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    assert province.contains(zhuzhou) and province.contains(furong)
    assert changsha.contains(changsha) and changsha.contains(furong)
    assert not changsha.contains(zhuzhou) and not changsha.contains(province)
    assert furong.contains(furong) and not furong.contains(changsha)


def test_ancestors_of_a_region_are_listed_most_specific_first() -> None:
    assert region_ancestors_codes("430102") == ["430102", "430100", "430000"]
    assert region_ancestors_codes("430100") == ["430100", "430000"]
    assert region_ancestors_codes("430000") == ["430000"]


def test_a_bureau_supervises_the_units_of_its_region_and_below(
    province: Region, changsha: Region, furong: Region
) -> None:
    zhuzhou = RegionFactory(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    in_furong, in_changsha, in_zhuzhou = (UnitFactory(region=r) for r in (furong, changsha, zhuzhou))
    assert set(region_subtree_units(region=province)) == {in_furong, in_changsha, in_zhuzhou}
    assert set(region_subtree_units(region=changsha)) == {in_furong, in_changsha}
    assert set(region_subtree_units(region=furong)) == {in_furong}


# --- units ---------------------------------------------------------------------------------------


def test_unit_of_the_fixtures_is_clean(unit: Unit) -> None:
    unit.full_clean()


def test_unit_clean_upper_cases_and_strips_the_credit_code(furong: Region) -> None:
    unit = UnitFactory.build(region=furong, credit_code=f" {PUBLIC_CODE.lower()} ")
    unit.clean()
    assert unit.credit_code == PUBLIC_CODE


def test_unit_full_clean_accepts_a_lower_case_credit_code(furong: Region) -> None:
    UnitFactory.build(code="430102999", region=furong, credit_code=PUBLIC_CODE.lower()).full_clean()


def test_unit_with_an_invalid_credit_code_is_refused(furong: Region) -> None:
    unit = UnitFactory.build(code="430102999", region=furong, credit_code=PUBLIC_CODE[:17] + "4")
    with pytest.raises(ValidationError) as refused:
        unit.full_clean()
    assert set(refused.value.message_dict) == {"credit_code"}


def test_unit_validity_cannot_end_before_it_starts(furong: Region) -> None:
    unit = UnitFactory.build(region=furong, valid_from=datetime.date(2025, 1, 2), valid_to=datetime.date(2025, 1, 1))
    assert set(clean_errors(unit)) == {"valid_to"}


def test_database_refuses_a_unit_validity_ending_before_it_starts(furong: Region) -> None:
    violates_constraint(
        lambda: UnitFactory(region=furong, valid_from=datetime.date(2025, 1, 2), valid_to=datetime.date(2025, 1, 1))
    )


def test_database_refuses_two_units_with_one_credit_code(unit: Unit, furong: Region) -> None:
    violates_constraint(lambda: UnitFactory(code="430102999", region=furong, credit_code=unit.credit_code))


def test_unit_is_valid_on_the_first_and_last_day_of_its_validity(furong: Region) -> None:
    unit = UnitFactory.build(region=furong, valid_from=datetime.date(2025, 1, 1), valid_to=datetime.date(2025, 12, 31))
    assert unit.is_valid_on(datetime.date(2025, 1, 1)) and unit.is_valid_on(datetime.date(2025, 12, 31))
    assert not unit.is_valid_on(datetime.date(2024, 12, 31)) and not unit.is_valid_on(datetime.date(2026, 1, 1))


def test_unit_without_an_end_date_stays_valid(furong: Region) -> None:
    unit = UnitFactory.build(region=furong, valid_from=datetime.date(2025, 1, 1), valid_to=None)
    assert unit.is_valid_on(datetime.date(2099, 1, 1))


def test_issuing_point_codes_are_unique_within_a_unit_only(unit: Unit, other_unit: Unit) -> None:
    IssuingPointFactory(unit=other_unit, code="MZ01")
    violates_constraint(lambda: IssuingPointFactory(unit=unit, code="MZ01"))


# --- receipt kinds -------------------------------------------------------------------------------------


def test_kind_code_is_derived_from_its_segments_on_save(db: Any) -> None:
    kind = ReceiptKindFactory(name="公益事业捐赠统一票据", category_code="03", kind_code="01")
    assert kind.code == "0301"
    kind.kind_code = "02"
    kind.save()
    assert ReceiptKind.objects.get(pk=kind.pk).code == "0302"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category_code": "6"}, "category_code"),
        ({"category_code": "0a"}, "category_code"),
        ({"kind_code": "123"}, "kind_code"),
        ({"required_fields": "visitNumber"}, "required_fields"),
        ({"required_fields": [1]}, "required_fields"),
        ({"required_fields": ["visitNumber", "bedNumber", "payer.fax"]}, "required_fields"),
    ],
)
def test_kind_with_malformed_segments_or_required_fields_is_refused(changes: dict[str, Any], field: str) -> None:
    fields: dict[str, Any] = {"name": "x", "category_code": "01", "kind_code": "01", "specimen_code": "S"}
    kind = ReceiptKind(**(fields | changes))
    assert set(clean_errors(kind)) == {field}


def test_unknown_required_fields_are_named(db: Any) -> None:
    kind = ReceiptKind(name="x", category_code="01", kind_code="01", required_fields=["visitNumber", "bedNumber"])
    assert clean_errors(kind)["required_fields"] == ["未知的专属字段：bedNumber。"]


def test_kind_requiring_kind_fields_and_payer_fields_is_clean() -> None:
    ReceiptKind(
        name="x", category_code="06", kind_code="02", required_fields=["admissionDate", "payer.code", "payer.phone"]
    ).clean()


def test_database_refuses_a_kind_kept_less_than_a_year(db: Any) -> None:
    violates_constraint(lambda: ReceiptKindFactory(category_code="09", kind_code="01", retention_years=0))


def test_database_refuses_two_kinds_with_the_same_segments(kind_nontax: ReceiptKind) -> None:
    violates_constraint(
        lambda: ReceiptKind.objects.create(name="另一种", category_code="01", kind_code="01", specimen_code="S")
    )


# --- fee items -----------------------------------------------------------------------------------------


def test_database_refuses_a_fee_item_validity_ending_before_it_starts(db: Any) -> None:
    violates_constraint(
        lambda: FeeItemFactory(valid_from=datetime.date(2025, 1, 2), valid_to=datetime.date(2025, 1, 1))
    )


def test_fee_item_is_valid_through_its_last_day(db: Any) -> None:
    item = FeeItemFactory.build(valid_from=datetime.date(2025, 1, 1), valid_to=datetime.date(2025, 6, 30))
    assert item.is_valid_on(datetime.date(2025, 6, 30))
    assert not item.is_valid_on(datetime.date(2025, 7, 1))
