"""Issued receipts are signed (unit, then 财政监制) and rendered by the pipeline, exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import default_storage

from issuance.datafile import datafile_parse, datafile_verify_signature
from issuance.jobs import job_run
from issuance.layout import pdf_extract_xml
from issuance.models import Receipt, ReceiptJob, SignStatus
from tests.conftest import nontax_payload, outpatient_payload
from zhongtai.audit.models import AuditEvent
from zhongtai.signing import sm2

ISSUE = "/api/v1/receipts/issue"


def _issue(api: Any, payload: dict[str, Any], capture: Any) -> Receipt:
    with capture(execute=True):
        response = api.post(ISSUE, payload)
    assert response.status_code == 201, response.json()
    return Receipt.objects.get(bus_no=payload["busNo"])


def _verifier(certificate: Any) -> Any:
    public = sm2.public_key_from_der(bytes(certificate.public_key_der))
    return lambda data, signature: sm2.verify(public, data, signature)


def test_an_issued_receipt_is_signed_twice_and_rendered(
    api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # given a unit with a hosted key and a province seal / when it issues a medical receipt
    receipt = _issue(api, outpatient_payload("SIGN1"), django_capture_on_commit_callbacks)
    # then the data file carries both valid signatures with the certificates' serials
    assert receipt.sign_status == SignStatus.SIGNED
    xml = receipt.datafile.read()
    unit_check = datafile_verify_signature(xml, role="unit", verify=_verifier(pki["unit_cert"]))
    seal_check = datafile_verify_signature(xml, role="supervisor", verify=_verifier(pki["seal_cert"]))
    assert unit_check.valid and seal_check.valid, (unit_check.reason, seal_check.reason)
    assert receipt.unit_cert_serial == pki["unit_cert"].serial_number
    parsed = datafile_parse(xml)
    assert (parsed.receipt_code, parsed.number) == (receipt.receipt_code, receipt.number)
    # and the layout file carries the same signed XML
    assert pdf_extract_xml(receipt.layout_file.read()) == xml
    assert set(ReceiptJob.objects.filter(receipt=receipt).values_list("step", "state")) == {
        ("sign", "done"),
        ("render", "done"),
    }
    assert AuditEvent.objects.filter(action="receipt.sign", object_id=str(receipt.pk)).count() == 1


def test_the_api_answers_with_the_sign_status(
    api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    receipt = _issue(api, nontax_payload("SIGN2"), django_capture_on_commit_callbacks)
    body = api.get(f"/api/v1/receipts/{receipt.receipt_code}/{receipt.number_text}").json()
    assert body["signStatus"] == "signed"


def test_running_a_step_again_changes_nothing(
    api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    receipt = _issue(api, nontax_payload("SIGN3"), django_capture_on_commit_callbacks)
    xml, pdf_name = receipt.datafile.read(), receipt.layout_file.name
    for job in ReceiptJob.objects.filter(receipt=receipt):
        ReceiptJob.objects.filter(pk=job.pk).update(state=ReceiptJob.State.PENDING)
        assert job_run(job_id=job.pk) == ReceiptJob.State.DONE
    receipt.refresh_from_db()
    assert receipt.datafile.read() == xml
    assert receipt.layout_file.name == pdf_name
    assert AuditEvent.objects.filter(action="receipt.sign", object_id=str(receipt.pk)).count() == 1


def test_a_unit_without_a_certificate_leaves_a_dead_job_with_the_reason(
    api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    receipt = _issue(api, nontax_payload("SIGN4"), django_capture_on_commit_callbacks)
    job = ReceiptJob.objects.get(receipt=receipt, step="sign")
    assert job.state == ReceiptJob.State.DEAD
    assert "没有有效的签名证书" in job.last_error
    assert receipt.sign_status == SignStatus.PENDING


def test_a_refused_issuance_leaves_no_job(api: Any, pki: dict[str, Any]) -> None:
    response = api.post(ISSUE, nontax_payload("SIGN5", totalAmount="1.00"))
    assert response.status_code == 422
    assert not ReceiptJob.objects.exists()


@pytest.mark.parametrize("field", ["EInvoiceNumber", "TotalAmount"])
def test_a_changed_byte_breaks_both_signatures(
    api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any, field: str
) -> None:
    receipt = _issue(api, nontax_payload(f"SIGN6{field}"), django_capture_on_commit_callbacks)
    xml = receipt.datafile.read()
    start = xml.index(f"<{field}>".encode()) + len(field) + 2
    tampered = xml[:start] + (b"9" if xml[start : start + 1] != b"9" else b"8") + xml[start + 1 :]
    assert not datafile_verify_signature(tampered, role="unit", verify=_verifier(pki["unit_cert"])).valid
    assert not datafile_verify_signature(tampered, role="supervisor", verify=_verifier(pki["seal_cert"])).valid
    assert default_storage.exists(receipt.datafile.name)
