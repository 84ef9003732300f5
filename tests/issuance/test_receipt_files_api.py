"""Files, signing status and two-step signing through the standard interface."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
from django.utils import timezone

from issuance.datafile import datafile_verify_signature
from issuance.layout import pdf_extract_xml
from issuance.models import Receipt, ReceiptJob, SignStatus
from tests.conftest import nontax_payload
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit
from zhongtai.signing import sm2
from zhongtai.signing.models import Certificate
from zhongtai.signing.services import certificate_issue_for_unit, certificate_revoke

ISSUE = "/api/v1/receipts/issue"


def _url(receipt: Receipt, tail: str = "") -> str:
    return f"/api/v1/receipts/{receipt.receipt_code}/{receipt.number_text}{tail}"


def _issue(api: Any, capture: Any, bus_no: str) -> Receipt:
    with capture(execute=True):
        assert api.post(ISSUE, nontax_payload(bus_no)).status_code == 201
    return Receipt.objects.get(bus_no=bus_no)


def _verifies(xml: bytes, role: str, certificate: Certificate) -> bool:
    public = sm2.public_key_from_der(bytes(certificate.public_key_der))
    return datafile_verify_signature(xml, role=role, verify=lambda d, s: sm2.verify(public, d, s)).valid


def test_the_signed_data_file_can_be_downloaded(
    api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    receipt = _issue(api, django_capture_on_commit_callbacks, "F1")
    response = api.get(_url(receipt, "/datafile"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert _verifies(response.content, "supervisor", pki["seal_cert"])


def test_an_unsigned_receipt_has_no_file_yet(api: Any, django_capture_on_commit_callbacks: Any) -> None:
    receipt = _issue(api, django_capture_on_commit_callbacks, "F2")  # no certificates: stays pending
    for tail in ("/datafile", "/layout-file"):
        body = api.get(_url(receipt, tail)).json()
        assert body["code"] == "NOT_SIGNED_YET"


def test_the_layout_file_is_rendered_on_first_download(
    api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # given a signed receipt whose layout file no worker has made yet
    receipt = _issue(api, django_capture_on_commit_callbacks, "F3")
    Receipt.objects.filter(pk=receipt.pk).update(layout_file="")
    ReceiptJob.objects.filter(receipt=receipt, step="render").update(state=ReceiptJob.State.PENDING)
    # when it is downloaded, it is rendered in the request, with the signed XML inside
    response = api.get(_url(receipt, "/layout-file"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    receipt.refresh_from_db()
    assert pdf_extract_xml(response.content) == receipt.datafile.read()
    assert receipt.layout_file


def test_files_of_another_unit_are_not_found(
    api: Any, other_api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    receipt = _issue(api, django_capture_on_commit_callbacks, "F4")
    for tail in ("/datafile", "/layout-file", "/signing-payload"):
        assert other_api.get(_url(receipt, tail)).status_code == 404


def test_status_of_several_bus_nos(
    api: Any, read_only_api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _issue(api, django_capture_on_commit_callbacks, "S1")
    body = read_only_api.get("/api/v1/receipts/status?busNos=S1,NOPE,S1").json()
    assert [(row["busNo"], row["found"], row["signStatus"]) for row in body["results"]] == [
        ("S1", True, "signed"),
        ("NOPE", False, None),
    ]
    assert body["results"][0]["layoutFileReady"] is True


@pytest.mark.parametrize("query", ["", "busNos=", "busNos=a%20b", "busNos=" + ",".join(f"B{n}" for n in range(101))])
def test_status_query_is_validated(api: Any, query: str) -> None:
    assert api.get(f"/api/v1/receipts/status?{query}").json()["code"] == "STATUS_QUERY_INVALID"


# --- two-step signing with a key held by the unit --------------------------------------------


@pytest.fixture
def own_key(pki: dict[str, Any], unit: Unit) -> sm2.PrivateKey:
    """The unit's hosted certificate is replaced by one for a key the unit keeps itself."""
    certificate_revoke(certificate=pki["unit_cert"], reason="superseded", actor=Actor.system("tests"))
    key = sm2.generate_private_key()
    certificate_issue_for_unit(unit=unit, public_key=sm2.public_key_of(key), actor=Actor.system("tests"))
    return key


def _payload(api: Any, receipt: Receipt) -> dict[str, Any]:
    response = api.get(_url(receipt, "/signing-payload"))
    assert response.status_code == 200, response.json()
    return response.json()


def _submit(api: Any, receipt: Receipt, payload: dict[str, Any], der: bytes, **overrides: Any) -> Any:
    body = {
        "certificateSerial": payload["certificateSerial"],
        "signingTime": payload["signingTime"],
        "signature": base64.b64encode(der).decode(),
        **overrides,
    }
    return api.post(_url(receipt, "/unit-signature"), body)


def test_a_unit_with_its_own_key_signs_in_two_steps(
    api: Any, own_key: sm2.PrivateKey, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # given a receipt waiting for the unit's own signature
    receipt = _issue(api, django_capture_on_commit_callbacks, "U1")
    assert receipt.sign_status == SignStatus.AWAITING_UNIT
    # when the unit signs the bytes it was given and submits the signature
    payload = _payload(api, receipt)
    data = base64.b64decode(payload["bytesToSign"])
    assert sm2.sm3(data).hex() == payload["sm3"]
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(api, receipt, payload, sm2.sign(own_key, data))
    # then the platform adds the supervision signature and the receipt is signed
    assert response.status_code == 200, response.json()
    assert response.json()["signStatus"] == "signed"
    xml = api.get(_url(receipt, "/datafile")).content
    unit_cert = Certificate.objects.get(unit=receipt.unit, key_custody=Certificate.KeyCustody.SUBSCRIBER)
    assert _verifies(xml, "unit", unit_cert) and _verifies(xml, "supervisor", pki["seal_cert"])
    # and a second submission is refused
    assert _submit(api, receipt, payload, sm2.sign(own_key, data)).json()["code"] == "UNIT_SIGNATURE_NOT_AWAITED"


def test_a_wrong_unit_signature_is_refused(
    api: Any, own_key: sm2.PrivateKey, django_capture_on_commit_callbacks: Any
) -> None:
    receipt = _issue(api, django_capture_on_commit_callbacks, "U2")
    payload = _payload(api, receipt)
    other_key = sm2.generate_private_key()
    response = _submit(api, receipt, payload, sm2.sign(other_key, base64.b64decode(payload["bytesToSign"])))
    assert response.status_code == 422
    assert response.json()["code"] == "UNIT_SIGNATURE_INVALID"
    receipt.refresh_from_db()
    assert receipt.sign_status == SignStatus.AWAITING_UNIT


def test_a_signature_with_another_serial_or_an_old_time_is_refused(
    api: Any, own_key: sm2.PrivateKey, django_capture_on_commit_callbacks: Any
) -> None:
    receipt = _issue(api, django_capture_on_commit_callbacks, "U3")
    payload = _payload(api, receipt)
    signature = sm2.sign(own_key, base64.b64decode(payload["bytesToSign"]))
    wrong_serial = _submit(api, receipt, payload, signature, certificateSerial="0123ABCD")
    assert wrong_serial.json()["code"] == "UNIT_CERTIFICATE_INVALID"
    old = (timezone.now() - datetime.timedelta(hours=2)).isoformat()
    assert _submit(api, receipt, payload, signature, signingTime=old).json()["code"] == "SIGNING_TIME_INVALID"
    assert _submit(api, receipt, payload, b"", signature="not base64!").json()["code"] == "INVALID_INPUT"


def test_a_receipt_signed_by_the_platform_needs_no_unit_signature(
    api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    receipt = _issue(api, django_capture_on_commit_callbacks, "U4")
    assert api.get(_url(receipt, "/signing-payload")).json()["code"] == "UNIT_SIGNATURE_NOT_AWAITED"


def test_receipts_awaiting_the_unit_are_signed_after_it_moves_to_a_hosted_key(
    api: Any, own_key: sm2.PrivateKey, unit: Unit, django_capture_on_commit_callbacks: Any
) -> None:
    from io import StringIO

    from django.core.management import call_command

    from zhongtai.audit.models import AuditEvent

    # given a receipt waiting for the unit's own signature
    receipt = _issue(api, django_capture_on_commit_callbacks, "U5")
    assert receipt.sign_status == SignStatus.AWAITING_UNIT
    # when the unit's own-key certificate is replaced by a hosted one and its receipts are sent back
    own = Certificate.objects.get(unit=unit, key_custody=Certificate.KeyCustody.SUBSCRIBER)
    certificate_revoke(certificate=own, reason="superseded", actor=Actor.system("tests"))
    certificate_issue_for_unit(unit=unit, actor=Actor.system("tests"))
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("receipts_sign_again", "--unit", unit.code, stdout=out)
    # then the platform signs it, and the change is audited
    receipt.refresh_from_db()
    assert receipt.sign_status == SignStatus.SIGNED
    assert "1" in out.getvalue()
    assert AuditEvent.objects.filter(action="receipt.sign_again", object_id=str(receipt.pk)).count() == 1
