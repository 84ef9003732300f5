"""``manage.py load_demo`` builds a valid, idempotent demo province; ``demo_logins`` shows how to use it."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Model, Sum
from django.test import override_settings
from django.utils import timezone

from issuance.models import Receipt, ReceiptItem
from issuance.rules import id_card_valid
from tests.support.api import SignedClient
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata import demo_data as demo
from zhongtai.masterdata.kind_fields import MEDICAL_SPLIT_FIELDS
from zhongtai.masterdata.models import (
    FeeItem,
    FeeStandard,
    FinanceBureau,
    IssuingPoint,
    ReceiptKind,
    Region,
    Unit,
)
from zhongtai.masterdata.selectors import fee_standards_for
from zhongtai.masterdata.validators import credit_code_problem
from zhongtai.numbering.models import NumberRange, NumberSequence

pytestmark = pytest.mark.django_db
DEMO_RECEIPTS = 50

CITY_CODES = {
    "430100",
    "430200",
    "430300",
    "430400",
    "430500",
    "430600",
    "430700",
    "430800",
    "430900",
    "431000",
    "431100",
    "431200",
    "431300",
    "433100",
}


def load_demo(receipts: int = 0) -> str:
    out = StringIO()
    call_command("load_demo", receipts=receipts, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="class")
def demo_province(request: Any, django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """The demo loaded into an empty database, rolled back after the class."""
    with django_db_blocker.unblock(), transaction.atomic():
        request.cls.output = load_demo(receipts=DEMO_RECEIPTS)
        yield
        transaction.set_rollback(True)


def snapshot() -> dict[str, int]:
    models: list[type[Model]] = [
        Region,
        FinanceBureau,
        ReceiptKind,
        FeeItem,
        FeeStandard,
        Unit,
        IssuingPoint,
        NumberRange,
        ApiCredential,
        Receipt,
        ReceiptItem,
        get_user_model(),
    ]
    counts = {model.__name__: model._default_manager.count() for model in models}
    counts["unit_kinds"] = Unit.allowed_kinds.through.objects.count()
    counts["unit_items"] = Unit.allowed_fee_items.through.objects.count()
    counts["item_kinds"] = FeeItem.kinds.through.objects.count()
    return counts


@pytest.mark.usefixtures("demo_province")
class TestDemoProvince:
    """Loaded once (with 50 receipts) for the whole class; each test runs in its own savepoint."""

    output = ""

    def test_load_demo_builds_the_province_of_hunan(self) -> None:
        # given an empty database / when the demo is loaded (the class fixture)

        # then Hunan has its 14 prefecture-level divisions, each with counties and bureaus
        province = Region.objects.get(code="430000")
        assert (province.name, province.bureau.name) == ("湖南省", "湖南省财政厅")
        cities = Region.objects.filter(level=Region.Level.CITY)
        assert set(cities.values_list("code", flat=True)) == CITY_CODES
        assert Region.objects.get(code="433100").name == "湘西土家族苗族自治州"
        for city in cities:
            assert 2 <= city.children.count() <= 4
        assert Region.objects.get(code="430102").bureau.name == "芙蓉区财政局"
        assert FinanceBureau.objects.count() == Region.objects.count()
        # and the kinds, fee items and units of a realistic province
        assert ReceiptKind.objects.count() == 10
        assert FeeItem.objects.count() >= 100
        assert Unit.objects.count() >= 40
        assert set(Unit.objects.values_list("unit_type", flat=True)) == set(Unit.UnitType.values)
        assert "演示数据已就绪" in self.output

    def test_demo_master_data_passes_model_validation(self) -> None:
        # given the loaded demo

        # then every row passes the models' own validation
        for model in (Region, FinanceBureau, ReceiptKind, FeeItem, FeeStandard, Unit, IssuingPoint):
            for obj in model.objects.all():
                obj.full_clean()
        # and credit codes are valid, registered in the unit's region, by the right authority
        for unit in Unit.objects.select_related("region"):
            assert credit_code_problem(unit.credit_code) is None, unit
            assert unit.credit_code[2:8] == unit.region.code
            expected = (
                "5" if unit.code in {s.code for s in demo.UNITS if s.registration == demo.REG_SOCIAL_GROUP} else "1"
            )
            assert unit.credit_code[0] == expected
            assert unit.code.startswith(unit.region.code) and len(unit.code) == 9
            assert unit.payee_name and unit.payee_account and unit.payee_bank
            assert 1 <= unit.issuing_points.count() <= 3

    def test_fee_items_fit_their_kinds_and_units_get_only_fitting_items(self) -> None:
        # given the loaded demo

        # then every fee item names its kinds and has a province-wide standard
        for item in FeeItem.objects.prefetch_related("kinds", "standards"):
            assert item.kinds.exists(), item
            assert any(s.region_id is None for s in item.standards.all()), item
            assert item.income_class and item.fund_nature and item.unit_of_measure
        # and every item a unit may charge fits one of the unit's kinds
        for unit in Unit.objects.prefetch_related("allowed_kinds", "allowed_fee_items__kinds"):
            unit_kinds = set(unit.allowed_kinds.all())
            assert unit_kinds, unit
            assert unit.allowed_fee_items.exists(), unit
            for item in unit.allowed_fee_items.all():
                assert set(item.kinds.all()) & unit_kinds, (unit, item)
        # and the medical items carry the codes of the medical receipt layout
        medical = set(FeeItem.objects.filter(kinds__is_medical=True).values_list("code", flat=True))
        assert {"C0103", "C0104", "C0105", "C0107", "C0108", "C0109", "C0112", "C0114", "C0115"} <= medical
        assert not set(FeeItem.objects.filter(kinds__code="0101").values_list("code", flat=True)) & medical

    def test_kinds_require_their_fields(self) -> None:
        required = dict(ReceiptKind.objects.values_list("code", "required_fields"))
        assert {"admissionDate", "dischargeDate", "visitNumber", "department"} <= set(required["0602"])
        assert {"payer.code", "donationPurpose"} <= set(required["0301"])
        assert {"payer.code", "caseNumber"} <= set(required["0102"])
        assert "decisionNumber" in required["0103"]
        assert "membershipPeriod" in required["0401"]
        assert "houseAddress" in required["0701"]
        assert ReceiptKind.objects.get(code="0101").name == "非税收入统一票据"

    def test_a_city_standard_wins_over_the_province_standard(self) -> None:
        # given the demo, with a Changsha standard for the bed fee
        bed = FeeItem.objects.get(code="C0114")
        today = timezone.localdate()

        # when the standards in force are looked up for a Changsha district and for Zhuzhou
        in_changsha = fee_standards_for(fee_item_ids=[bed.pk], region_code="430102", day=today)[bed.pk]
        in_zhuzhou = fee_standards_for(fee_item_ids=[bed.pk], region_code="430211", day=today)[bed.pk]

        # then the most specific one applies
        assert in_changsha.region is not None and in_changsha.region.code == "430100"
        assert in_zhuzhou.region is None

    def test_well_known_units_and_demo_accounts(self) -> None:
        api_unit = Unit.objects.get(code=demo.DEMO_API_UNIT_CODE)
        assert api_unit.name == "长沙市芙蓉区人民医院"
        assert (api_unit.unit_type, api_unit.connection_mode, api_unit.numbering_mode) == (
            "hospital",
            "interface",
            "auto",
        )
        credential = ApiCredential.objects.get(app_id=demo.DEMO_API_APP_ID)
        assert credential.unit == api_unit
        admin = get_user_model().objects.get(username="admin")
        assert admin.is_superuser and admin.check_password(demo.DEMO_PASSWORD)
        city_user = get_user_model().objects.get(username="changsha")
        assert city_user.is_staff and not city_user.is_superuser and city_user.check_password(demo.DEMO_PASSWORD)
        # bureau staff manage their region's master data (scoped in the admin) but never delete it
        assert city_user.has_perm("masterdata.change_unit") and not city_user.has_perm("masterdata.delete_unit")
        assert city_user.profile.region.code == "430100" and city_user.profile.totp_enabled

    def test_demo_logins_have_their_roles_scopes_and_second_factor(self) -> None:
        # given the loaded demo / then every demo login exists with its role and scope
        from zhongtai.accounts.models import Profile

        expected = {
            "admin": ("province_admin", "430000", None, None, True),
            "hunan": ("bureau_staff", "430000", None, None, True),
            "changsha": ("bureau_staff", "430100", None, None, True),
            "furong": ("bureau_staff", "430102", None, None, True),
            "auditor": ("auditor", "430100", None, None, False),
            "unitadmin": ("unit_admin", None, "430102003", None, False),
            "cashier": ("cashier", None, "430102003", "HZ01", False),
            "cashier2": ("cashier", None, "430103001", None, False),
        }
        profiles = Profile.objects.select_related("user", "region", "unit", "issuing_point").filter(
            user__username__in=expected
        )
        found = {
            p.user.username: (
                p.role,
                p.region.code if p.region else None,
                p.unit.code if p.unit else None,
                p.issuing_point.code if p.issuing_point else None,
                p.totp_enabled,
            )
            for p in profiles
        }
        assert found == expected
        assert {u.username for u in demo.DEMO_USERS} == set(expected)
        for profile in profiles:
            assert profile.user.check_password(demo.DEMO_PASSWORD)
            assert profile.user.is_staff == (profile.role in {"province_admin", "bureau_staff"})
        assert Unit.objects.get(code="430102003").connection_mode == Unit.ConnectionMode.NETWORKED
        assert Unit.objects.get(code="430103001").connection_mode == Unit.ConnectionMode.NETWORKED

    def test_units_hold_paper_stock_except_those_that_stopped_paper(self) -> None:
        from issuance.paper.selectors import paper_stock_summary
        from zhongtai.onboarding.models import UnitRollout

        # the demo cashier's unit can convert receipts to paper
        cashier_unit = Unit.objects.get(code="430102003")
        assert sum(row.on_hand for row in paper_stock_summary(unit=cashier_unit)) == 1_000
        # units whose paper receipts were stopped had their blank forms retired (核销清理)
        stopped = UnitRollout.objects.filter(paper_stopped_at__isnull=False).select_related("unit")
        assert stopped.exists()
        for rollout in stopped:
            assert sum(row.on_hand for row in paper_stock_summary(unit=rollout.unit)) == 0

    def test_range_unit_holds_numbers_handed_down_province_city_unit(self) -> None:
        # given the loaded demo / then the range-numbered unit holds a block from its city's block,
        # which comes from a block the province reserved
        unit = Unit.objects.get(code=demo.DEMO_RANGE_UNIT_CODE)
        assert unit.numbering_mode == Unit.NumberingMode.RANGE
        unit_range = NumberRange.objects.get(unit=unit)
        assert unit_range.parent is not None and unit_range.parent.region is not None
        assert unit_range.parent.region.code == "430100"
        assert unit_range.parent.parent is not None and unit_range.parent.parent.region.code == "430000"

    def test_running_load_demo_again_changes_nothing(self) -> None:
        # given the loaded demo
        before = snapshot()

        # when it is loaded again, asking for as many receipts
        output = load_demo(receipts=DEMO_RECEIPTS)

        # then no row is added and nothing fails
        assert snapshot() == before
        assert before["Receipt"] == DEMO_RECEIPTS
        assert "本次新增 0" in output
        assert "本次新增 1" not in output

    def test_demo_receipts_are_valid_and_numbered_without_gaps(self) -> None:
        # given the demo loaded with 50 receipts
        # then there are 50 demo receipts over several units, each adding up
        receipts = Receipt.objects.filter(source=Receipt.Source.DEMO).prefetch_related("items").select_related("kind")
        assert receipts.count() == DEMO_RECEIPTS
        assert receipts.values("unit").distinct().count() >= 10
        today = timezone.localdate()
        for receipt in receipts:
            assert sum(i.amount for i in receipt.items.all()) == receipt.total_amount > 0
            for item in receipt.items.all():
                assert item.amount == (item.quantity * item.standard).quantize(Decimal("0.01"))
            if receipt.kind.is_medical:
                split = [Decimal(receipt.ext[name]) for name in MEDICAL_SPLIT_FIELDS]
                assert sum(split) == receipt.total_amount
            if len(receipt.payer_code) == 18 and receipt.payer_type == 1:
                assert id_card_valid(receipt.payer_code)
            assert receipt.bus_date <= receipt.issue_date <= today
            assert receipt.issue_date >= today - datetime.timedelta(days=90)
            assert receipt.issue_date.year == today.year
            assert receipt.issue_date == timezone.localdate(receipt.issued_at)
            assert receipt.receipt_code == f"43{receipt.kind.code}{today.year % 100:02d}"
        # and numbers run without gaps: every number below a code's next number is issued
        # or still held in a number range
        for sequence in NumberSequence.objects.all():
            issued = list(Receipt.objects.filter(receipt_code=sequence.receipt_code).values_list("number", flat=True))
            assert len(issued) == len(set(issued))
            reserved: set[int] = set()
            for block in NumberRange.objects.filter(receipt_code=sequence.receipt_code, parent__isnull=True):
                reserved |= set(range(block.start_number, block.end_number + 1))
            auto = set(
                Receipt.objects.filter(receipt_code=sequence.receipt_code, unit__numbering_mode="auto").values_list(
                    "number", flat=True
                )
            )
            assert auto | reserved == set(range(1, sequence.next_number))
            assert not auto & reserved
        for block in NumberRange.objects.filter(unit__isnull=False):
            numbers = set(
                Receipt.objects.filter(receipt_code=block.receipt_code, unit=block.unit).values_list(
                    "number", flat=True
                )
            )
            assert numbers == set(range(block.start_number, block.cursor))

    def test_demo_receipt_numbers_follow_issue_time(self) -> None:
        # given demo receipts spread over past days
        assert Receipt.objects.values("issue_date").distinct().count() > 1

        # then within a receipt code, a later number is never issued earlier
        rows: dict[tuple[str, str], list[tuple[int, datetime.datetime]]] = defaultdict(list)
        for code, mode, number, issued_at in Receipt.objects.values_list(
            "receipt_code", "unit__numbering_mode", "number", "issued_at"
        ):
            rows[(code, mode)].append((number, issued_at))
        for series in rows.values():
            times = [issued_at for _, issued_at in sorted(series)]
            assert times == sorted(times)

    def test_demo_receipt_totals_match_their_items(self) -> None:
        totals = Receipt.objects.aggregate(total=Sum("total_amount"))["total"]
        assert totals == ReceiptItem.objects.aggregate(total=Sum("amount"))["total"]

    def test_asking_for_more_receipts_adds_only_the_missing_ones_after_the_others(self) -> None:
        # given the demo's receipts
        latest = max(Receipt.objects.values_list("issued_at", flat=True))
        before = snapshot()

        # when 10 more are asked for
        load_demo(receipts=DEMO_RECEIPTS + 10)

        # then 10 are issued, none before the existing ones, and no master data is added
        after = snapshot()
        assert after["Receipt"] == DEMO_RECEIPTS + 10
        assert Receipt.objects.filter(issued_at__gt=latest).count() == 10
        assert {k: v for k, v in after.items() if k not in ("Receipt", "ReceiptItem")} == {
            k: v for k, v in before.items() if k not in ("Receipt", "ReceiptItem")
        }

    def test_demo_credentials_authenticate_against_the_api(self) -> None:
        # given the demo with receipts of the demo hospital
        unit = Unit.objects.get(code=demo.DEMO_API_UNIT_CODE)
        receipt = Receipt.objects.filter(unit=unit).first()
        assert receipt is not None
        client = SignedClient(demo.DEMO_API_APP_ID, demo.DEMO_API_SECRET)

        # when it lists its receipts of a business date with the demo credentials
        response = client.get(f"/api/v1/receipts?busDate={receipt.bus_date.isoformat()}")

        # then it is authenticated and sees its own receipts of that day
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["count"] == Receipt.objects.filter(unit=unit, bus_date=receipt.bus_date).count() >= 1

    def test_demo_logins_prints_addresses_logins_and_credentials(self, monkeypatch: Any) -> None:
        # given the demo and a server on port 9000
        monkeypatch.setenv("HOST", "0.0.0.0")
        monkeypatch.setenv("PORT", "9000")
        out = StringIO()

        # when the logins are printed
        call_command("demo_logins", stdout=out)

        # then the block names every address, login and the API credentials
        text = out.getvalue()
        for expected in (
            "http://127.0.0.1:9000/",
            "http://127.0.0.1:9000/admin/",
            "http://127.0.0.1:9000/api/docs/",
            "http://127.0.0.1:9000/api/schema/",
            "admin",
            "changsha",
            demo.DEMO_PASSWORD,
            demo.DEMO_API_APP_ID,
            demo.DEMO_API_SECRET,
            demo.DEMO_API_UNIT_CODE,
        ):
            assert expected in text
        assert "尚未创建" not in text


def test_load_demo_refuses_production_settings() -> None:
    # given production settings / when the demo is loaded / then it is refused and nothing is written
    with override_settings(SETTINGS_MODULE="config.settings.production"), pytest.raises(CommandError):
        load_demo()
    assert not Region.objects.exists()
    assert not get_user_model().objects.filter(username="admin").exists()


def test_demo_logins_says_when_the_demo_is_not_loaded() -> None:
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "http://127.0.0.1:8000/admin/" in out.getvalue()
    assert "尚未创建" in out.getvalue()
