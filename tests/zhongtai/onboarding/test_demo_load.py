"""The demo's onboarding states: a unit that has not applied with its administrator, realistic
states for the others, deadlines; loaded again, nothing changes."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from tests.zhongtai.onboarding.conftest import login, scope
from zhongtai.accounts.scoping import Permission
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata import demo_data as demo
from zhongtai.masterdata.models import Unit
from zhongtai.onboarding.demo import onboarding_demo_load
from zhongtai.onboarding.models import Application, CheckRecord, CredentialHandover, Deadline, Stage, UnitRollout
from zhongtai.onboarding.selectors import rollout_dashboard


@pytest.fixture(scope="class")
def demo_province(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", receipts=0, stdout=StringIO())
        yield
        transaction.set_rollback(True)


def stage(code: str) -> Stage:
    rollout = UnitRollout.objects.filter(unit__code=code).first()
    return rollout.stage if rollout else Stage.REGISTERED


@pytest.mark.usefixtures("demo_province")
@pytest.mark.django_db
class TestOnboardingDemo:
    def test_the_new_hospital_and_its_administrator_can_start(self) -> None:
        unit = Unit.objects.get(code="430102004")
        assert (unit.name, unit.connection_mode, unit.unit_type) == ("长沙市芙蓉区妇幼保健院", "interface", "hospital")
        assert set(unit.allowed_kinds.values_list("code", flat=True)) == {"0601", "0602"}
        assert unit.allowed_fee_items.exists() and unit.issuing_points.count() == 3
        assert not Application.objects.filter(unit=unit).exists() and stage(unit.code) == Stage.REGISTERED
        admin = get_user_model().objects.get(username="fuyou")
        assert admin.check_password(demo.DEMO_PASSWORD)
        assert scope(admin).unit_id == unit.pk and scope(admin).can(Permission.FILE_APPLICATION)
        page = login(admin).get("/workbench/")
        assert "提交对接申请" in page.content.decode()

    def test_the_other_units_stand_where_the_demo_says(self) -> None:
        assert stage(demo.DEMO_API_UNIT_CODE) == Stage.LIVE
        production = CredentialHandover.objects.get(application__unit__code=demo.DEMO_API_UNIT_CODE, sandbox=False)
        assert production.credential.app_id == demo.DEMO_API_APP_ID and not production.waiting
        assert stage("430300002") == Stage.JOINT_TEST
        assert set(CheckRecord.objects.filter(unit__code="430300002").values_list("item", flat=True)) == {
            "issued",
            "fetched",
        }
        assert stage("430100003") == Stage.PAPER_STOPPED  # a networked unit
        waiting = Application.objects.get(unit__code="430181001")
        assert waiting.status == Application.Status.SUBMITTED
        changsha = get_user_model().objects.get(username="changsha")
        assert waiting in login(changsha).get("/workbench/").context["awaiting"]
        hunan = get_user_model().objects.get(username="hunan")
        awaiting_province = set(login(hunan).get("/workbench/").context["awaiting"])
        assert {a.unit.code for a in awaiting_province} == {"430300001", "430800001"}
        assert Application.objects.get(unit__code="433100001").status == Application.Status.REJECTED
        # every demo credential made here is a real one of an interface unit
        assert not ApiCredential.objects.exclude(unit__connection_mode="interface").exists()

    def test_the_dashboard_shows_overdue_units(self) -> None:
        admin = get_user_model().objects.get(username="admin")
        dashboard = rollout_dashboard(scope=scope(admin), today=timezone.localdate())
        assert dashboard.total.registered == Unit.objects.exclude(status="cancelled").count()
        changsha = next(row for row in dashboard.rows if row.region.code == "430100")
        assert any(cell.late for cell in changsha.cells)
        assert Deadline.objects.filter(region__code="430100").exists()

    def test_loading_again_changes_nothing(self) -> None:
        counts = [m.objects.count() for m in (Application, CheckRecord, CredentialHandover, UnitRollout, Deadline)]
        assert onboarding_demo_load() == {}
        assert counts == [
            m.objects.count() for m in (Application, CheckRecord, CredentialHandover, UnitRollout, Deadline)
        ]
