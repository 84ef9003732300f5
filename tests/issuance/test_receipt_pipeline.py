"""Issued receipts are signed (unit, then 财政监制) and rendered by the pipeline, exactly once."""

from __future__ import annotations

import datetime
import hashlib
import posixpath
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from lxml import etree

from issuance import pipeline
from issuance.datafile import (
    SANDBOX_REMARK,
    DataFileError,
    DataFileErrorCode,
    SupervisedSigning,
    datafile_parse,
    datafile_sign,
    datafile_sign_and_supervise_many,
    datafile_supervise,
    datafile_verify_signature,
    receipt_xml_build,
)
from issuance.jobs import job_requeue, job_run
from issuance.layout import pdf_extract_xml
from issuance.models import Receipt, ReceiptJob, SignStatus, _receipt_file_path
from issuance.payload import parse_issue_input
from issuance.services import receipts_issue
from issuance.tasks import receipt_jobs_run_task
from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import issue_direct
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor, audit_build
from zhongtai.masterdata.models import Unit
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
    assert receipt.sign_status == SignStatus.FAILED


def test_a_failed_signing_succeeds_once_its_cause_is_fixed_and_the_job_requeued(
    api: Any, province: Any, unit: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a receipt whose signing failed for want of certificates
    receipt = _issue(api, nontax_payload("SIGN4B"), django_capture_on_commit_callbacks)
    assert receipt.sign_status == SignStatus.FAILED
    # when the operator issues the certificates and requeues the dead job
    from zhongtai.audit.services import Actor
    from zhongtai.masterdata.models import FinanceBureau
    from zhongtai.signing.services import ca_bootstrap, certificate_issue_for_bureau, certificate_issue_for_unit

    actor = Actor.system("tests")
    ca_bootstrap(province=province, actor=actor)
    certificate_issue_for_unit(unit=unit, actor=actor)
    certificate_issue_for_bureau(bureau=FinanceBureau.objects.get(region=province), actor=actor)
    job = ReceiptJob.objects.get(receipt=receipt, step="sign")
    with django_capture_on_commit_callbacks(execute=True):
        assert job_requeue(job_id=job.pk) is True
    # then the receipt is signed
    receipt.refresh_from_db()
    assert receipt.sign_status == SignStatus.SIGNED


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


# --- A worker's chunk: many receipts signed at once -------------------------------------------


def _issue_pending(unit: Unit, prefix: str, count: int) -> list[int]:
    """Receipts issued through the service with their sign jobs written, not run: the job ids."""
    inputs = []
    for n in range(count):
        data, errors = parse_issue_input(nontax_payload(f"{prefix}{n:03d}"), require_bus_no=True)
        assert data is not None, errors.fields
        inputs.append(data)
    outcomes = receipts_issue(unit=unit, inputs=inputs, actor=Actor.system("tests"), source=Receipt.Source.API)
    assert all(outcome.created for outcome in outcomes)
    return list(
        ReceiptJob.objects.filter(step="sign", receipt__bus_no__startswith=prefix)
        .order_by("id")
        .values_list("pk", flat=True)
    )


def _receipts(job_ids: list[int]) -> list[Receipt]:
    return list(Receipt.objects.filter(jobs__pk__in=job_ids).order_by("pk"))


def _assert_signed_once(receipt: Receipt, pki: dict[str, Any]) -> None:
    assert receipt.sign_status == SignStatus.SIGNED
    xml = receipt.datafile.read()
    assert datafile_verify_signature(xml, role="unit", verify=_verifier(pki["unit_cert"])).valid
    assert datafile_verify_signature(xml, role="supervisor", verify=_verifier(pki["seal_cert"])).valid
    parsed = datafile_parse(xml)
    assert (parsed.receipt_code, parsed.number) == (receipt.receipt_code, receipt.number)
    assert AuditEvent.objects.filter(action="receipt.sign", object_id=str(receipt.pk)).count() == 1
    assert ReceiptJob.objects.filter(receipt=receipt, step="render").count() == 1


def test_a_chunk_is_signed_with_as_many_queries_for_3_receipts_as_for_12(unit: Unit, pki: dict[str, Any]) -> None:
    small, large = _issue_pending(unit, "QS", 3), _issue_pending(unit, "QL", 12)
    # when a worker runs each chunk
    with CaptureQueriesContext(connection) as small_queries:
        assert receipt_jobs_run_task(small) == {ReceiptJob.State.DONE: 3}
    with CaptureQueriesContext(connection) as large_queries:
        assert receipt_jobs_run_task(large) == {ReceiptJob.State.DONE: 12}
    # then the database work is per chunk, not per receipt
    assert len(large_queries) == len(small_queries) <= 25, [q["sql"][:80] for q in large_queries]
    # and every receipt is signed once, with both signatures valid, and waits for its layout file
    for receipt in _receipts(small + large):
        _assert_signed_once(receipt, pki)
    assert set(ReceiptJob.objects.filter(pk__in=small + large).values_list("state", flat=True)) == {"done"}
    renders = ReceiptJob.objects.filter(receipt__in=_receipts(small + large), step="render")
    assert set(renders.values_list("state", flat=True)) == {"pending"}


def _counted(calls: dict[str, int], name: str, function: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return function(*args, **kwargs)

    return wrapper


def test_keys_are_unsealed_for_each_chunk_and_a_chain_verified_again_only_when_it_changes(
    unit: Unit, pki: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhongtai.signing.services import certificate_issue_for_unit

    monkeypatch.setattr(pipeline, "_verdicts", {})
    calls: dict[str, int] = {"chain": 0, "key": 0}
    monkeypatch.setattr(
        pipeline, "certificate_chain_verify", _counted(calls, "chain", pipeline.certificate_chain_verify)
    )
    monkeypatch.setattr(pipeline, "signing_key_get", _counted(calls, "key", pipeline.signing_key_get))
    first, second = _issue_pending(unit, "CA", 5), _issue_pending(unit, "CB", 5)
    receipt_jobs_run_task(first)
    assert calls == {"chain": 1, "key": 2}  # the unit's key and the seal's key
    # when the next chunk is signed with the same certificates
    receipt_jobs_run_task(second)
    # then the keys are unsealed again, and the verdict on the same certificates is reused
    assert calls == {"chain": 1, "key": 4}
    # and a new certificate of the unit is verified before it signs
    certificate_issue_for_unit(unit=unit, actor=Actor.system("tests"))
    receipt_jobs_run_task(_issue_pending(unit, "CC", 2))
    assert calls == {"chain": 2, "key": 6}
    for receipt in _receipts(first + second):
        _assert_signed_once(receipt, pki)


def test_a_remembered_chain_verdict_holds_only_within_the_validity_of_the_chain(
    pki: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhongtai.signing.selectors import ca_certificates_der
    from zhongtai.signing.x509 import ChainFailure

    monkeypatch.setattr(pipeline, "_verdicts", {})
    calls: dict[str, int] = {"chain": 0}
    monkeypatch.setattr(
        pipeline, "certificate_chain_verify", _counted(calls, "chain", pipeline.certificate_chain_verify)
    )
    certificate = pki["unit_cert"]
    trust = {
        "trusted_root_der": bytes(pki["ca"].root.certificate.der),
        "intermediates": tuple(ca_certificates_der()),
    }

    def verdict(at: datetime.datetime) -> Any:
        return pipeline.chain_verdict(bytes(certificate.der), at=at, **trust)

    # given a valid verdict remembered now
    assert verdict(timezone.now()).valid
    # then it answers for another moment within the validity of the chain, without verifying again
    assert verdict(certificate.not_after - datetime.timedelta(seconds=1)).valid
    assert calls["chain"] == 1
    # but not for a moment outside it: the chain is verified again and refused
    assert verdict(certificate.not_after + datetime.timedelta(seconds=1)).code is ChainFailure.EXPIRED
    assert verdict(certificate.not_before - datetime.timedelta(seconds=1)).code is ChainFailure.NOT_YET_VALID
    assert calls["chain"] == 3
    # and a refusal is never remembered
    assert verdict(certificate.not_after + datetime.timedelta(seconds=1)).code is ChainFailure.EXPIRED
    assert calls["chain"] == 4


def test_a_certificate_revoked_between_two_chunks_signs_nothing_in_the_second(unit: Unit, pki: dict[str, Any]) -> None:
    from zhongtai.signing.models import Certificate
    from zhongtai.signing.services import certificate_revoke, crl_generate

    first, second = _issue_pending(unit, "RA", 2), _issue_pending(unit, "RB", 2)
    assert receipt_jobs_run_task(first) == {ReceiptJob.State.DONE: 2}
    actor = Actor.system("tests")
    certificate_revoke(certificate=pki["unit_cert"], reason=Certificate.RevocationReason.KEY_COMPROMISE, actor=actor)
    crl_generate(actor=actor, authority=pki["ca"].issuing)
    assert receipt_jobs_run_task(second) == {ReceiptJob.State.DEAD: 2}
    assert {receipt.sign_status for receipt in _receipts(second)} == {SignStatus.FAILED}


def test_one_receipt_that_cannot_be_written_does_not_fail_its_chunk(unit: Unit, pki: dict[str, Any]) -> None:
    # given a chunk in which one receipt holds a value its data file cannot carry
    jobs = _issue_pending(unit, "BAD", 3)
    broken = _receipts(jobs)[1]
    Receipt.objects.filter(pk=broken.pk).update(ext={"noSuchField": "x"})
    # when the chunk runs
    assert receipt_jobs_run_task(jobs) == {ReceiptJob.State.DONE: 2, ReceiptJob.State.PENDING: 1}
    # then the others are signed and that one waits for a retry with the reason
    for receipt in _receipts(jobs):
        if receipt.pk != broken.pk:
            _assert_signed_once(receipt, pki)
    job = ReceiptJob.objects.get(receipt=broken, step="sign")
    assert (job.attempts, job.available_at > timezone.now()) == (1, True)
    assert "DATAFILE_UNREPRESENTABLE" in job.last_error
    assert Receipt.objects.get(pk=broken.pk).sign_status == SignStatus.PENDING


def test_without_a_certificate_every_job_of_the_chunk_is_dead_with_the_reason(unit: Unit, province: Any) -> None:
    jobs = _issue_pending(unit, "NC", 3)
    assert receipt_jobs_run_task(jobs) == {ReceiptJob.State.DEAD: 3}
    assert all("没有有效的签名证书" in job.last_error for job in ReceiptJob.objects.filter(pk__in=jobs))


def test_a_receipt_another_worker_signed_meanwhile_keeps_the_first_signature(
    unit: Unit, pki: dict[str, Any], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # given a worker whose lease ran out while it signed, and another worker that signed the receipt first
    jobs = _issue_pending(unit, "RACE", 1)
    receipt = _receipts(jobs)[0]
    sign_many = pipeline.datafile_sign_and_supervise_many

    def slow(documents: Any) -> Any:
        signed = sign_many(documents)
        monkeypatch.setattr(pipeline, "datafile_sign_and_supervise_many", sign_many)
        pipeline.receipts_sign([receipt.pk])  # the other worker
        return signed

    monkeypatch.setattr(pipeline, "datafile_sign_and_supervise_many", slow)
    folder = _folder(receipt)
    before = _files(folder)  # the in-memory storage outlives each test's database
    with django_capture_on_commit_callbacks(execute=True):
        assert receipt_jobs_run_task(jobs) == {ReceiptJob.State.DONE: 1}
    # then the first signature stands alone: one new file, the one the receipt names, and one audit row
    receipt.refresh_from_db()
    assert _files(folder) - before == {receipt.datafile.name}
    _assert_signed_once(receipt, pki)


def _sandbox_twin(receipt: Receipt) -> Receipt:
    """A sandbox (联调测试) receipt with the same code and number: the sandbox numbers apart."""
    items = list(receipt.items.all())
    twin = Receipt.objects.get(pk=receipt.pk)
    twin.pk = None
    twin.sandbox = True
    twin.save()
    for item in items:
        item.pk = None
        item.receipt = twin
        item.save()
    return twin


def test_a_sandbox_receipt_and_a_production_receipt_with_the_same_number_are_both_signed(
    unit: Unit, pki: dict[str, Any]
) -> None:
    # given a production receipt and a sandbox receipt with the same code and number, in one chunk
    jobs = _issue_pending(unit, "ENV", 1)
    production = _receipts(jobs)[0]
    sandbox = _sandbox_twin(production)
    twin_job = ReceiptJob.objects.create(receipt=sandbox, step="sign", available_at=timezone.now())
    # when a worker runs the chunk
    assert receipt_jobs_run_task([*jobs, twin_job.pk]) == {ReceiptJob.State.DONE: 2}
    # then each is signed, in a file of its own, and only the sandbox one says it is not valid
    production.refresh_from_db()
    sandbox.refresh_from_db()
    _assert_signed_once(production, pki)
    _assert_signed_once(sandbox, pki)
    assert production.datafile.name != sandbox.datafile.name
    remarks = [datafile_parse(_read(receipt.datafile.name)).supervisor_remark for receipt in (production, sandbox)]
    assert remarks == ["", SANDBOX_REMARK]


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def test_the_audit_row_of_a_signature_is_the_one_audit_build_makes(unit: Unit, pki: dict[str, Any]) -> None:
    jobs = _issue_pending(unit, "AUD", 2)
    receipt_jobs_run_task(jobs)
    for receipt in _receipts(jobs):
        event = AuditEvent.objects.get(action="receipt.sign", object_id=str(receipt.pk))
        expected = audit_build(
            actor=pipeline.PIPELINE,
            action="receipt.sign",
            object_type="receipt",
            object_id=receipt.pk,
            unit_code=unit.code,
            region_code=receipt.region_code,
            data={
                "unitCert": pki["unit_cert"].serial_number,
                "supervisorCert": pki["seal_cert"].serial_number,
                "signedAt": receipt.signed_at.isoformat(),
            },
        )
        fields = ("actor_type", "actor", "action", "object_type", "object_id", "unit_code", "region_code", "data")
        assert [getattr(event, name) for name in fields] == [getattr(expected, name) for name in fields]
        assert abs(event.occurred_at - receipt.signed_at) < datetime.timedelta(minutes=1)


def test_a_chunk_whose_recording_fails_leaves_its_receipts_pending_and_its_jobs_for_a_retry(
    unit: Unit, pki: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a database that refuses the render jobs, after the receipts were marked signed and their jobs done
    def refused(**kwargs: Any) -> list[int]:
        raise RuntimeError("render jobs refused")

    monkeypatch.setattr(pipeline, "jobs_create", refused)
    jobs = _issue_pending(unit, "ROLL", 2)
    folders = [_folder(receipt) for receipt in _receipts(jobs)]
    before = [_files(folder) for folder in folders]  # the in-memory storage outlives each test's database
    # when the chunk runs
    assert receipt_jobs_run_task(jobs) == {ReceiptJob.State.PENDING: 2}
    # then nothing of the recording stands: no signature, no audit row, no file; the jobs wait for a retry
    for receipt in _receipts(jobs):
        assert (receipt.sign_status, receipt.datafile.name) == (SignStatus.PENDING, "")
        assert not AuditEvent.objects.filter(action="receipt.sign", object_id=str(receipt.pk)).exists()
    assert [_files(folder) for folder in folders] == before
    for job in ReceiptJob.objects.filter(pk__in=jobs):
        assert (job.state, job.attempts) == (ReceiptJob.State.PENDING, 1)
        assert "render jobs refused" in job.last_error


@pytest.mark.django_db(transaction=True)
def test_a_chunk_is_recorded_and_its_jobs_finished_in_one_commit(
    unit: Unit, pki: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given committed receipts whose jobs no worker has run (messages are not sent here)
    from issuance import jobs as job_module

    monkeypatch.setattr(job_module, "jobs_enqueue", lambda job_ids: None)
    jobs = _issue_pending(unit, "ONE", 3)
    # when a worker runs the chunk
    with CaptureQueriesContext(connection) as queries:
        assert receipt_jobs_run_task(jobs) == {ReceiptJob.State.DONE: 3}
    statements = [q["sql"] for q in queries]
    finishing = [i for i, sql in enumerate(statements) if sql.startswith("UPDATE") and "'done'" in sql]
    commits = [i for i, sql in enumerate(statements) if sql == "COMMIT"]
    # then the sign jobs are finished by one statement, inside the transaction that records the signatures
    assert len(finishing) == 1 and len(commits) == 1 and finishing[0] < commits[0], statements
    assert set(ReceiptJob.objects.filter(pk__in=jobs).values_list("state", flat=True)) == {"done"}


def _folder(receipt: Receipt) -> str:
    """The directory of the receipt's files (shared with the receipts whose numbers are near its own)."""
    return posixpath.dirname(_receipt_file_path(receipt, "einvoice.xml"))


def _files(folder: str) -> set[str]:
    if not default_storage.exists(folder):
        return set()
    return {f"{folder}/{name}" for name in default_storage.listdir(folder)[1] if name.endswith(".xml")}


# --- The one-pass signing the pipeline uses -------------------------------------------------


def _fake_signer(tag: bytes) -> Any:
    return lambda data: hashlib.sha256(tag + data).digest()


def _fake_verifier(tag: bytes) -> Any:
    return lambda data, signature: signature == hashlib.sha256(tag + data).digest()


MOMENT = datetime.datetime(2026, 1, 5, 2, 15, 31, tzinfo=datetime.UTC)


def _one_pass(xml: bytes, *, unit_tag: bytes = b"unit", unique: bool = True) -> SupervisedSigning:
    return SupervisedSigning(
        xml=xml,
        unit_signer=_fake_signer(unit_tag),
        unit_certificate_serial="0A1B",
        unit_verify=_fake_verifier(b"unit"),
        number_is_unique=lambda code, number: unique,
        signer=_fake_signer(b"seal"),
        certificate_serial="0C1D",
        signing_time=MOMENT,
    )


def _two_steps(xml: bytes) -> bytes:
    unit_signed = datafile_sign(
        xml, role="unit", signer=_fake_signer(b"unit"), certificate_serial="0A1B", signing_time=MOMENT
    )
    return datafile_supervise(
        unit_signed,
        unit_verify=_fake_verifier(b"unit"),
        number_is_unique=lambda code, number: True,
        signer=_fake_signer(b"seal"),
        certificate_serial="0C1D",
        signing_time=MOMENT,
    )


def test_one_pass_signing_writes_what_the_two_steps_write(unit: Unit) -> None:
    # given the unsigned data file of a receipt, as built and as an indented copy
    xml = receipt_xml_build(issue_direct(unit, nontax_payload("ONE1")))
    indented = etree.tostring(etree.fromstring(xml), pretty_print=True, xml_declaration=True, encoding="UTF-8")
    for document in (xml, indented):
        # when it is signed in one pass, then the result is byte for byte the two steps' result
        assert datafile_sign_and_supervise_many([_one_pass(document)]) == [_two_steps(document)]


def test_one_pass_signing_refuses_what_the_two_steps_refuse_and_goes_on_with_the_rest(unit: Unit) -> None:
    xml = receipt_xml_build(issue_direct(unit, nontax_payload("ONE2")))
    results = datafile_sign_and_supervise_many(
        [
            _one_pass(xml, unit_tag=b"stolen key"),
            _one_pass(xml, unique=False),
            _one_pass(b"<EInvoice/>"),
            _one_pass(xml),
        ]
    )
    assert [getattr(result, "code", None) for result in results[:3]] == [
        DataFileErrorCode.UNIT_SIGNATURE_INVALID,
        DataFileErrorCode.NUMBER_NOT_UNIQUE,
        DataFileErrorCode.UNSUPPORTED_VERSION,
    ]
    assert results[3] == _two_steps(xml)
    with pytest.raises(DataFileError) as caught:
        datafile_supervise(
            datafile_sign(
                xml, role="unit", signer=_fake_signer(b"stolen key"), certificate_serial="0A1B", signing_time=MOMENT
            ),
            unit_verify=_fake_verifier(b"unit"),
            number_is_unique=lambda code, number: True,
            signer=_fake_signer(b"seal"),
            certificate_serial="0C1D",
            signing_time=MOMENT,
        )
    assert str(caught.value) == str(results[0])
