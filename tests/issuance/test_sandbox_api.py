"""The sandbox (联调测试) through the standard interface: its own receipts and numbers, never the other's.

Production issues P1 and P2 (numbers 1 and 2 of the code); the sandbox issues S1 (its own number 1).
Every endpoint answers each credential from its own environment only.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from lxml import etree
from pypdf import PdfReader

from issuance.datafile.builder import SANDBOX_REMARK
from issuance.models import Receipt, SignStatus
from issuance.verifier import receipt_file_verify, trust_from_database
from tests.conftest import nontax_payload
from tests.issuance.conftest import BATCH, DAILY, ISSUE, LIST, by_bus_no_url, current_code, detail_url, error_of
from tests.support.api import SignedClient
from zhongtai.audit.services import Actor
from zhongtai.gateway.models import ApiCredential
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.models import Unit
from zhongtai.numbering.models import NumberSequence

NUMBER_1, NUMBER_2 = "0000000001", "0000000002"


def _client(unit: Unit, scope: str = ApiCredential.Scope.ISSUE) -> SignedClient:
    issued = credential_create(unit=unit, actor=Actor.system("tests"), scope=scope, sandbox=True)
    return SignedClient(issued.credential.app_id, issued.secret)


@pytest.fixture
def sandbox_api(unit: Unit) -> SignedClient:
    return _client(unit)


@pytest.fixture
def sandbox_read_api(unit: Unit) -> SignedClient:
    return _client(unit, ApiCredential.Scope.READ)


def issue(client: SignedClient, capture: Any, bus_no: str) -> dict[str, Any]:
    with capture(execute=True):
        response = client.post(ISSUE, nontax_payload(bus_no))
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def worlds(
    api: SignedClient, sandbox_api: SignedClient, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> dict[str, dict[str, Any]]:
    """P1, P2 in production and S1 in the sandbox, all signed and rendered."""
    return {
        "P1": issue(api, django_capture_on_commit_callbacks, "P1"),
        "P2": issue(api, django_capture_on_commit_callbacks, "P2"),
        "S1": issue(sandbox_api, django_capture_on_commit_callbacks, "S1"),
    }


def url(number: str, tail: str = "") -> str:
    return detail_url(current_code(), number) + tail


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# --- issuing in the sandbox -------------------------------------------------------------------------


def test_a_sandbox_credential_issues_sandbox_receipts_numbered_apart(worlds: dict[str, dict[str, Any]]) -> None:
    assert [(worlds[b]["receiptNumber"], worlds[b]["sandbox"]) for b in ("P1", "P2", "S1")] == [
        (NUMBER_1, False),
        (NUMBER_2, False),
        (NUMBER_1, True),
    ]
    assert worlds["S1"]["receiptCode"] == worlds["P1"]["receiptCode"]
    assert Receipt.objects.get(bus_no="S1").sandbox is True
    sequences = dict(NumberSequence.objects.values_list("sandbox", "next_number"))
    assert sequences == {False: 3, True: 2}


def test_a_bus_no_of_one_environment_is_free_in_the_other(
    worlds: dict[str, dict[str, Any]], sandbox_api: SignedClient, django_capture_on_commit_callbacks: Any
) -> None:
    # when the sandbox issues with production's busNo P1
    again = issue(sandbox_api, django_capture_on_commit_callbacks, "P1")
    # then it is a new sandbox receipt, and production's P1 is untouched
    assert (again["sandbox"], again["receiptNumber"]) == (True, NUMBER_2)
    assert Receipt.objects.filter(bus_no="P1").count() == 2
    assert Receipt.objects.get(bus_no="P1", sandbox=False).number == 1


def test_a_sandbox_batch_issues_sandbox_receipts(sandbox_api: SignedClient) -> None:
    body = sandbox_api.post(BATCH, {"receipts": [nontax_payload("SB1"), nontax_payload("SB2")]}).json()
    assert body["created"] == 2
    assert list(Receipt.objects.order_by("number").values_list("number", "sandbox")) == [(1, True), (2, True)]


def test_sandbox_files_are_stored_apart(worlds: dict[str, dict[str, Any]]) -> None:
    sandbox = Receipt.objects.get(bus_no="S1")
    production = Receipt.objects.get(bus_no="P1")
    # (the storage may add a suffix when an earlier test left a file of that name)
    assert sandbox.datafile.name.startswith(f"receipts/sandbox/{current_code()}/000000/{NUMBER_1}-einvoice")
    assert production.datafile.name.startswith(f"receipts/{current_code()}/000000/{NUMBER_1}-einvoice")
    assert sandbox.layout_file.name.startswith(f"receipts/sandbox/{current_code()}/000000/{NUMBER_1}-einvoice")
    assert sandbox.layout_file.name.endswith(".pdf")


# --- every lookup sees one environment ------------------------------------------------------------


def test_detail_answers_each_credential_from_its_own_environment(
    worlds: dict[str, dict[str, Any]], api: SignedClient, sandbox_api: SignedClient
) -> None:
    assert api.get(url(NUMBER_1)).json()["busNo"] == "P1"
    assert sandbox_api.get(url(NUMBER_1)).json()["busNo"] == "S1"
    assert api.get(url(NUMBER_2)).json()["busNo"] == "P2"
    error_of(sandbox_api.get(url(NUMBER_2)), 404, "RECEIPT_NOT_FOUND")


def test_by_bus_no_finds_only_the_callers_environment(
    worlds: dict[str, dict[str, Any]], api: SignedClient, sandbox_api: SignedClient
) -> None:
    assert sandbox_api.get(by_bus_no_url("S1")).json()["sandbox"] is True
    error_of(api.get(by_bus_no_url("S1")), 404, "RECEIPT_NOT_FOUND")
    error_of(sandbox_api.get(by_bus_no_url("P1")), 404, "RECEIPT_NOT_FOUND")


def test_the_bus_date_list_holds_only_the_callers_environment(
    worlds: dict[str, dict[str, Any]], api: SignedClient, sandbox_read_api: SignedClient
) -> None:
    today = timezone.localdate().isoformat()
    production = api.get(f"{LIST}?busDate={today}").json()
    sandbox = sandbox_read_api.get(f"{LIST}?busDate={today}").json()
    assert [r["busNo"] for r in production["results"]] == ["P1", "P2"]
    assert (sandbox["count"], [r["busNo"] for r in sandbox["results"]]) == (1, ["S1"])


def test_status_finds_only_the_callers_environment(
    worlds: dict[str, dict[str, Any]], api: SignedClient, sandbox_api: SignedClient
) -> None:
    def found(client: SignedClient) -> dict[str, bool]:
        rows = client.get("/api/v1/receipts/status?busNos=P1,S1").json()["results"]
        return {row["busNo"]: row["found"] for row in rows}

    assert found(api) == {"P1": True, "S1": False}
    assert found(sandbox_api) == {"P1": False, "S1": True}


@pytest.mark.parametrize("tail", ["/datafile", "/layout-file", "/signing-payload"])
def test_files_and_signing_payload_of_the_other_environment_are_not_found(
    worlds: dict[str, dict[str, Any]], api: SignedClient, sandbox_api: SignedClient, tail: str
) -> None:
    error_of(sandbox_api.get(url(NUMBER_2, tail)), 404, "RECEIPT_NOT_FOUND")
    assert api.get(url(NUMBER_2, tail)).status_code != 404


def test_each_credential_downloads_its_own_environments_files(
    worlds: dict[str, dict[str, Any]], api: SignedClient, sandbox_api: SignedClient
) -> None:
    production_xml = api.get(url(NUMBER_1, "/datafile")).content
    sandbox_xml = sandbox_api.get(url(NUMBER_1, "/datafile")).content
    assert etree.fromstring(production_xml).findtext("EInvoiceData/Main/BizCode") == "P1"
    assert etree.fromstring(sandbox_xml).findtext("EInvoiceData/Main/BizCode") == "S1"
    assert etree.fromstring(production_xml).findtext("EInvoiceData/Main/SupervisorRemark") is None
    assert etree.fromstring(sandbox_xml).findtext("EInvoiceData/Main/SupervisorRemark") == SANDBOX_REMARK


def test_unit_signature_of_the_other_environment_is_not_found(
    worlds: dict[str, dict[str, Any]], api: SignedClient, sandbox_api: SignedClient
) -> None:
    body = {
        "certificateSerial": "7A3F",
        "signingTime": timezone.now().isoformat(),
        "signature": base64.b64encode(b"0" * 70).decode(),
    }
    error_of(sandbox_api.post(url(NUMBER_2, "/unit-signature"), body), 404, "RECEIPT_NOT_FOUND")
    # production finds its receipt (and refuses: it is not waiting for the unit's signature)
    error_of(api.post(url(NUMBER_2, "/unit-signature"), body), 409, "UNIT_SIGNATURE_NOT_AWAITED")


def test_red_offset_acts_in_the_callers_environment_only(
    worlds: dict[str, dict[str, Any]],
    api: SignedClient,
    sandbox_api: SignedClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # the sandbox cannot reach production's receipt 2
    error_of(sandbox_api.post(url(NUMBER_2, "/red-offset"), {"reason": "测试冲红"}), 404, "RECEIPT_NOT_FOUND")
    # the sandbox red-offsets its own receipt 1, numbered from the sandbox sequence
    with django_capture_on_commit_callbacks(execute=True):
        red = sandbox_api.post(url(NUMBER_1, "/red-offset"), {"reason": "测试冲红", "busNo": "STF1"})
    assert red.status_code == 201, red.json()
    assert (red.json()["sandbox"], red.json()["receiptNumber"], red.json()["signStatus"]) == (True, NUMBER_2, "signed")
    statuses = dict(Receipt.objects.filter(is_red=False).values_list("bus_no", "status"))
    assert statuses == {"P1": "issued", "P2": "issued", "S1": "red_offset"}
    # and production's receipt 1 is still production's to red-offset
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url(NUMBER_1, "/red-offset"), {"reason": "退费"}).json()["receiptNumber"] == "0000000003"


def test_daily_reconciliation_counts_one_environment(
    worlds: dict[str, dict[str, Any]], api: SignedClient, sandbox_read_api: SignedClient
) -> None:
    today = timezone.localdate().isoformat()
    assert api.get(f"{DAILY}?date={today}").json()["total"]["count"] == 2
    assert sandbox_read_api.get(f"{DAILY}?date={today}").json()["total"]["count"] == 1


# --- a sandbox receipt is never valid ---------------------------------------------------------------


def test_the_sandbox_layout_file_carries_the_watermark(
    worlds: dict[str, dict[str, Any]], api: SignedClient, sandbox_api: SignedClient
) -> None:
    sandbox_text = pdf_text(sandbox_api.get(url(NUMBER_1, "/layout-file")).content)
    production_text = pdf_text(api.get(url(NUMBER_1, "/layout-file")).content)
    assert "联调测试票据" in sandbox_text and "无效" in sandbox_text
    assert "联调测试" not in production_text


def test_the_verifier_fails_a_sandbox_receipt_whose_signatures_are_valid(worlds: dict[str, dict[str, Any]]) -> None:
    receipt = Receipt.objects.get(bus_no="S1")
    assert receipt.sign_status == SignStatus.SIGNED
    for content in (receipt.datafile.read(), receipt.layout_file.read()):
        verdict = receipt_file_verify(content=content, trust=trust_from_database())
        assert not verdict.valid
        [failure] = verdict.failures
        assert (failure.name, failure.code) == ("sandbox_receipt", "SANDBOX_RECEIPT")
        assert failure.reason.startswith("联调测试票据，不是有效票据")
        assert "sandbox receipt" in failure.reason
        signatures = {c.name: c.ok for c in verdict.checks if c.name.endswith("_signature")}
        assert signatures == {"unit_signature": True, "supervisor_signature": True}


def test_the_verify_command_exits_1_for_a_sandbox_receipt(worlds: dict[str, dict[str, Any]], tmp_path: Any) -> None:
    path = tmp_path / "sandbox.xml"
    path.write_bytes(Receipt.objects.get(bus_no="S1").datafile.read())
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_receipt", str(path), stdout=out)
    assert failed.value.returncode == 1
    assert "联调测试票据，不是有效票据" in str(failed.value)
    assert "[失败] sandbox_receipt 联调测试票据 [SANDBOX_RECEIPT]" in out.getvalue()
    # while a production receipt of the same code and number verifies
    path.write_bytes(Receipt.objects.get(bus_no="P1").datafile.read())
    call_command("verify_receipt", str(path), stdout=io.StringIO())
