"""The go-live application (上线申请): refused until the joint-test checklist is complete; on the
province's approval, production credentials shown once, and the unit counts as live."""

from __future__ import annotations

from typing import Any

import pytest

from issuance.models import Receipt
from tests.conftest import nontax_payload
from tests.issuance.conftest import ISSUE
from tests.support.api import SignedClient
from tests.zhongtai.onboarding.conftest import go_live_details, login, scope
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata.models import Unit
from zhongtai.onboarding.errors import OnboardingError
from zhongtai.onboarding.models import Application, CheckItem, Stage, UnitRollout
from zhongtai.onboarding.services import (
    application_confirm,
    application_file,
    checklist_record,
)

pytestmark = pytest.mark.django_db


def file_go_live(user: Any, unit: Unit) -> Application:
    return application_file(scope=scope(user), unit=unit, kind=Application.Kind.GO_LIVE, details=go_live_details())


def test_go_live_needs_an_approved_connection(filed_connection: Application, hospital_admin: Any, unit: Unit) -> None:
    with pytest.raises(ApplicationError) as caught:
        file_go_live(hospital_admin, unit)
    assert caught.value.code == OnboardingError.CONNECTION_NOT_APPROVED


def test_go_live_is_refused_until_the_checklist_is_complete_then_production_credentials(
    approved_connection: Application,
    hospital_admin: Any,
    city_staff: Any,
    province_admin: Any,
    unit: Unit,
    pki: Any,
) -> None:
    # given a unit in joint test that passed all but two items
    for item in (CheckItem.ISSUED, CheckItem.FETCHED, CheckItem.BATCH_ISSUED):
        checklist_record(unit=unit, item=item, app_id=approved_connection.handover.credential.app_id)

    # when it files the go-live application / then it is refused, naming what is missing
    with pytest.raises(ApplicationError) as caught:
        file_go_live(hospital_admin, unit)
    assert caught.value.code == OnboardingError.CHECKLIST_INCOMPLETE
    assert caught.value.extra["missing"] == ["red_offset", "reconciled"]
    assert "冲红、对账" in caught.value.message
    home = login(hospital_admin).get("/workbench/")
    assert not home.context["checklist_complete"]
    assert "联调测试未完成" in home.content.decode()
    response = login(hospital_admin).post("/workbench/go-live/new", {"planned_date": go_live_details().planned_date})
    assert response.status_code == 400 and "未通过：冲红、对账" in response.content.decode()
    assert not Application.objects.filter(kind=Application.Kind.GO_LIVE).exists()

    # when the last items pass, it files, Changsha confirms and the province approves
    for item in (CheckItem.RED_OFFSET, CheckItem.RECONCILED):
        checklist_record(unit=unit, item=item, app_id=approved_connection.handover.credential.app_id)
    response = login(hospital_admin).post(
        "/workbench/go-live/new", {"planned_date": go_live_details().planned_date, "remark": "全院切换"}
    )
    assert response.status_code == 302
    go_live = Application.objects.get(kind=Application.Kind.GO_LIVE)
    application_confirm(scope=scope(city_staff), application=go_live)
    login(province_admin).post(f"/workbench/applications/{go_live.pk}/approve")

    # then production credentials wait for the unit, and the unit is live
    go_live.refresh_from_db()
    assert go_live.status == Application.Status.APPROVED
    production = go_live.handover.credential
    assert not production.sandbox and production.status == ApiCredential.Status.ACTIVE
    rollout = UnitRollout.objects.get(pk=unit.pk)
    assert rollout.stage == Stage.LIVE and rollout.live_basis == UnitRollout.LiveBasis.GO_LIVE_APPROVAL

    # and the unit administrator reveals them once; they issue real (non-sandbox) receipts
    reveal = login(hospital_admin).post(f"/workbench/applications/{go_live.pk}/reveal")
    assert reveal.status_code == 200
    answer = SignedClient(production.app_id, reveal.context["secret"]).post(ISSUE, nontax_payload("LIVE0001"))
    assert answer.status_code == 201, answer.json()
    assert Receipt.objects.get(bus_no="LIVE0001").sandbox is False
    assert login(hospital_admin).post(f"/workbench/applications/{go_live.pk}/reveal").status_code == 302


def test_the_go_live_form_is_the_unit_admins(approved_connection: Application, city_staff: Any, auditor: Any) -> None:
    for user in (city_staff, auditor):
        assert login(user).get("/workbench/go-live/new").status_code == 403
