"""Personas and steps of the onboarding tests.

The interface unit of tests/conftest.py (430102001, Furong district) gets its own unit
administrator here; the bureaus are Furong (county), Changsha (city), Zhuzhou (another
city) and the province.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.support.factories import RegionFactory
from zhongtai.accounts.scoping import Scope, scope_for
from zhongtai.masterdata.models import Region, Unit
from zhongtai.onboarding.models import Application
from zhongtai.onboarding.services import (
    ConnectionDetails,
    GoLiveDetails,
    application_approve,
    application_confirm,
    application_file,
)


def scope(user: Any) -> Scope:
    return scope_for(user)


def connection_details(**overrides: Any) -> ConnectionDetails:
    values: dict[str, Any] = {
        "system_name": "医院信息系统（HIS）",
        "system_vendor": "东软集团股份有限公司",
        "tech_contact": "王工",
        "tech_phone": "13900001111",
        "expected_daily_volume": 3000,
        "planned_date": timezone.localdate() + datetime.timedelta(days=30),
        "key_custody": Application.KeyCustody.HOSTED,
        "remark": "门诊、住院收费对接",
    }
    values.update(overrides)
    return ConnectionDetails(**values)


def connection_form(**overrides: Any) -> dict[str, Any]:
    """The connection form as a browser posts it."""
    details = connection_details()
    data = {**details.__dict__, "planned_date": details.planned_date.isoformat()}
    data.update(overrides)
    return data


def go_live_details() -> GoLiveDetails:
    return GoLiveDetails(planned_date=timezone.localdate() + datetime.timedelta(days=7), remark="全院切换")


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hospital_admin(make_user: Any, unit: Unit) -> Any:
    """The unit administrator of the interface unit 430102001 (长沙市芙蓉区人民医院)."""
    return make_user("hospital_admin", "unit_admin", unit=unit)


@pytest.fixture
def zhuzhou(province: Region) -> Region:
    return RegionFactory(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)


@pytest.fixture
def zhuzhou_staff(make_user: Any, zhuzhou: Region) -> Any:
    return make_user("zhuzhou_staff", "bureau_staff", region=zhuzhou)


@pytest.fixture
def province_staff(make_user: Any, province: Region) -> Any:
    """Province-level bureau staff: they approve like the province administrator."""
    return make_user("province_staff", "bureau_staff", region=province)


@pytest.fixture
def filed_connection(hospital_admin: Any, unit: Unit) -> Application:
    return application_file(
        scope=scope(hospital_admin), unit=unit, kind=Application.Kind.CONNECTION, details=connection_details()
    )


@pytest.fixture
def confirmed_connection(filed_connection: Application, city_staff: Any) -> Application:
    return application_confirm(scope=scope(city_staff), application=filed_connection)


@pytest.fixture
def approved_connection(confirmed_connection: Application, province_admin: Any) -> Application:
    return application_approve(scope=scope(province_admin), application=confirmed_connection)
