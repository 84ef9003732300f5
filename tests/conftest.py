"""Fixed personas: the province, a city and county, two interface units, their API clients."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.support.api import SignedClient
from tests.support.factories import (
    FeeItemFactory,
    FeeStandardFactory,
    FinanceBureauFactory,
    IssuingPointFactory,
    ReceiptKindFactory,
    RegionFactory,
    UnitFactory,
)
from zhongtai.audit.services import Actor
from zhongtai.gateway.models import ApiCredential
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.models import FeeStandard, Region, Unit

pytest_plugins = ["tests.support.natsim", "tests.support.parties"]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked ``postgres``/``redis`` run in the PostgreSQL + Redis pass of ``make test``.

    Tests marked ``browser`` need Chromium; without it they are skipped, except under CI=true,
    where they run and fail.
    """
    from django.conf import settings

    from tests.support.browser import chromium_available, chromium_path, ci

    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    skip_pg = pytest.mark.skip(reason="runs in the PostgreSQL pass of make test")
    skip_redis = pytest.mark.skip(reason="runs in the Redis pass of make test")
    skip_browser = pytest.mark.skip(reason=f"no Chromium at {chromium_path()} (bin/ensure_test_browser.sh installs it)")
    no_browser = not chromium_available() and not ci()
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(skip_redis)
        if "browser" in item.keywords and no_browser:
            item.add_marker(skip_browser)


@pytest.fixture
def province(db: Any) -> Region:
    region = RegionFactory(code="430000", name="湖南省", level=Region.Level.PROVINCE)
    FinanceBureauFactory(region=region, name="湖南省财政厅")
    return region


@pytest.fixture
def changsha(province: Region) -> Region:
    return RegionFactory(code="430100", name="长沙市", level=Region.Level.CITY, parent=province)


@pytest.fixture
def furong(changsha: Region) -> Region:
    return RegionFactory(code="430102", name="芙蓉区", level=Region.Level.COUNTY, parent=changsha)


@pytest.fixture
def kind_nontax(db: Any) -> Any:
    return ReceiptKindFactory(name="非税收入统一票据", category_code="01", kind_code="01", specimen_code="FS0101")


@pytest.fixture
def kind_outpatient(db: Any) -> Any:
    return ReceiptKindFactory(
        name="医疗门诊收费票据",
        category_code="06",
        kind_code="01",
        specimen_code="YL0601",
        is_medical=True,
        required_fields=["visitNumber", "department", "medicalInsuranceType"],
    )


@pytest.fixture
def fee_fixed(kind_nontax: Any) -> Any:
    item = FeeItemFactory(code="F0001", name="证书工本费", unit_of_measure="本")
    FeeStandardFactory(fee_item=item, mode=FeeStandard.Mode.FIXED, amount=Decimal("10.00"))
    return item


@pytest.fixture
def fee_range(kind_nontax: Any) -> Any:
    item = FeeItemFactory(code="F0002", name="考试考务费", unit_of_measure="人·科")
    FeeStandardFactory(
        fee_item=item, mode=FeeStandard.Mode.RANGE, amount=None, min_amount=Decimal("5.00"), max_amount=Decimal("50.00")
    )
    return item


@pytest.fixture
def fee_medical(kind_outpatient: Any) -> Any:
    item = FeeItemFactory(
        code="C0105", name="诊查费", unit_of_measure="次", income_class="医疗收入", fund_nature="单位自有资金"
    )
    item.kinds.add(kind_outpatient)
    FeeStandardFactory(
        fee_item=item,
        mode=FeeStandard.Mode.RANGE,
        amount=None,
        min_amount=Decimal("5.00"),
        max_amount=Decimal("100.00"),
    )
    return item


def _allow(unit: Unit, kinds: list[Any], items: list[Any]) -> Unit:
    unit.allowed_kinds.add(*kinds)
    unit.allowed_fee_items.add(*items)
    return unit


@pytest.fixture
def unit(
    furong: Region, kind_nontax: Any, kind_outpatient: Any, fee_fixed: Any, fee_range: Any, fee_medical: Any
) -> Unit:
    """An interface unit (a hospital in Furong district) allowed both kinds and all items."""
    created = UnitFactory(
        code="430102001",
        name="长沙市芙蓉区人民医院",
        region=furong,
        unit_type=Unit.UnitType.HOSPITAL,
        valid_from=datetime.date(2020, 1, 1),
    )
    IssuingPointFactory(unit=created, code="MZ01", name="门诊收费一号窗口")
    return _allow(created, [kind_nontax, kind_outpatient], [fee_fixed, fee_range, fee_medical])


@pytest.fixture
def other_unit(changsha: Region, kind_nontax: Any, fee_fixed: Any) -> Unit:
    created = UnitFactory(code="430100901", name="长沙市第一中学", region=changsha, unit_type=Unit.UnitType.SCHOOL)
    return _allow(created, [kind_nontax], [fee_fixed])


def _client(unit: Unit, scope: str = ApiCredential.Scope.ISSUE) -> SignedClient:
    issued = credential_create(unit=unit, actor=Actor.system("tests"), scope=scope)
    return SignedClient(issued.credential.app_id, issued.secret)


@pytest.fixture
def api(unit: Unit) -> SignedClient:
    return _client(unit)


@pytest.fixture
def other_api(other_unit: Unit) -> SignedClient:
    return _client(other_unit)


@pytest.fixture
def read_only_api(unit: Unit) -> SignedClient:
    return _client(unit, ApiCredential.Scope.READ)


def nontax_payload(bus_no: str = "BUS0001", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "busNo": bus_no,
        "kindCode": "0101",
        "issuingPointCode": "MZ01",
        "payer": {"type": 1, "name": "张三", "phone": "13800138000"},
        "items": [
            {"itemCode": "F0001", "quantity": "2", "standard": "10.00", "amount": "20.00"},
            {"itemCode": "F0002", "quantity": 1, "standard": "35.50", "amount": "35.50"},
        ],
        "totalAmount": "55.50",
        "payMode": "微信",
        "handlingPerson": "李收款",
        "checker": "王复核",
    }
    payload.update(overrides)
    return payload


def outpatient_payload(bus_no: str = "MZ0001", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "busNo": bus_no,
        "kindCode": "0601",
        "payer": {"type": 1, "name": "李四"},
        "items": [{"itemCode": "C0105", "quantity": "1", "standard": "25.00", "amount": "25.00"}],
        "totalAmount": "25.00",
        "ext": {
            "visitNumber": "MZ20261126001",
            "department": "内科",
            "medicalInsuranceType": "职工医保",
            "fundPay": "15.00",
            "personalAccountPay": "5.00",
            "personalCashPay": "5.00",
        },
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def pki(province: Region, unit: Unit) -> dict[str, Any]:
    """The province's CA, the unit's hosted signing certificate and the 财政监制 seal certificate."""
    from zhongtai.masterdata.models import FinanceBureau
    from zhongtai.signing.services import ca_bootstrap, certificate_issue_for_bureau, certificate_issue_for_unit

    actor = Actor.system("tests")
    hierarchy = ca_bootstrap(province=province, actor=actor)
    return {
        "ca": hierarchy,
        "unit_cert": certificate_issue_for_unit(unit=unit, actor=actor),
        "seal_cert": certificate_issue_for_bureau(bureau=FinanceBureau.objects.get(region=province), actor=actor),
    }


# --- Portal personas ---------------------------------------------------------------
# One user per role. Tests sign them in with ``client.force_login(user)``; the sign-in
# pages themselves (password, TOTP, lockout) are tested in tests/zhongtai/accounts/.


@pytest.fixture
def networked_unit(furong: Region, kind_nontax: Any, fee_fixed: Any, fee_range: Any) -> Unit:
    """A networked unit (联网单位) that issues in the browser, with two issuing points."""
    created = UnitFactory(
        code="430102002",
        name="长沙市芙蓉区不动产登记中心",
        region=furong,
        unit_type=Unit.UnitType.AGENCY,
        connection_mode=Unit.ConnectionMode.NETWORKED,
    )
    IssuingPointFactory(unit=created, code="CK01", name="一号收费窗口")
    IssuingPointFactory(unit=created, code="CK02", name="二号收费窗口")
    return _allow(created, [kind_nontax], [fee_fixed, fee_range])


@pytest.fixture
def networked_pki(pki: dict[str, Any], networked_unit: Unit) -> dict[str, Any]:
    """The ``pki`` fixture plus a hosted signing certificate for the networked unit."""
    from zhongtai.signing.services import certificate_issue_for_unit

    return {**pki, "networked_cert": certificate_issue_for_unit(unit=networked_unit, actor=Actor.system("tests"))}


@pytest.fixture
def make_user(db: Any) -> Any:
    """``make_user(username, role, region=..., unit=..., issuing_point=...)``: a user with a profile."""
    from zhongtai.accounts.services import user_create

    def make(username: str, role: str, **scope: Any) -> Any:
        # Through the service: bureau roles get is_staff and their permission group, as in production.
        return user_create(
            username=username,
            password="Test@2026pass",
            role=role,
            display_name=username,
            actor=Actor.system("tests"),
            **scope,
        )

    return make


@pytest.fixture
def cashier(make_user: Any, networked_unit: Unit) -> Any:
    """A cashier of the networked unit (all its issuing points)."""
    return make_user("cashier", "cashier", unit=networked_unit)


@pytest.fixture
def unit_admin(make_user: Any, networked_unit: Unit) -> Any:
    return make_user("unitadmin", "unit_admin", unit=networked_unit)


@pytest.fixture
def other_cashier(make_user: Any, other_unit: Unit) -> Any:
    """A cashier of another unit (Changsha No. 1 Middle School), who must see nothing of ours."""
    return make_user("cashier_b", "cashier", unit=other_unit)


@pytest.fixture
def city_staff(make_user: Any, changsha: Region) -> Any:
    """Changsha city finance bureau staff: sees Changsha and its districts."""
    return make_user("changsha_staff", "bureau_staff", region=changsha)


@pytest.fixture
def county_staff(make_user: Any, furong: Region) -> Any:
    return make_user("furong_staff", "bureau_staff", region=furong)


@pytest.fixture
def province_admin(make_user: Any, province: Region) -> Any:
    return make_user("province_admin", "province_admin", region=province)


@pytest.fixture
def auditor(make_user: Any, changsha: Region) -> Any:
    """A read-only auditor of the Changsha region."""
    return make_user("auditor", "auditor", region=changsha)
