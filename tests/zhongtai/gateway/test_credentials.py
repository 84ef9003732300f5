"""Application credentials of interface units: issue, storage at rest, scope, revocation."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import nontax_payload
from tests.issuance.conftest import BATCH, DAILY, ISSUE, LIST, by_bus_no_url, detail_url, error_of
from tests.support.api import SignedClient
from tests.support.factories import UnitFactory
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.crypto import secret_decrypt, secret_encrypt
from zhongtai.gateway.models import ApiCredential
from zhongtai.gateway.services import credential_create, credential_revoke
from zhongtai.masterdata.models import Unit

READ_URL = "/api/v1/receipts?busDate=2025-03-01"


def run_issue_credentials(*args: str) -> str:
    out = io.StringIO()
    call_command("issue_credentials", *args, stdout=out)
    return out.getvalue()


def printed(output: str, label: str) -> str:
    match = re.search(rf"^{label}:\s+(\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


@pytest.fixture
def networked_unit(changsha: Any) -> Unit:
    return UnitFactory(code="430100777", region=changsha, connection_mode=Unit.ConnectionMode.NETWORKED)


# --- the issue_credentials command -----------------------------------------------------------------


def test_command_prints_the_app_id_and_the_secret_once(unit: Unit) -> None:
    # when credentials are issued for the interface unit
    output = run_issue_credentials("--unit", unit.code, "--label", "HIS 收费系统")
    # then the app id and the secret are printed, the secret exactly once
    app_id, secret = printed(output, "app_id"), printed(output, "secret")
    assert output.count(secret) == 1
    credential = ApiCredential.objects.get(app_id=app_id)
    assert (credential.unit, credential.scope, credential.status) == (unit, "issue", "active")
    assert credential.label == "HIS 收费系统"
    assert credential.created_by == "manage.py issue_credentials"


def test_printed_credentials_sign_requests_that_are_accepted(unit: Unit) -> None:
    output = run_issue_credentials("--unit", unit.code)
    client = SignedClient(printed(output, "app_id"), printed(output, "secret"))
    assert client.post(ISSUE, nontax_payload()).status_code == 201


def test_command_issues_read_only_credentials_on_request(unit: Unit) -> None:
    output = run_issue_credentials("--unit", unit.code, "--scope", "read")
    assert ApiCredential.objects.get(app_id=printed(output, "app_id")).scope == ApiCredential.Scope.READ


def test_each_run_issues_new_credentials(unit: Unit) -> None:
    first, second = run_issue_credentials("--unit", unit.code), run_issue_credentials("--unit", unit.code)
    assert printed(first, "app_id") != printed(second, "app_id")
    assert printed(first, "secret") != printed(second, "secret")
    assert ApiCredential.objects.filter(unit=unit).count() == 2


def test_command_refuses_a_networked_unit(networked_unit: Unit) -> None:
    with pytest.raises(CommandError, match="UNIT_NOT_INTERFACE"):
        run_issue_credentials("--unit", networked_unit.code)
    assert not ApiCredential.objects.exists()


def test_command_refuses_an_unknown_unit_code(db: Any) -> None:
    with pytest.raises(CommandError, match="430199999"):
        run_issue_credentials("--unit", "430199999")
    assert not ApiCredential.objects.exists()


def test_command_refuses_an_unknown_scope(unit: Unit) -> None:
    with pytest.raises(CommandError):
        run_issue_credentials("--unit", unit.code, "--scope", "admin")


# --- the service and storage at rest --------------------------------------------------------------------


def test_secret_is_stored_encrypted_never_in_clear(unit: Unit) -> None:
    issued = credential_create(unit=unit, actor=Actor.system("tests"))
    stored = ApiCredential.objects.get(pk=issued.credential.pk).secret_encrypted
    assert issued.secret not in stored
    assert secret_decrypt(stored) == issued.secret


def test_same_secret_encrypts_differently_each_time() -> None:
    assert secret_encrypt("s3cret") != secret_encrypt("s3cret")


def test_secret_cannot_be_decrypted_with_another_key(settings: Any) -> None:
    token = secret_encrypt("s3cret")
    settings.EREC_KEK = "another-key-encryption-key"
    with pytest.raises(RuntimeError, match="EREC_KEK"):
        secret_decrypt(token)


def test_issuing_credentials_is_audited_without_the_secret(unit: Unit) -> None:
    issued = credential_create(unit=unit, actor=Actor.user("admin"), label="HIS", scope=ApiCredential.Scope.READ)
    event = AuditEvent.objects.get(action="credential.create", object_id=issued.credential.app_id)
    assert (event.actor, event.unit_code, event.region_code) == ("admin", unit.code, "430102")
    assert event.data == {"scope": "read", "label": "HIS", "sandbox": False}
    assert issued.secret not in str(event.data)


def test_service_refuses_credentials_for_a_networked_unit(networked_unit: Unit) -> None:
    with pytest.raises(ApplicationError) as refused:
        credential_create(unit=networked_unit, actor=Actor.system("tests"))
    assert refused.value.code == "UNIT_NOT_INTERFACE"


def test_revocation_records_who_and_when_and_is_audited(api: SignedClient) -> None:
    credential = ApiCredential.objects.get(app_id=api.app_id)
    revoked = credential_revoke(credential=credential, actor=Actor.user("admin"))
    assert revoked.status == ApiCredential.Status.REVOKED
    assert revoked.revoked_by == "admin"
    assert revoked.revoked_at is not None
    assert AuditEvent.objects.filter(action="credential.revoke", object_id=api.app_id).count() == 1


def test_revoking_twice_changes_and_audits_nothing_more(api: SignedClient) -> None:
    credential = ApiCredential.objects.get(app_id=api.app_id)
    first = credential_revoke(credential=credential, actor=Actor.user("admin"))
    revoked_at = first.revoked_at
    again = credential_revoke(credential=credential, actor=Actor.user("someone-else"))
    assert (again.revoked_at, again.revoked_by) == (revoked_at, "admin")
    assert AuditEvent.objects.filter(action="credential.revoke").count() == 1


# --- scope ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "payload"),
    [(ISSUE, nontax_payload()), (BATCH, {"receipts": [nontax_payload()]})],
    ids=["issue", "batch"],
)
def test_read_only_credential_may_not_write(read_only_api: SignedClient, url: str, payload: Any) -> None:
    error_of(read_only_api.post(url, payload), 403, "SCOPE_READ_ONLY")


def test_read_only_refusal_comes_before_any_validation(read_only_api: SignedClient) -> None:
    error_of(read_only_api.post(ISSUE, raw=b"{not json"), 403, "SCOPE_READ_ONLY")


@pytest.mark.parametrize(
    "url",
    [
        LIST + "?busDate=2025-03-01",
        DAILY + "?date=2025-03-01",
        by_bus_no_url("BUS0001"),
        detail_url("43010125", "0000000001"),
    ],
    ids=["list", "daily", "by-bus-no", "detail"],
)
def test_read_only_credential_may_read(read_only_api: SignedClient, api: SignedClient, url: str) -> None:
    issued = api.post(ISSUE, nontax_payload()).json()
    url = url.replace("43010125/0000000001", f"{issued['receiptCode']}/{issued['receiptNumber']}")
    assert read_only_api.get(url).status_code == 200
