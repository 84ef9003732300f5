"""Reimbursing parties and their credentials: validation, the admin, the command, and the demo."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from issuance.models import Receipt
from tests.conftest import outpatient_payload
from tests.support.api import SignedClient
from tests.support.parties import credit_code
from tests.verification.conftest import ACTOR, signed
from tests.verification.test_public_api import claim, detail, entries_url
from verification.demo import (
    DEMO_INSURER,
    DEMO_MEDICAL_INSURANCE,
    DEMO_PARTIES,
    verification_demo_load,
    verification_demo_logins,
)
from verification.models import PartyCredential, ReceiptEntry, ReimbursingParty
from verification.services import party_create
from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.crypto import secret_decrypt


def test_a_party_needs_a_valid_credit_code(db: Any) -> None:
    good = credit_code("91430100MA4ABCDE1")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ApplicationError) as refused:
        party_create(name="某保险公司", party_type="commercial_insurance", credit_code=bad, actor=ACTOR)
    assert refused.value.code == "PARTY_INVALID"
    assert refused.value.extra["fields"] == {"credit_code": "统一社会信用代码校验位不正确。"}
    # the right code, in lower case, is accepted and stored upper-case, and audited
    party = party_create(name="某保险公司", party_type="commercial_insurance", credit_code=good.lower(), actor=ACTOR)
    assert party.credit_code == good
    assert AuditEvent.objects.filter(action="party.create", object_id=str(party.pk)).exists()


def test_a_party_type_must_be_known(db: Any) -> None:
    with pytest.raises(ApplicationError) as refused:
        party_create(name="某单位", party_type="bank", credit_code=credit_code("11430100MB1A2C3D4"), actor=ACTOR)
    assert set(refused.value.extra["fields"]) == {"party_type"}


# --- manage.py party_credentials --------------------------------------------------------------


def test_the_command_issues_credentials_that_sign_requests(insurer: ReimbursingParty, receipt: Receipt) -> None:
    out = StringIO()
    call_command("party_credentials", "--party", insurer.credit_code, "--label", "理赔系统", stdout=out)
    printed = dict(line.split(":", 1) for line in out.getvalue().splitlines() if line[:7] in ("app_id:", "secret:"))
    app_id, secret = printed["app_id"].strip(), printed["secret"].strip()
    # the secret is stored only encrypted, and the printed pair signs requests
    credential = PartyCredential.objects.get(app_id=app_id)
    assert secret not in credential.secret_encrypted and secret_decrypt(credential.secret_encrypted) == secret
    assert credential.label == "理赔系统" and credential.scope == PartyCredential.Scope.ENTRY
    assert SignedClient(app_id, secret).get(detail(receipt)).status_code == 200
    # and revoking it by app id stops it at once
    call_command("party_credentials", "--revoke", app_id, stdout=StringIO())
    assert SignedClient(app_id, secret).get(detail(receipt)).json()["code"] == "AUTH_CREDENTIAL_REVOKED"


def test_the_command_refuses_an_unknown_or_suspended_party(insurer: ReimbursingParty) -> None:
    with pytest.raises(CommandError, match="不存在"):
        call_command("party_credentials", "--party", credit_code("91430100MA4ABCDE1"), stdout=StringIO())
    ReimbursingParty.objects.filter(pk=insurer.pk).update(status=ReimbursingParty.Status.SUSPENDED)
    with pytest.raises(CommandError, match="已暂停"):
        call_command("party_credentials", "--party", insurer.credit_code, stdout=StringIO())


# --- the admin --------------------------------------------------------------------------------


@pytest.fixture
def operator(province: Any) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("operator", "op@example.org", "pw-Operator-2026"))
    return client


def test_the_admin_issues_credentials_and_shows_the_secret_once(operator: Client, insurer: ReimbursingParty) -> None:
    response = operator.post(
        "/admin/verification/reimbursingparty/", {"action": "issue_credentials", "_selected_action": [insurer.pk]}
    )
    assert response.status_code == 200
    credential = PartyCredential.objects.get(party=insurer)
    page = response.content.decode()
    assert credential.app_id in page and secret_decrypt(credential.secret_encrypted) in page
    assert "no-store" in response["Cache-Control"]


def test_the_admin_revokes_credentials(operator: Client, insurer_api: SignedClient, receipt: Receipt) -> None:
    credential = PartyCredential.objects.get(app_id=insurer_api.app_id)
    operator.post("/admin/verification/partycredential/", {"action": "revoke", "_selected_action": [credential.pk]})
    credential.refresh_from_db()
    assert credential.status == PartyCredential.Status.REVOKED and credential.revoked_by == "operator"
    assert insurer_api.get(detail(receipt)).json()["code"] == "AUTH_CREDENTIAL_REVOKED"


def test_the_admin_adds_and_suspends_a_party_through_the_services(operator: Client, db: Any) -> None:
    code = credit_code("91430100MA4ABCDE1")
    fields = {"name": "平安人寿湖南分公司", "party_type": "commercial_insurance", "credit_code": code}
    response = operator.post("/admin/verification/reimbursingparty/add/", {**fields, "status": "active"})
    assert response.status_code == 302, response.content.decode()[:2000]
    party = ReimbursingParty.objects.get(credit_code=code)
    operator.post(f"/admin/verification/reimbursingparty/{party.pk}/change/", {**fields, "status": "suspended"})
    party.refresh_from_db()
    assert party.status == ReimbursingParty.Status.SUSPENDED
    actions = list(AuditEvent.objects.filter(object_id=str(party.pk)).values_list("action", flat=True))
    assert actions.count("party.create") == 1 and actions.count("party.update") == 1


def test_the_admin_lists_entries_read_only(operator: Client, insurer_api: SignedClient, receipt: Receipt) -> None:
    insurer_api.post(entries_url(receipt), claim(receipt, "10.00"))
    entry = ReceiptEntry.objects.get()
    assert operator.get("/admin/verification/receiptentry/").status_code == 200
    assert operator.get(f"/admin/verification/receiptentry/{entry.pk}/change/").status_code == 200
    assert operator.post(f"/admin/verification/receiptentry/{entry.pk}/change/", {"amount": "1.00"}).status_code == 403


# --- the demo ---------------------------------------------------------------------------------


def test_the_demo_parties_credentials_and_entries_are_loaded_once(
    receipt: Receipt, medical_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    # given demo receipts (a non-tax one and two outpatient ones)
    second = signed(receipt.unit, outpatient_payload("V-MZ02"), django_capture_on_commit_callbacks)
    Receipt.objects.update(source=Receipt.Source.DEMO)
    # when the demo is loaded twice
    first_run = verification_demo_load()
    second_run = verification_demo_load()
    # then three parties with their published credentials, and the entries, exist once
    assert first_run == {"party": 3, "party_credential": 3, "party_entry": 4}
    assert not +second_run
    for spec in DEMO_PARTIES:
        party = ReimbursingParty.objects.get(credit_code=spec.credit_code)
        assert party.name == spec.name and party.party_type == spec.party_type
        credential = PartyCredential.objects.get(app_id=spec.app_id)
        assert secret_decrypt(credential.secret_encrypted) == spec.secret
    # and one outpatient receipt is claimed in two parts, by the medical insurance and the insurer
    split = ReceiptEntry.objects.filter(receipt=medical_receipt).order_by("entered_at")
    assert [e.party.name for e in split] == [DEMO_MEDICAL_INSURANCE.name, DEMO_INSURER.name]
    assert sum(e.amount for e in split) < medical_receipt.total_amount
    assert ReceiptEntry.objects.filter(receipt=second, party__name=DEMO_INSURER.name).exists()
    assert ReceiptEntry.objects.get(receipt=receipt).kind == ReceiptEntry.Kind.BOOK_ENTRY


def test_demo_logins_print_the_parties_credentials(db: Any) -> None:
    verification_demo_load()
    text = "\n".join(verification_demo_logins("http://127.0.0.1:8000"))
    assert "http://127.0.0.1:8000/verify/" in text
    for spec in DEMO_PARTIES:
        assert spec.app_id in text and spec.secret in text and spec.name in text
    assert "尚未创建" not in text
