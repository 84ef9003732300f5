"""Stopping paper receipts (停用纸质票据) for a live unit, with the clean-up of its unused paper
stock (核销清理), through issuance.paper's real services."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from issuance.models import Receipt
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.services import paper_stock_receive, paper_use_void, receipt_paper_convert
from issuance.payload import parse_issue_input
from issuance.services import receipt_issue
from tests.conftest import nontax_payload
from tests.zhongtai.onboarding.conftest import login, scope
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit
from zhongtai.onboarding.errors import OnboardingError
from zhongtai.onboarding.models import Application, Stage, UnitRollout
from zhongtai.onboarding.services import (
    PaperStopDetails,
    application_confirm,
    application_file,
    unit_live_confirm,
)

pytestmark = pytest.mark.django_db
ACTOR = Actor.user("paper_clerk")


def stop_details() -> PaperStopDetails:
    return PaperStopDetails(planned_date=timezone.localdate(), remark="全面使用电子票据")


def portal_receipt(unit: Unit, bus_no: str, capture: Any) -> Receipt:
    """A receipt the networked unit issued in the portal, signed by the pipeline."""
    data, errors = parse_issue_input(nontax_payload(bus_no, issuingPointCode="CK01"), require_bus_no=False)
    assert data is not None, errors.fields
    with capture(execute=True):
        receipt, _ = receipt_issue(unit=unit, data=data, actor=ACTOR, source=Receipt.Source.PORTAL)
    receipt.refresh_from_db()
    return receipt


@pytest.fixture
def stock(networked_unit: Unit) -> PaperStock:
    """Ten paper forms 43010125 / 101-110 held by the networked unit."""
    return paper_stock_receive(
        unit=networked_unit, paper_code="43010125", start_number=101, end_number=110, actor=ACTOR
    )


@pytest.fixture
def issued_in_portal(networked_unit: Unit, networked_pki: Any, django_capture_on_commit_callbacks: Any) -> Receipt:
    return portal_receipt(networked_unit, "PORTAL1", django_capture_on_commit_callbacks)


def file_stop(user: Any, unit: Unit) -> Application:
    return application_file(scope=scope(user), unit=unit, kind=Application.Kind.PAPER_STOP, details=stop_details())


def test_a_networked_unit_that_issued_in_the_portal_stops_paper_with_clean_up(
    unit_admin: Any, city_staff: Any, networked_unit: Unit, stock: PaperStock, issued_in_portal: Receipt
) -> None:
    # given a networked unit that issued e-receipts in the portal, with ten blank paper forms,
    # one of them used for a paper copy that was recovered since
    use = receipt_paper_convert(receipt=issued_in_portal, actor=ACTOR)
    paper_use_void(use=use, reason=PaperUse.VoidReason.RECOVERED, actor=ACTOR)

    # when its administrator files the stop in the browser
    response = login(unit_admin).post(
        "/workbench/paper-stop/new", {"planned_date": timezone.localdate().isoformat(), "remark": "全面电子化"}
    )
    application = Application.objects.get(unit=networked_unit, kind=Application.Kind.PAPER_STOP)
    assert response.status_code == 302

    # then the unit counts as live by its portal issuance
    rollout = UnitRollout.objects.get(pk=networked_unit.pk)
    assert (rollout.stage, rollout.live_basis) == (Stage.LIVE, UnitRollout.LiveBasis.PORTAL_ISSUANCE)

    # when Changsha confirms it
    login(city_staff).post(f"/workbench/applications/{application.pk}/confirm")

    # then the nine unused paper numbers are retired, counted on the application and the unit
    application.refresh_from_db()
    assert application.status == Application.Status.CONFIRMED and application.paper_retired_count == 9
    retired = PaperUse.objects.filter(stock=stock, void_reason=PaperUse.VoidReason.RETIRED)
    assert retired.count() == 9
    rollout.refresh_from_db()
    assert rollout.stage == Stage.PAPER_STOPPED and rollout.paper_retired_count == 9
    assert AuditEvent.objects.get(action="onboarding.application_confirm").data["retired"] == 9
    assert AuditEvent.objects.filter(action="paper.stock_retire", unit_code=networked_unit.code).count() == 1
    # and a second stop is refused
    with pytest.raises(ApplicationError):
        file_stop(unit_admin, networked_unit)
    # and the unit takes no new paper stock and prints no paper copy any more
    from issuance.paper.errors import PaperError
    from issuance.paper.services import paper_stock_receive

    with pytest.raises(ApplicationError) as refused:
        paper_stock_receive(
            unit=networked_unit, paper_code=stock.paper_code, start_number=900, end_number=999, actor=ACTOR
        )
    assert refused.value.code == PaperError.PAPER_STOPPED
    with pytest.raises(ApplicationError) as refused:
        receipt_paper_convert(receipt=issued_in_portal, actor=ACTOR)
    assert refused.value.code == PaperError.PAPER_STOPPED


def test_a_stop_is_refused_while_a_paper_copy_is_outstanding(
    unit_admin: Any, city_staff: Any, networked_unit: Unit, stock: PaperStock, issued_in_portal: Receipt
) -> None:
    # given a paper copy still with the payer
    use = receipt_paper_convert(receipt=issued_in_portal, actor=ACTOR)

    # when the unit files the stop / then it is refused, naming how many copies are out
    with pytest.raises(ApplicationError) as caught:
        file_stop(unit_admin, networked_unit)
    assert caught.value.code == OnboardingError.PAPER_OUTSTANDING and caught.value.extra == {"outstanding": 1}
    assert not Application.objects.exists()

    # when the copy is recovered, the stop is filed; a copy printed before confirmation blocks it again
    paper_use_void(use=use, reason=PaperUse.VoidReason.RECOVERED, actor=ACTOR)
    application = file_stop(unit_admin, networked_unit)
    receipt_paper_convert(receipt=issued_in_portal, actor=ACTOR)
    with pytest.raises(ApplicationError) as again:
        application_confirm(scope=scope(city_staff), application=application)
    assert again.value.code == OnboardingError.PAPER_OUTSTANDING
    application.refresh_from_db()
    assert application.status == Application.Status.SUBMITTED
    assert not PaperUse.objects.filter(void_reason=PaperUse.VoidReason.RETIRED).exists()


def test_a_networked_unit_without_portal_receipts_is_not_live(unit_admin: Any, networked_unit: Unit) -> None:
    with pytest.raises(ApplicationError) as caught:
        file_stop(unit_admin, networked_unit)
    assert caught.value.code == OnboardingError.NOT_LIVE
    assert not UnitRollout.objects.filter(pk=networked_unit.pk, live_at__isnull=False).exists()


def test_an_interface_unit_stops_paper_only_after_going_live(hospital_admin: Any, unit: Unit) -> None:
    with pytest.raises(ApplicationError) as caught:
        file_stop(hospital_admin, unit)
    assert caught.value.code == OnboardingError.NOT_LIVE


def test_the_bureau_starts_a_stop_and_another_bureau_user_confirms(
    county_staff: Any, city_staff: Any, networked_unit: Unit, stock: PaperStock, issued_in_portal: Receipt
) -> None:
    # given Furong confirmed the networked unit live (it issued in the portal)
    rollout = unit_live_confirm(scope=scope(county_staff), unit=networked_unit)
    assert rollout.live_basis == UnitRollout.LiveBasis.BUREAU_DECISION and rollout.live_by == "furong_staff"

    # when Furong starts the stop from the unit's page
    client = login(county_staff)
    assert client.get(f"/workbench/paper-stop/new?unit={networked_unit.pk}").status_code == 200
    client.post(
        "/workbench/paper-stop/new", {"unit": networked_unit.pk, "planned_date": timezone.localdate().isoformat()}
    )
    application = Application.objects.get(kind=Application.Kind.PAPER_STOP)
    assert application.filed_by_bureau

    # then Furong may not confirm its own filing (four eyes), Changsha may
    with pytest.raises(ApplicationError) as caught:
        application_confirm(scope=scope(county_staff), application=application)
    assert caught.value.code == OnboardingError.SAME_PERSON
    application_confirm(scope=scope(city_staff), application=application)
    application.refresh_from_db()
    assert application.paper_retired_count == 10
    # and a paper stop is never sent to the province
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(
            status=Application.Status.APPROVED, approved_by="province_admin", approved_at=application.confirmed_at
        )


def test_confirming_live_needs_portal_receipts_and_the_units_bureau(
    county_staff: Any, zhuzhou_staff: Any, province_admin: Any, networked_unit: Unit, unit: Unit
) -> None:
    with pytest.raises(ApplicationError) as caught:
        unit_live_confirm(scope=scope(county_staff), unit=networked_unit)
    assert caught.value.code == OnboardingError.NO_PORTAL_RECEIPTS
    # an interface unit goes live only through its go-live application
    with pytest.raises(ApplicationError) as not_networked:
        unit_live_confirm(scope=scope(county_staff), unit=unit)
    assert not_networked.value.code == OnboardingError.NOT_YOUR_STEP
    assert login(zhuzhou_staff).post(f"/workbench/units/{networked_unit.pk}/live").status_code == 404
    with pytest.raises(ApplicationError):
        unit_live_confirm(scope=scope(province_admin), unit=networked_unit)


def test_other_units_cannot_stop_paper_for_this_one(
    other_cashier: Any, make_user: Any, other_unit: Unit, networked_unit: Unit, zhuzhou_staff: Any, auditor: Any
) -> None:
    other_admin = make_user("school_admin", "unit_admin", unit=other_unit)
    assert login(other_admin).get(f"/workbench/paper-stop/new?unit={networked_unit.pk}").status_code == 200
    # the school's admin gets the form for the school itself, never for the networked unit
    response = login(other_admin).post(
        "/workbench/paper-stop/new", {"unit": networked_unit.pk, "planned_date": timezone.localdate().isoformat()}
    )
    assert response.status_code == 400
    assert not Application.objects.filter(unit=networked_unit).exists()
    assert login(zhuzhou_staff).get(f"/workbench/paper-stop/new?unit={networked_unit.pk}").status_code == 404
    assert login(auditor).get(f"/workbench/paper-stop/new?unit={networked_unit.pk}").status_code == 403
