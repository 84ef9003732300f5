"""The one scoping helper: who sees what, and who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404

from tests.support.factories import RegionFactory, UnitFactory
from zhongtai.accounts.scoping import Permission, scope_for
from zhongtai.masterdata.models import Region

pytestmark = pytest.mark.django_db


def test_city_staff_see_their_city_and_its_districts_only(
    city_staff: Any, unit: Any, networked_unit: Any, other_unit: Any, province: Region
) -> None:
    # given a unit in another city
    zhuzhou = RegionFactory(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    far_unit = UnitFactory(code="430200001", region=zhuzhou)
    # when Changsha's staff ask for units
    units = set(scope_for(city_staff).units())
    # then they see Changsha's and Furong's units but not Zhuzhou's
    assert {unit, networked_unit, other_unit} <= units
    assert far_unit not in units


def test_county_staff_do_not_see_the_city_level(county_staff: Any, unit: Any, other_unit: Any) -> None:
    units = set(scope_for(county_staff).units())
    assert unit in units
    assert other_unit not in units  # other_unit sits at city level (430100)


def test_a_cashier_sees_only_their_unit(cashier: Any, networked_unit: Any, unit: Any) -> None:
    scope = scope_for(cashier)
    assert list(scope.units()) == [networked_unit]
    assert scope.can(Permission.ISSUE)
    assert not scope.can(Permission.MANAGE_MASTERDATA)


def test_a_cashier_bound_to_an_issuing_point_sees_only_that_point(make_user: Any, networked_unit: Any) -> None:
    point = networked_unit.issuing_points.get(code="CK02")
    user = make_user("window2", "cashier", unit=networked_unit, issuing_point=point)
    assert list(scope_for(user).issuing_points()) == [point]


def test_another_units_receipt_is_not_found(other_cashier: Any) -> None:
    with pytest.raises(Http404):
        scope_for(other_cashier).receipt_or_404("43010126", 1)


def test_an_auditor_may_look_but_not_act(auditor: Any) -> None:
    scope = scope_for(auditor)
    assert scope.can(Permission.VIEW)
    assert scope.read_only
    with pytest.raises(PermissionDenied):
        scope.require(Permission.RED_OFFSET)


def test_only_the_province_approves(city_staff: Any, province_admin: Any, make_user: Any, province: Region) -> None:
    assert not scope_for(city_staff).can(Permission.APPROVE_APPLICATION)
    assert scope_for(province_admin).can(Permission.APPROVE_APPLICATION)
    province_staff = make_user("hunan_staff", "bureau_staff", region=province)
    assert scope_for(province_staff).can(Permission.APPROVE_APPLICATION)


def test_a_user_without_a_role_is_refused(db: Any) -> None:
    user = get_user_model().objects.create_user(username="nobody", password="x")
    with pytest.raises(PermissionDenied):
        scope_for(user)


def test_a_superuser_without_a_profile_acts_as_the_province(db: Any, province: Region, unit: Any) -> None:
    user = get_user_model().objects.create_superuser(username="root", password="x")
    scope = scope_for(user)
    assert scope.is_province
    assert unit in scope.units()
