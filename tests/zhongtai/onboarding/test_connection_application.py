"""The connection application (对接申请): filed by the unit, confirmed by its bureau, approved by
the province, which hands out sandbox credentials shown once."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from issuance.models import Receipt
from tests.conftest import nontax_payload
from tests.issuance.conftest import ISSUE
from tests.support.api import SignedClient
from tests.support.factories import UnitFactory
from tests.zhongtai.onboarding.conftest import connection_details, connection_form, login, scope
from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.crypto import secret_decrypt
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata.models import Region, Unit
from zhongtai.onboarding.errors import OnboardingError
from zhongtai.onboarding.models import Application, CredentialHandover, Stage, UnitRollout
from zhongtai.onboarding.services import (
    application_approve,
    application_confirm,
    application_file,
    application_reject,
    application_resubmit,
    credential_handover_reveal,
)

pytestmark = pytest.mark.django_db


def refused(code: OnboardingError, call: Any, **kwargs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


# --- filing --------------------------------------------------------------------------------


def test_the_unit_admin_files_a_connection_application_in_the_browser(hospital_admin: Any, unit: Unit) -> None:
    # given the interface unit's administrator on the form
    client = login(hospital_admin)
    assert client.get("/workbench/connection/new").status_code == 200

    # when the form is posted
    response = client.post("/workbench/connection/new", connection_form())

    # then the application is submitted, the unit counts as applied, and it is audited
    application = Application.objects.get(unit=unit, kind=Application.Kind.CONNECTION)
    assert response.status_code == 302 and response["Location"] == f"/workbench/applications/{application.pk}/"
    assert application.status == Application.Status.SUBMITTED
    assert (application.filed_by, application.system_vendor, application.expected_daily_volume) == (
        "hospital_admin",
        "东软集团股份有限公司",
        3000,
    )
    assert UnitRollout.objects.get(pk=unit.pk).stage == Stage.APPLIED
    assert AuditEvent.objects.filter(action="onboarding.application_file", object_id=str(application.pk)).exists()


def test_an_incomplete_form_is_refused_with_the_field_named(hospital_admin: Any, unit: Unit) -> None:
    response = login(hospital_admin).post("/workbench/connection/new", connection_form(system_vendor=""))
    assert response.status_code == 400
    assert "system_vendor" in response.context["form"].errors
    assert not Application.objects.exists()


def test_a_networked_unit_files_no_connection_application(unit_admin: Any, networked_unit: Unit) -> None:
    # given the networked unit's administrator (files applications, but has no system to connect)
    refused(
        OnboardingError.NOT_INTERFACE_UNIT,
        application_file,
        scope=scope(unit_admin),
        unit=networked_unit,
        kind=Application.Kind.CONNECTION,
        details=connection_details(),
    )
    assert not Application.objects.exists()


def test_a_second_connection_application_is_refused(filed_connection: Application, hospital_admin: Any) -> None:
    refused(
        OnboardingError.APPLICATION_EXISTS,
        application_file,
        scope=scope(hospital_admin),
        unit=filed_connection.unit,
        kind=Application.Kind.CONNECTION,
        details=connection_details(),
    )
    # and the database refuses it too
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(
            unit=filed_connection.unit,
            kind=Application.Kind.CONNECTION,
            filed_by="x",
            submitted_at=filed_connection.submitted_at,
            **{k: v for k, v in connection_details().__dict__.items()},
        )


def test_a_cashier_and_bureau_staff_cannot_file(cashier: Any, city_staff: Any) -> None:
    assert login(cashier).get("/workbench/connection/new").status_code == 403
    assert login(city_staff).post("/workbench/connection/new", connection_form()).status_code == 403


# --- confirmation ---------------------------------------------------------------------------


def test_changsha_confirms_a_furong_units_application(filed_connection: Application, city_staff: Any) -> None:
    # given a Furong unit's application waiting on Changsha's list
    client = login(city_staff)
    home = client.get("/workbench/")
    assert list(home.context["awaiting"]) == [filed_connection]

    # when Changsha confirms it
    response = client.post(f"/workbench/applications/{filed_connection.pk}/confirm")

    # then it waits for the province
    assert response.status_code == 302
    filed_connection.refresh_from_db()
    assert filed_connection.status == Application.Status.CONFIRMED
    assert filed_connection.confirmed_by == "changsha_staff"
    assert AuditEvent.objects.filter(action="onboarding.application_confirm").count() == 1
    assert list(client.get("/workbench/").context["awaiting"]) == []


def test_furong_confirms_too(filed_connection: Application, county_staff: Any) -> None:
    application_confirm(scope=scope(county_staff), application=filed_connection)
    filed_connection.refresh_from_db()
    assert filed_connection.status == Application.Status.CONFIRMED


def test_zhuzhou_staff_do_not_find_a_changsha_application(filed_connection: Application, zhuzhou_staff: Any) -> None:
    client = login(zhuzhou_staff)
    for url in (
        f"/workbench/applications/{filed_connection.pk}/",
        f"/workbench/applications/{filed_connection.pk}/confirm",
        f"/workbench/applications/{filed_connection.pk}/reject",
    ):
        method = client.get if url.endswith("/") else client.post
        assert method(url).status_code == 404, url
    assert list(client.get("/workbench/").context["awaiting"]) == []
    filed_connection.refresh_from_db()
    assert filed_connection.status == Application.Status.SUBMITTED


def test_the_province_does_not_confirm_for_a_city_unit(filed_connection: Application, province_admin: Any) -> None:
    # given a Furong unit's application: confirmation is Changsha's or Furong's step
    refused(
        OnboardingError.NOT_YOUR_STEP, application_confirm, scope=scope(province_admin), application=filed_connection
    )
    assert list(login(province_admin).get("/workbench/").context["awaiting"]) == []


def test_the_province_confirms_for_a_province_level_unit(
    make_user: Any, province: Region, province_admin: Any, province_staff: Any
) -> None:
    # given a unit directly under the province, with its administrator's application
    hospital = UnitFactory(code="430000001", name="湖南省人民医院", region=province)
    admin = make_user("prov_hospital_admin", "unit_admin", unit=hospital)
    application = application_file(
        scope=scope(admin), unit=hospital, kind=Application.Kind.CONNECTION, details=connection_details()
    )
    # when one province user confirms and another approves
    application_confirm(scope=scope(province_staff), application=application)
    application = application_approve(scope=scope(province_admin), application=application)
    # then it is approved
    assert application.status == Application.Status.APPROVED
    assert (application.confirmed_by, application.approved_by) == ("province_staff", "province_admin")


def test_nobody_approves_what_they_confirmed(make_user: Any, province: Region, province_staff: Any) -> None:
    hospital = UnitFactory(code="430000001", name="湖南省人民医院", region=province)
    admin = make_user("prov_hospital_admin", "unit_admin", unit=hospital)
    application = application_file(
        scope=scope(admin), unit=hospital, kind=Application.Kind.CONNECTION, details=connection_details()
    )
    application_confirm(scope=scope(province_staff), application=application)
    refused(OnboardingError.SAME_PERSON, application_approve, scope=scope(province_staff), application=application)
    # and the database refuses it as well
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(
            status=Application.Status.APPROVED, approved_by="province_staff", approved_at=application.submitted_at
        )


def test_the_filer_cannot_confirm_in_the_database(filed_connection: Application) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=filed_connection.pk).update(
            status=Application.Status.CONFIRMED,
            confirmed_by=filed_connection.filed_by,
            confirmed_at=filed_connection.submitted_at,
        )


# --- approval --------------------------------------------------------------------------------


def test_city_staff_cannot_approve(confirmed_connection: Application, city_staff: Any) -> None:
    response = login(city_staff).post(f"/workbench/applications/{confirmed_connection.pk}/approve")
    assert response.status_code == 403
    confirmed_connection.refresh_from_db()
    assert confirmed_connection.status == Application.Status.CONFIRMED
    assert not ApiCredential.objects.exists()


def test_the_province_approves_and_sandbox_credentials_work_against_the_api(
    confirmed_connection: Application, province_admin: Any, hospital_admin: Any, unit: Unit, pki: Any
) -> None:
    # given the confirmed application on the province's list
    client = login(province_admin)
    assert list(client.get("/workbench/").context["awaiting"]) == [confirmed_connection]

    # when the province approves it
    response = client.post(f"/workbench/applications/{confirmed_connection.pk}/approve")

    # then sandbox credentials exist, waiting for the unit, and the unit is in joint test
    assert response.status_code == 302
    confirmed_connection.refresh_from_db()
    assert confirmed_connection.status == Application.Status.APPROVED
    handover = CredentialHandover.objects.select_related("credential").get(application=confirmed_connection)
    credential = handover.credential
    assert credential.sandbox and handover.sandbox and handover.waiting
    assert credential.unit == unit and credential.status == ApiCredential.Status.ACTIVE
    assert UnitRollout.objects.get(pk=unit.pk).stage == Stage.JOINT_TEST
    # and the province never sees the secret
    assert "查看密钥" not in client.get(f"/workbench/applications/{confirmed_connection.pk}/").content.decode()

    # when the unit's administrator reveals it
    reveal = login(hospital_admin).post(f"/workbench/applications/{confirmed_connection.pk}/reveal")
    secret = reveal.context["secret"]

    # then it signs requests that the API accepts, and what it issues is a sandbox receipt
    assert reveal.status_code == 200 and reveal["Cache-Control"] == "no-store"
    answer = SignedClient(credential.app_id, secret).post(ISSUE, nontax_payload("SANDBOX1"))
    assert answer.status_code == 201, answer.json()
    assert Receipt.objects.get(bus_no="SANDBOX1").sandbox is True


def test_the_secret_is_shown_once_then_erased(approved_connection: Application, hospital_admin: Any) -> None:
    # given approved credentials waiting for the unit
    handover = approved_connection.handover
    client = login(hospital_admin)
    detail = client.get(f"/workbench/applications/{approved_connection.pk}/").content.decode()
    assert "查看密钥（仅显示一次）" in detail

    # when the unit administrator reveals the secret
    first = client.post(f"/workbench/applications/{approved_connection.pk}/reveal")

    # then it is the credential's secret, and the handover row keeps nothing of it
    assert secret_decrypt(handover.credential.secret_encrypted) == first.context["secret"]
    assert first.context["secret"] in first.content.decode()
    handover.refresh_from_db()
    assert handover.secret_encrypted == "" and handover.revealed_by == "hospital_admin"
    assert AuditEvent.objects.filter(action="onboarding.credential_reveal").count() == 1

    # and a second reveal is refused, without the secret
    second = client.post(f"/workbench/applications/{approved_connection.pk}/reveal", follow=True)
    page = second.content.decode()
    assert first.context["secret"] not in page and "不能再次显示" in page
    refused(
        OnboardingError.SECRET_ALREADY_REVEALED,
        credential_handover_reveal,
        scope=scope(hospital_admin),
        handover=handover,
    )
    assert AuditEvent.objects.filter(action="onboarding.credential_reveal").count() == 1


def test_only_the_units_administrator_reveals(
    approved_connection: Application, city_staff: Any, province_admin: Any, auditor: Any, make_user: Any, unit: Unit
) -> None:
    url = f"/workbench/applications/{approved_connection.pk}/reveal"
    cashier = make_user("hospital_cashier", "cashier", unit=unit)
    for user in (city_staff, province_admin, auditor, cashier):
        assert login(user).post(url).status_code == 403, user
    refused(
        OnboardingError.NOT_YOUR_STEP,
        credential_handover_reveal,
        scope=scope(city_staff),
        handover=approved_connection.handover,
    )
    approved_connection.handover.refresh_from_db()
    assert approved_connection.handover.waiting


def test_another_units_admin_does_not_find_the_application(approved_connection: Application, unit_admin: Any) -> None:
    client = login(unit_admin)  # the networked unit's administrator
    assert client.get(f"/workbench/applications/{approved_connection.pk}/").status_code == 404
    assert client.post(f"/workbench/applications/{approved_connection.pk}/reveal").status_code == 404


# --- rejection and resubmission -----------------------------------------------------------------


def test_rejection_needs_a_reason_and_resubmission_starts_again(
    filed_connection: Application, city_staff: Any, hospital_admin: Any, county_staff: Any
) -> None:
    # given Changsha on the application's page
    client = login(city_staff)
    url = f"/workbench/applications/{filed_connection.pk}/reject"

    # when it rejects without a reason / then nothing changes
    assert client.post(url, {"reason": " "}).status_code == 400
    refused(
        OnboardingError.REASON_REQUIRED,
        application_reject,
        scope=scope(city_staff),
        application=filed_connection,
        reason="",
    )
    # when it rejects with a reason
    client.post(url, {"reason": "技术联系电话有误"})
    filed_connection.refresh_from_db()
    assert (filed_connection.status, filed_connection.rejection_reason) == (
        Application.Status.REJECTED,
        "技术联系电话有误",
    )

    # then the unit sees the reason and resubmits the corrected application
    admin = login(hospital_admin)
    detail = admin.get(f"/workbench/applications/{filed_connection.pk}/")
    assert "技术联系电话有误" in detail.content.decode() and detail.context["can_resubmit"]
    form = admin.get(f"/workbench/applications/{filed_connection.pk}/resubmit")
    assert form.context["form"].initial["tech_phone"] == "13900001111"
    admin.post(f"/workbench/applications/{filed_connection.pk}/resubmit", connection_form(tech_phone="13900002222"))
    filed_connection.refresh_from_db()
    assert filed_connection.status == Application.Status.SUBMITTED
    assert (filed_connection.tech_phone, filed_connection.resubmissions) == ("13900002222", 1)
    assert filed_connection.rejection_reason == "" and filed_connection.rejected_at is None
    # and the history keeps the reason
    event = AuditEvent.objects.get(action="onboarding.application_resubmit")
    assert event.data["previous_reason"] == "技术联系电话有误"
    # and the county may confirm the new round
    application_confirm(scope=scope(county_staff), application=filed_connection)


def test_the_province_rejects_at_its_step(confirmed_connection: Application, province_admin: Any) -> None:
    application_reject(
        scope=scope(province_admin), application=confirmed_connection, reason="请补充系统安全等级保护备案"
    )
    confirmed_connection.refresh_from_db()
    assert confirmed_connection.status == Application.Status.REJECTED
    assert confirmed_connection.confirmed_by == "changsha_staff"  # who confirmed stays visible
    assert not ApiCredential.objects.exists()


def test_only_a_rejected_application_is_resubmitted(filed_connection: Application, hospital_admin: Any) -> None:
    refused(
        OnboardingError.APPLICATION_STATE,
        application_resubmit,
        scope=scope(hospital_admin),
        application=filed_connection,
        details=connection_details(),
    )
    assert login(hospital_admin).get(f"/workbench/applications/{filed_connection.pk}/resubmit").status_code == 403


def test_an_auditor_sees_the_application_but_every_post_is_403(confirmed_connection: Application, auditor: Any) -> None:
    client = login(auditor)
    page = client.get(f"/workbench/applications/{confirmed_connection.pk}/")
    assert page.status_code == 200
    assert not (page.context["can_confirm"] or page.context["can_approve"] or page.context["can_reject"])
    for action in ("confirm", "approve", "reject", "reveal"):
        response = client.post(f"/workbench/applications/{confirmed_connection.pk}/{action}", {"reason": "x"})
        assert response.status_code == 403, action
    confirmed_connection.refresh_from_db()
    assert confirmed_connection.status == Application.Status.CONFIRMED


def test_decisions_need_post(filed_connection: Application, city_staff: Any) -> None:
    client = login(city_staff)
    assert client.get(f"/workbench/applications/{filed_connection.pk}/confirm").status_code == 405
    assert client.post(f"/workbench/applications/{filed_connection.pk}/").status_code == 405


def test_a_second_approval_is_refused(approved_connection: Application, province_staff: Any) -> None:
    refused(
        OnboardingError.APPLICATION_STATE,
        application_approve,
        scope=scope(province_staff),
        application=approved_connection,
    )
    assert ApiCredential.objects.count() == 1


def test_approval_with_a_hosted_key_gives_the_unit_a_signing_certificate(
    confirmed_connection: Application, province_admin: Any, unit: Unit, province: Any
) -> None:
    # given the CA runs and the application chose a hosted key (the default of connection_details)
    from zhongtai.audit.services import Actor
    from zhongtai.signing.selectors import certificate_current_for_unit
    from zhongtai.signing.services import ca_bootstrap

    ca_bootstrap(province=province, actor=Actor.system("tests"))
    assert confirmed_connection.key_custody == Application.KeyCustody.HOSTED
    assert certificate_current_for_unit(unit=unit) is None
    # when the province approves
    application_approve(scope=scope(province_admin), application=confirmed_connection)
    # then the platform holds the unit's key and can sign its sandbox receipts
    certificate = certificate_current_for_unit(unit=unit)
    assert certificate is not None and certificate.private_key_sealed
