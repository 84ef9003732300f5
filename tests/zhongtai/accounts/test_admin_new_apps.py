"""The workbench pages of paper stock, messages, onboarding and reimbursement: who sees which rows.

Changsha's bureau sees the rows of its units (the Furong hospital, 430102001) and never those of
a Zhuzhou hospital; reimbursing parties are the whole province's: every bureau sees them, only
the province changes them. Every row is made through its app's own service.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission as ModelPermission
from django.test import Client
from django.utils import timezone

from issuance.models import Receipt, SignStatus
from issuance.paper.services import paper_number_void_blank, paper_stock_receive
from tests.conftest import nontax_payload
from tests.issuance.conftest import issue_direct
from tests.support.factories import IssuingPointFactory, RegionFactory, UnitFactory
from tests.zhongtai.onboarding.conftest import connection_details
from verification.models import PartyCredential, ReimbursingParty
from verification.services import entry_record, party_create, party_credential_create
from zhongtai.accounts.roles import role_groups_apply
from zhongtai.accounts.scoping import scope_for
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Region, Unit
from zhongtai.masterdata.validators import credit_code_check_char
from zhongtai.messaging.models import Channel
from zhongtai.messaging.services import receipt_send
from zhongtai.onboarding.models import Application, CheckItem, CheckRecord, Stage
from zhongtai.onboarding.services import (
    application_approve,
    application_confirm,
    application_file,
    checklist_record,
    deadline_set,
)
from zhongtai.signing.services import certificate_issue_for_unit

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")
# The region-scoped changelists of the four apps, as /admin/<app>/<model>/.
SCOPED = [
    "paper/paperstock",
    "paper/paperuse",
    "messaging/outgoingmessage",
    "onboarding/application",
    "onboarding/credentialhandover",
    "onboarding/checkrecord",
    "onboarding/unitrollout",
    "onboarding/deadline",
    "verification/receiptentry",
]
PROVINCE_WIDE = ["verification/reimbursingparty", "verification/partycredential"]


@pytest.fixture
def zhuzhou(province: Region) -> Region:
    return RegionFactory(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)


@pytest.fixture
def zhuzhou_unit(zhuzhou: Region, kind_nontax: Any, fee_fixed: Any, fee_range: Any) -> Unit:
    """An interface hospital in Zhuzhou that issues the same receipts as the Furong hospital."""
    created = UnitFactory(code="430200001", name="株洲市第一人民医院", region=zhuzhou, unit_type=Unit.UnitType.HOSPITAL)
    IssuingPointFactory(unit=created, code="MZ01", name="门诊收费一号窗口")
    created.allowed_kinds.add(kind_nontax)
    created.allowed_fee_items.add(fee_fixed, fee_range)
    return created


def as_bureau(client: Client, user: Any) -> Client:
    """Sign in a bureau user holding their role group's permissions, as ``user_create`` gives them."""
    role_groups_apply(user=user, role=user.profile.role)
    client.force_login(user)
    return client


def signed_receipt(unit: Unit, bus_no: str, capture: Any) -> Receipt:
    with capture(execute=True):
        receipt = issue_direct(unit, nontax_payload(bus_no))
    receipt.refresh_from_db()
    assert receipt.sign_status == SignStatus.SIGNED
    return receipt


def party(name: str, first17: str) -> ReimbursingParty:
    return party_create(
        name=name,
        party_type=ReimbursingParty.PartyType.COMMERCIAL_INSURANCE,
        credit_code=first17 + credit_code_check_char(first17),
        actor=ACTOR,
    )


def unit_rows(unit: Unit, *, paper_code: str, bureau: Any, province_admin: Any, insurer: Any, capture: Any) -> dict:
    """One row of each scoped model for ``unit``, made through the apps' services; path -> pk."""
    stock = paper_stock_receive(unit=unit, paper_code=paper_code, start_number=101, end_number=110, actor=ACTOR)
    use = paper_number_void_blank(unit=unit, paper_code=paper_code, paper_number=101, actor=ACTOR, reason="受潮")

    receipt = signed_receipt(unit, f"ADM-{unit.code}", capture)
    message = receipt_send(receipt=receipt, channel=Channel.SMS, recipient="13800138000", actor=ACTOR)
    entry = entry_record(
        party=insurer,
        receipt=receipt,
        kind="reimbursement",
        amount=Decimal("10.00"),
        entry_date=timezone.localdate(),
        reference="BX-1",
        actor=ACTOR,
    ).entry

    unit_admin = get_user_model().objects.get(profile__unit=unit, profile__role="unit_admin")
    application = application_file(
        scope=scope_for(unit_admin), unit=unit, kind=Application.Kind.CONNECTION, details=connection_details()
    )
    application_confirm(scope=scope_for(bureau), application=application)
    application = application_approve(scope=scope_for(province_admin), application=application)
    handover = application.handover
    checklist_record(unit=unit, item=CheckItem.ISSUED, app_id=handover.credential.app_id)
    deadline = deadline_set(
        scope=scope_for(province_admin),
        stage=Stage.LIVE,
        due_date=datetime.date(2027, 6, 30),
        region=unit.region if unit.region.level == Region.Level.CITY else unit.region.parent,
    )
    return {
        "paper/paperstock": stock.pk,
        "paper/paperuse": use.pk,
        "messaging/outgoingmessage": message.pk,
        "onboarding/application": application.pk,
        "onboarding/credentialhandover": handover.pk,
        "onboarding/checkrecord": CheckRecord.objects.get(unit=unit).pk,
        "onboarding/unitrollout": unit.pk,
        "onboarding/deadline": deadline.pk,
        "verification/receiptentry": entry.pk,
    }


@pytest.fixture
def rows(
    unit: Unit,
    zhuzhou_unit: Unit,
    pki: dict[str, Any],
    make_user: Any,
    city_staff: Any,
    province_admin: Any,
    django_capture_on_commit_callbacks: Any,
) -> dict[str, tuple[int, int]]:
    """path -> (the Furong hospital's row, the Zhuzhou hospital's row)."""
    certificate_issue_for_unit(unit=zhuzhou_unit, actor=ACTOR)
    make_user("cs_unit_admin", "unit_admin", unit=unit)
    make_user("zz_unit_admin", "unit_admin", unit=zhuzhou_unit)
    zhuzhou_staff = make_user("zz_staff", "bureau_staff", region=zhuzhou_unit.region)
    insurer = party("中国人寿湖南分公司", "91430000MA4J9K1L2")
    common = {"province_admin": province_admin, "insurer": insurer, "capture": django_capture_on_commit_callbacks}
    mine = unit_rows(unit, paper_code="43010125", bureau=city_staff, **common)
    theirs = unit_rows(zhuzhou_unit, paper_code="43020125", bureau=zhuzhou_staff, **common)
    return {path: (mine[path], theirs[path]) for path in SCOPED}


@pytest.fixture
def parties(db: Any) -> tuple[ReimbursingParty, PartyCredential]:
    insurer = party("平安人寿湖南分公司", "91430100MA4ABCDE1")
    return insurer, party_credential_create(party=insurer, actor=ACTOR).credential


def listed(client: Client, path: str) -> set[Any]:
    response = client.get(f"/admin/{path}/")
    assert response.status_code == 200, path
    return {row.pk for row in response.context["cl"].result_list}


# --- region-scoped rows --------------------------------------------------------------------------


@pytest.mark.parametrize("path", SCOPED)
def test_changsha_staff_see_their_units_rows_and_not_zhuzhou_s(
    client: Client, city_staff: Any, rows: dict[str, tuple[int, int]], path: str
) -> None:
    # given a row of the Furong hospital (in Changsha) and one of a Zhuzhou hospital
    mine, theirs = rows[path]
    as_bureau(client, city_staff)
    # when Changsha's staff open the changelist / then they see their row only
    shown = listed(client, path)
    assert mine in shown and theirs not in shown
    # and the Zhuzhou row's page is not found, while their own opens read-only
    assert client.get(f"/admin/{path}/{theirs}/change/").status_code == 404
    own = client.get(f"/admin/{path}/{mine}/change/")
    assert own.status_code == 200 and 'name="_save"' not in own.content.decode()


@pytest.mark.parametrize("path", SCOPED)
def test_the_province_sees_both_rows(
    client: Client, province_admin: Any, rows: dict[str, tuple[int, int]], path: str
) -> None:
    as_bureau(client, province_admin)
    assert set(rows[path]) <= listed(client, path)


def test_changsha_sees_the_province_wide_deadline_too(client: Client, city_staff: Any, province_admin: Any) -> None:
    # given a province-wide deadline (no region)
    deadline = deadline_set(
        scope=scope_for(province_admin), stage=Stage.PAPER_STOPPED, due_date=datetime.date(2027, 12, 31), region=None
    )
    # when Changsha's staff list the deadlines / then it is there
    assert deadline.pk in listed(as_bureau(client, city_staff), "onboarding/deadline")


def test_credential_handovers_never_show_the_secret(
    client: Client, city_staff: Any, rows: dict[str, tuple[int, int]]
) -> None:
    from zhongtai.onboarding.models import CredentialHandover

    handover = CredentialHandover.objects.get(pk=rows["onboarding/credentialhandover"][0])
    assert handover.secret_encrypted  # still waiting for the unit to reveal it
    as_bureau(client, city_staff)
    for url in ("/admin/onboarding/credentialhandover/", f"/admin/onboarding/credentialhandover/{handover.pk}/change/"):
        page = client.get(url).content.decode()
        assert handover.credential.app_id in page and handover.secret_encrypted not in page


# --- province-wide reimbursing parties -------------------------------------------------------------


@pytest.mark.parametrize("persona", ["city_staff", "county_staff"])
def test_city_and_county_staff_see_but_cannot_change_parties(
    client: Client, persona: str, parties: tuple[ReimbursingParty, PartyCredential], request: pytest.FixtureRequest
) -> None:
    # given a party with a credential, and a city or county bureau user
    insurer, credential = parties
    as_bureau(client, request.getfixturevalue(persona))
    # when they open the parties and credentials / then they see them, read-only
    assert insurer.pk in listed(client, "verification/reimbursingparty")
    assert credential.pk in listed(client, "verification/partycredential")
    page = client.get(f"/admin/verification/reimbursingparty/{insurer.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    # and a change, an addition or a revocation is refused
    response = client.post(
        f"/admin/verification/reimbursingparty/{insurer.pk}/change/",
        {"name": "改名", "party_type": insurer.party_type, "credit_code": insurer.credit_code, "status": "active"},
    )
    assert response.status_code == 403
    assert client.get("/admin/verification/reimbursingparty/add/").status_code == 403
    client.post("/admin/verification/partycredential/", {"action": "revoke", "_selected_action": [credential.pk]})
    insurer.refresh_from_db()
    credential.refresh_from_db()
    assert insurer.name == "平安人寿湖南分公司" and credential.status == PartyCredential.Status.ACTIVE


def test_the_province_admin_changes_parties_and_revokes_their_credentials(
    client: Client, province_admin: Any, parties: tuple[ReimbursingParty, PartyCredential]
) -> None:
    insurer, credential = parties
    as_bureau(client, province_admin)
    # when the province renames the party / then it is saved
    response = client.post(
        f"/admin/verification/reimbursingparty/{insurer.pk}/change/",
        {
            "name": "平安人寿湖南省分公司",
            "party_type": insurer.party_type,
            "credit_code": insurer.credit_code,
            "status": "active",
        },
    )
    assert response.status_code == 302
    insurer.refresh_from_db()
    assert insurer.name == "平安人寿湖南省分公司"
    # and when it revokes the credential / then it is revoked
    client.post("/admin/verification/partycredential/", {"action": "revoke", "_selected_action": [credential.pk]})
    credential.refresh_from_db()
    assert credential.status == PartyCredential.Status.REVOKED


# --- nobody else ---------------------------------------------------------------------------------


def test_a_cashier_gets_nothing_even_with_is_staff_and_every_permission(client: Client, cashier: Any) -> None:
    # given a cashier made staff by mistake, holding every permission of the four apps
    get_user_model().objects.filter(pk=cashier.pk).update(is_staff=True)
    cashier.user_permissions.set(
        ModelPermission.objects.filter(content_type__app_label__in=["paper", "messaging", "onboarding", "verification"])
    )
    client.force_login(cashier)
    # when they open the pages / then every one is refused
    for path in ["", *(f"{p}/" for p in SCOPED + PROVINCE_WIDE)]:
        assert client.get(f"/admin/{path}", follow=True).status_code == 403, path


# --- sandbox receipts ------------------------------------------------------------------------------


def test_the_receipt_list_tells_sandbox_receipts_apart(client: Client, province_admin: Any, unit: Unit) -> None:
    issue_direct(unit, nontax_payload("SBX-LIST"))
    page = as_bureau(client, province_admin).get("/admin/issuance/receipt/").content.decode()
    assert "?sandbox__exact=1" in page and "column-sandbox" in page
