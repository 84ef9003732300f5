"""`manage.py verify_receipt` accepts what the pipeline signed and rejects each kind of forgery with its reason.

Receipts are signed by the real pipeline (or, where a test needs a certificate the pipeline would
refuse, by the same datafile_sign/datafile_supervise calls); the certificates and CRL a third party
would use come from `manage.py export_certificates`.

The plain helpers here are also used by tests/test_standalone_verifier.py.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from lxml import etree

from issuance.datafile import datafile_sign, datafile_supervise, receipt_xml_build
from issuance.layout import layout_data_from_receipt, pdf_attach_xml, render_receipt_pdf
from issuance.models import Receipt
from tests.conftest import nontax_payload
from tests.issuance.conftest import issue_direct
from tests.support.factories import FinanceBureauFactory, RegionFactory
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import FinanceBureau, Region, Unit
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.models import Certificate
from zhongtai.signing.selectors import signing_key_get
from zhongtai.signing.services import (
    ca_bootstrap,
    certificate_issue_for_bureau,
    certificate_issue_for_unit,
    certificate_revoke,
    crl_generate,
)

ROOT = Path(__file__).resolve().parents[2]
ISSUE = "/api/v1/receipts/issue"
ACTOR = Actor.system("tests")
YEAR = datetime.timedelta(days=365)


# --- helpers (also imported by tests/test_standalone_verifier.py) ------------------------------


def issue_signed(api: Any, capture: Any, bus_no: str = "VERIFY1") -> Receipt:
    """A receipt issued through the API and signed and rendered by the pipeline."""
    with capture(execute=True):
        response = api.post(ISSUE, nontax_payload(bus_no))
    assert response.status_code == 201, response.json()
    receipt = Receipt.objects.get(bus_no=bus_no)
    assert receipt.datafile and receipt.layout_file
    return receipt


def export(directory: Path) -> Path:
    """`export_certificates` after a fresh CRL, as a third party would receive them."""
    crl_generate(actor=ACTOR)
    call_command("export_certificates", "--out", str(directory), "--region", "430000", stdout=StringIO())
    return directory


def file_args(directory: Path, *, crl: bool = True) -> list[str]:
    args = ["--root", str(directory / "root-ca.pem"), "--certs", str(directory)]
    return [*args, "--crl", str(directory / "issuing-ca.crl.pem")] if crl else args


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def flip(data: bytes, at: int) -> bytes:
    """``data`` with the byte at ``at`` changed into another byte that keeps the file well-formed."""
    old = data[at : at + 1]
    if old.isdigit():
        new = b"8" if old == b"9" else b"9"
    elif old in b"abcdef":
        new = b"b" if old == b"a" else b"a"
    else:
        assert 0x80 <= old[0] <= 0xBE, "a UTF-8 continuation byte stays one"
        new = bytes([old[0] ^ 0x01])
    return data[:at] + new + data[at + 1 :]


# (name, where the changed byte is, whether the unit signature still holds)
TAMPERING = [
    ("TotalAmount", lambda xml: xml.index(b"<TotalAmount>") + 13, False),
    ("PayerPartyName", lambda xml: xml.index(b"<PayerPartyName>") + 16 + 2, False),
    ("RandomNumber", lambda xml: xml.index(b"<RandomNumber>") + 14, False),
    ("ItemStd", lambda xml: xml.index(b"<ItemStd>") + 9 + 1, False),
    ("supervisor SigningTime", lambda xml: xml.rindex(b"+08:00</SigningTime>") - 1, True),
]


def load_receipt(receipt: Receipt) -> Receipt:
    return (
        Receipt.objects.select_related("kind", "unit", "unit__region", "issuing_point", "related_receipt")
        .prefetch_related("items")
        .get(pk=receipt.pk)
    )


def sign_manually(receipt: Receipt, *, unit_cert: Certificate, seal_cert: Certificate, at: datetime.datetime) -> bytes:
    """The pipeline's two signatures, with certificates and a time the pipeline would not choose."""
    unit_key, seal_key = signing_key_get(certificate=unit_cert), signing_key_get(certificate=seal_cert)
    unit_public = sm2.public_key_from_der(bytes(unit_cert.public_key_der))
    xml = datafile_sign(
        receipt_xml_build(load_receipt(receipt)),
        role="unit",
        signer=lambda data: sm2.sign(unit_key, data),
        certificate_serial=unit_cert.serial_number,
        signing_time=at,
    )
    return datafile_supervise(
        xml,
        unit_verify=lambda data, signature: sm2.verify(unit_public, data, signature),
        number_is_unique=lambda code, number: True,
        signer=lambda data: sm2.sign(seal_key, data),
        certificate_serial=seal_cert.serial_number,
        signing_time=at,
    )


def verify(*args: str) -> tuple[int, dict[str, Any]]:
    """Run the command with --json; (exit code, verdict)."""
    out = StringIO()
    try:
        call_command("verify_receipt", *args, "--json", stdout=out, stderr=StringIO())
        code = 0
    except CommandError as exc:
        code = exc.returncode
    text = out.getvalue()
    return code, json.loads(text) if text else {}


def check(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in verdict["checks"] if item["name"] == name)


def outcomes(verdict: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    return [(item["name"], item["ok"], item["code"]) for item in verdict["checks"]]


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def signed(api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Receipt:
    return issue_signed(api, django_capture_on_commit_callbacks)


@pytest.fixture
def exported(signed: Receipt, tmp_path: Path) -> Path:
    return export(tmp_path / "certs")


# --- valid receipts ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xml", "pdf"])
def test_a_signed_receipt_is_valid_as_xml_and_as_pdf(
    signed: Receipt, exported: Path, tmp_path: Path, kind: str
) -> None:
    # given the data file, or the layout file that carries it, and the exported certificates and CRL
    content = signed.datafile.read() if kind == "xml" else signed.layout_file.read()
    path = write(tmp_path, f"receipt.{kind}", content)
    # when a third party verifies it
    code, verdict = verify(str(path), *file_args(exported))
    # then every check passes, revocation included, and the summary is the receipt's
    assert code == 0, verdict
    assert verdict["valid"] is True and verdict["fileType"] == kind
    assert [name for name, ok, _ in outcomes(verdict) if ok is not True] == []
    assert [item["name"] for item in verdict["checks"]] == [
        "file_type",
        "well_formed",
        "schema",
        "canonical",
        "unit_signature",
        "supervisor_signature",
        "unit_certificate_chain",
        "supervisor_certificate_chain",
        "unit_revocation",
        "supervisor_revocation",
        "unit_certificate_role",
        "supervisor_certificate_role",
    ]
    summary = verdict["receipt"]
    assert (summary["receiptCode"], summary["number"], summary["checkCode"]) == (
        signed.receipt_code,
        signed.number_text,
        signed.check_code,
    )
    assert (summary["totalAmount"], summary["payerName"], summary["unitName"]) == ("55.50", "张三", signed.unit.name)
    assert summary["unitCreditCode"] == signed.unit.credit_code
    assert check(verdict, "canonical")["data"]["normalForm"] is True


def test_the_text_output_is_chinese_with_the_english_check_names(
    signed: Receipt, exported: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "receipt.pdf", signed.layout_file.read())
    out = StringIO()
    call_command("verify_receipt", str(path), *file_args(exported), stdout=out)
    text = out.getvalue()
    assert text.startswith("票据验证结果：有效（VALID）")
    assert "[通过] unit_signature 单位签名" in text
    assert "[通过] supervisor_certificate_chain 财政监制章证书链" in text
    assert f"票据号码：{signed.number_text}" in text and "合计金额：55.50 元" in text


def test_without_a_crl_the_verdict_says_revocation_was_not_checked(
    signed: Receipt, exported: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "einvoice.xml", signed.datafile.read())
    code, verdict = verify(str(path), *file_args(exported, crl=False))
    assert code == 0
    for name in ("unit_revocation", "supervisor_revocation"):
        assert check(verdict, name)["ok"] is None
        assert "未检查吊销状态" in check(verdict, name)["reason"]


def test_with_the_roots_crl_too_the_issuing_ca_is_checked_as_well(
    signed: Receipt, pki: dict[str, Any], tmp_path: Path
) -> None:
    # given the root's CRL exported next to the issuing CA's
    crl_generate(actor=ACTOR, authority=pki["ca"].root)
    directory = export(tmp_path / "certs")
    assert (directory / "root-ca.crl.pem").exists()
    path = write(tmp_path, "einvoice.xml", signed.datafile.read())
    # when both are given, every link of the chain is checked for revocation
    code, verdict = verify(str(path), *file_args(directory), "--crl", str(directory / "root-ca.crl.pem"))
    assert code == 0, verdict
    assert "未检查" not in check(verdict, "unit_revocation")["reason"]
    # with only the issuing CA's, the verdict says which link was not checked
    code, verdict = verify(str(path), *file_args(directory))
    assert code == 0
    assert "未检查“湖南省财政电子票据签发CA”的吊销状态" in check(verdict, "unit_revocation")["reason"]


def test_an_indented_copy_still_verifies(signed: Receipt, exported: Path, tmp_path: Path) -> None:
    # given the data file re-indented by an editor
    tree = etree.fromstring(signed.datafile.read())
    indented = etree.tostring(tree, encoding="UTF-8", xml_declaration=True, pretty_print=True)
    path = write(tmp_path, "indented.xml", indented)
    # then the signatures still hold (whitespace-only text is not signed), and the form is reported
    code, verdict = verify(str(path), *file_args(exported))
    assert code == 0, verdict
    assert check(verdict, "canonical")["data"]["normalForm"] is False


# --- altered files -----------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "position", "unit_still_valid"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_one_changed_byte_is_rejected_with_the_signature_reason(
    signed: Receipt, exported: Path, tmp_path: Path, field: str, position: Any, unit_still_valid: bool
) -> None:
    # given a data file with one byte changed
    xml = signed.datafile.read()
    path = write(tmp_path, "tampered.xml", flip(xml, position(xml)))
    # when it is verified
    code, verdict = verify(str(path), *file_args(exported))
    # then it is invalid, and the signature check says the data changed after signing
    assert code == 1 and verdict["valid"] is False
    supervisor = check(verdict, "supervisor_signature")
    assert (supervisor["ok"], supervisor["code"]) == (False, "SIGNATURE_MISMATCH")
    assert "签名后被改动" in supervisor["reason"]
    unit = check(verdict, "unit_signature")
    assert unit["ok"] is unit_still_valid
    assert unit["code"] == ("OK" if unit_still_valid else "SIGNATURE_MISMATCH")
    # the certificates themselves are still fine: the failure is the data's
    assert check(verdict, "unit_certificate_chain")["ok"] is True


def test_a_changed_total_also_breaks_the_consistency_rules(signed: Receipt, exported: Path, tmp_path: Path) -> None:
    xml = signed.datafile.read()
    path = write(tmp_path, "tampered.xml", flip(xml, xml.index(b"<TotalAmount>") + 13))
    code, verdict = verify(str(path), *file_args(exported))
    assert code == 1
    schema = check(verdict, "schema")
    assert (schema["ok"], schema["code"]) == (False, "DATAFILE_INCONSISTENT")
    assert "TotalAmount" in schema["reason"]


def test_a_document_type_declaration_is_refused_before_anything_else(
    signed: Receipt, exported: Path, tmp_path: Path
) -> None:
    xml = signed.datafile.read().replace(b"?>\n", b'?>\n<!DOCTYPE EInvoice [<!ENTITY x "y">]>\n', 1)
    code, verdict = verify(str(write(tmp_path, "dtd.xml", xml)), *file_args(exported))
    assert code == 1
    assert outcomes(verdict) == [("file_type", True, "OK"), ("well_formed", False, "DATAFILE_FORBIDDEN_CONSTRUCT")]


def test_a_pdf_without_the_data_file_is_rejected(signed: Receipt, exported: Path, tmp_path: Path) -> None:
    pdf = render_receipt_pdf(layout_data_from_receipt(load_receipt(signed)), xml=None)
    code, verdict = verify(str(write(tmp_path, "bare.pdf", pdf)), *file_args(exported))
    assert code == 1
    assert outcomes(verdict) == [("file_type", False, "PDF_NO_DATAFILE")]
    assert "einvoice.xml" in verdict["checks"][0]["reason"]


def test_a_pdf_with_two_data_files_is_rejected(signed: Receipt, exported: Path, tmp_path: Path) -> None:
    pdf = pdf_attach_xml(signed.layout_file.read(), signed.datafile.read())
    code, verdict = verify(str(write(tmp_path, "double.pdf", pdf)), *file_args(exported))
    assert code == 1
    assert outcomes(verdict) == [("file_type", False, "PDF_SEVERAL_DATAFILES")]


def test_a_file_that_is_neither_xml_nor_pdf_is_rejected(exported: Path, tmp_path: Path) -> None:
    code, verdict = verify(str(write(tmp_path, "receipt.png", b"\x89PNG\r\n\x1a\n")), *file_args(exported))
    assert code == 1
    assert outcomes(verdict) == [("file_type", False, "FILE_UNSUPPORTED")]


# --- wrong, revoked and expired certificates --------------------------------------------------


def _other_province_root(tmp_path: Path, exported: Path) -> Path:
    hubei = RegionFactory(code="420000", name="湖北省", level=Region.Level.PROVINCE)
    FinanceBureauFactory(region=hubei, name="湖北省财政厅")
    hierarchy = ca_bootstrap(province=hubei, actor=ACTOR)
    assert hierarchy.root.certificate is not None
    return write(tmp_path, "hubei-root.pem", certs.der_to_pem(bytes(hierarchy.root.certificate.der)))


def _look_alike_root(tmp_path: Path, exported: Path) -> Path:
    """A self-made root with the province root's very name, and another key."""
    genuine = certs.certificate_parse(certs.pem_to_der((exported / "root-ca.pem").read_bytes()))
    key = sm2.generate_private_key()
    now = timezone.now()
    der = certs.certificate_build(
        profile=certs.Profile.ROOT_CA,
        serial=genuine.serial,
        subject=genuine.subject,
        public_key_der=sm2.public_key_to_der(sm2.public_key_of(key)),
        not_before=now - YEAR,
        not_after=now + YEAR,
        issuer_key=key,
        issuer_certificate_der=None,
    )
    return write(tmp_path, "fake-root.pem", certs.der_to_pem(der))


@pytest.mark.parametrize("make_root", [_other_province_root, _look_alike_root], ids=["other province", "look-alike"])
def test_a_wrong_root_fails_the_chain(signed: Receipt, exported: Path, tmp_path: Path, make_root: Any) -> None:
    root = make_root(tmp_path, exported)
    path = write(tmp_path, "einvoice.xml", signed.datafile.read())
    code, verdict = verify(str(path), "--root", str(root), "--certs", str(exported))
    assert code == 1
    # the signatures hold, but neither certificate chains to the root the verifier trusts
    assert check(verdict, "unit_signature")["ok"] is True
    for name in ("unit_certificate_chain", "supervisor_certificate_chain"):
        assert (check(verdict, name)["ok"], check(verdict, name)["code"]) == (False, "ISSUER_NOT_FOUND")
        assert "受信任的根证书" in check(verdict, name)["reason"]


def test_a_forged_certificate_with_the_units_serial_is_rejected(
    signed: Receipt, pki: dict[str, Any], exported: Path, tmp_path: Path
) -> None:
    # given a certificate that copies the unit certificate's serial, subject and issuer name,
    # for another key, signed by someone who is not the issuing CA
    genuine = certs.certificate_parse(bytes(pki["unit_cert"].der))
    forger, stolen_name = sm2.generate_private_key(), sm2.generate_private_key()
    forged = certs.certificate_build(
        profile=certs.Profile.END_ENTITY,
        serial=genuine.serial,
        subject=genuine.subject,
        public_key_der=sm2.public_key_to_der(sm2.public_key_of(stolen_name)),
        not_before=genuine.not_before,
        not_after=genuine.not_after,
        issuer_key=forger,
        issuer_certificate_der=bytes(pki["ca"].issuing.certificate.der),
    )
    (exported / f"unit-430102001-{pki['unit_cert'].serial_number}.pem").write_bytes(certs.der_to_pem(forged))
    path = write(tmp_path, "einvoice.xml", signed.datafile.read())
    # when it is offered as the unit's certificate
    code, verdict = verify(str(path), *file_args(exported))
    # then the signature does not match its key, and its chain does not hold
    assert code == 1
    assert check(verdict, "unit_signature")["code"] == "SIGNATURE_MISMATCH"
    assert check(verdict, "unit_certificate_chain")["code"] == "BAD_SIGNATURE"


def test_a_receipt_signed_with_another_units_certificate_is_rejected(
    signed: Receipt, pki: dict[str, Any], other_unit: Unit, tmp_path: Path
) -> None:
    # given a receipt of the hospital signed with a school's valid certificate
    other_cert = certificate_issue_for_unit(unit=other_unit, actor=ACTOR)
    xml = sign_manually(signed, unit_cert=other_cert, seal_cert=pki["seal_cert"], at=timezone.now())
    directory = export(tmp_path / "certs")
    code, verdict = verify(str(write(tmp_path, "einvoice.xml", xml)), *file_args(directory))
    # then signatures and chains hold, but the certificate is not the invoicing unit's
    assert code == 1
    assert check(verdict, "unit_signature")["ok"] is True
    role = check(verdict, "unit_certificate_role")
    assert (role["ok"], role["code"]) == (False, "CREDIT_CODE_MISMATCH")
    assert other_unit.credit_code in role["reason"] and signed.unit.credit_code in role["reason"]


def test_a_supervision_signature_made_with_a_unit_certificate_is_rejected(
    signed: Receipt, pki: dict[str, Any], tmp_path: Path
) -> None:
    xml = sign_manually(signed, unit_cert=pki["unit_cert"], seal_cert=pki["unit_cert"], at=timezone.now())
    code, verdict = verify(str(write(tmp_path, "einvoice.xml", xml)), *file_args(export(tmp_path / "certs")))
    assert code == 1
    assert check(verdict, "supervisor_signature")["ok"] is True
    role = check(verdict, "supervisor_certificate_role")
    assert (role["ok"], role["code"]) == (False, "CERTIFICATE_ROLE_MISMATCH")
    assert "监制章证书" in role["reason"]


def test_a_unit_certificate_revoked_for_key_compromise_is_rejected(
    signed: Receipt, pki: dict[str, Any], tmp_path: Path
) -> None:
    # given the unit's key reported stolen after the receipt was signed, and the new CRL
    certificate_revoke(certificate=pki["unit_cert"], reason="key_compromise", actor=ACTOR)
    directory = export(tmp_path / "certs")
    path = write(tmp_path, "einvoice.xml", signed.datafile.read())
    # when a third party verifies with the CRL
    code, verdict = verify(str(path), *file_args(directory))
    # then the receipt is rejected: a stolen key signs with any claimed time
    assert code == 1
    revocation = check(verdict, "unit_revocation")
    assert (revocation["ok"], revocation["code"]) == (False, "REVOKED")
    assert "密钥泄露" in revocation["reason"] and revocation["data"]["reason"] == "key_compromise"
    assert check(verdict, "supervisor_revocation")["ok"] is True
    # and without the CRL the verdict cannot know, and says so
    code, verdict = verify(str(path), *file_args(directory, crl=False))
    assert code == 0 and check(verdict, "unit_revocation")["ok"] is None


def test_a_certificate_superseded_after_signing_keeps_the_receipt_valid(
    signed: Receipt, pki: dict[str, Any], tmp_path: Path
) -> None:
    # given the unit's certificate replaced a minute after the receipt was signed
    later = signed.signed_at + datetime.timedelta(minutes=1)
    certificate_revoke(certificate=pki["unit_cert"], reason="superseded", actor=ACTOR, now=later)
    directory = export(tmp_path / "certs")
    # then the receipt stays valid: the certificate was good when it signed
    code, verdict = verify(str(write(tmp_path, "einvoice.xml", signed.datafile.read())), *file_args(directory))
    assert code == 0, verdict
    assert "于签名之后被吊销" in check(verdict, "unit_revocation")["reason"]


def test_a_signature_made_after_the_certificate_was_revoked_is_rejected(
    signed: Receipt, pki: dict[str, Any], tmp_path: Path
) -> None:
    # given a certificate revoked (superseded) an hour before a signature claims to have been made
    now = timezone.now().replace(microsecond=0)
    certificate_revoke(certificate=pki["unit_cert"], reason="superseded", actor=ACTOR, now=now)
    xml = sign_manually(
        signed, unit_cert=pki["unit_cert"], seal_cert=pki["seal_cert"], at=now + datetime.timedelta(hours=1)
    )
    code, verdict = verify(str(write(tmp_path, "einvoice.xml", xml)), *file_args(export(tmp_path / "certs")))
    assert code == 1
    revocation = check(verdict, "unit_revocation")
    assert (revocation["ok"], revocation["code"]) == (False, "REVOKED")
    assert "证书已被取代" in revocation["reason"]


def sign_with_an_expired_certificate(unit: Unit, province: Region, directory: Path) -> tuple[Path, Certificate]:
    """einvoice.xml in ``directory`` signed today with a unit certificate that expired a year ago.

    The CA was set up five years ago and the certificate issued three years ago; the seal is
    current. The certificates and the CRL are exported to ``directory``/certs.
    """
    now = timezone.now().replace(microsecond=0)
    ca_bootstrap(province=province, actor=ACTOR, now=now - 5 * YEAR)
    expired = certificate_issue_for_unit(unit=unit, actor=ACTOR, now=now - 3 * YEAR)
    # Issued at ``now`` exactly: under load a later second would make the seal not yet valid at ``now``.
    seal = certificate_issue_for_bureau(bureau=FinanceBureau.objects.get(region=province), actor=ACTOR, now=now)
    assert expired.not_after < now
    receipt = issue_direct(unit, nontax_payload("EXPIRED1"))
    xml = sign_manually(receipt, unit_cert=expired, seal_cert=seal, at=now)
    export(directory / "certs")
    return write(directory, "einvoice.xml", xml), expired


def test_a_signature_made_after_the_certificate_expired_is_rejected(
    unit: Unit, province: Region, tmp_path: Path
) -> None:
    # given a receipt the unit signs today with a certificate that expired a year ago
    path, expired = sign_with_an_expired_certificate(unit, province, tmp_path)
    # when it is verified
    code, verdict = verify(str(path), *file_args(tmp_path / "certs"))
    # then the signature is mathematically fine, but the certificate had expired when it was made
    assert code == 1
    assert check(verdict, "unit_signature")["ok"] is True
    chain = check(verdict, "unit_certificate_chain")
    assert (chain["ok"], chain["code"]) == (False, "EXPIRED")
    assert "证书已过期" in chain["reason"]
    assert timezone.localtime(expired.not_after).strftime("%Y-%m-%d") in chain["reason"]
    assert check(verdict, "supervisor_certificate_chain")["ok"] is True


# --- database mode (operators) -----------------------------------------------------------------


def test_an_operator_verifies_without_files_and_is_told_the_database_was_trusted(
    signed: Receipt, tmp_path: Path
) -> None:
    path = write(tmp_path, "einvoice.pdf", signed.layout_file.read())
    out = StringIO()
    call_command("verify_receipt", str(path), stdout=out)
    assert "信任来源：平台数据库" in out.getvalue()
    code, verdict = verify(str(path))
    assert code == 0, verdict
    assert "平台数据库" in verdict["trust"]
    assert "平台记录" in check(verdict, "unit_revocation")["reason"]


def test_database_mode_sees_a_revocation_without_any_crl(signed: Receipt, pki: dict[str, Any], tmp_path: Path) -> None:
    certificate_revoke(certificate=pki["unit_cert"], reason="key_compromise", actor=ACTOR)
    code, verdict = verify(str(write(tmp_path, "einvoice.xml", signed.datafile.read())))
    assert code == 1
    assert check(verdict, "unit_revocation")["code"] == "REVOKED"


def test_serials_are_matched_by_value_not_by_spelling(
    api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    # given a unit certificate whose serial the store pads to 32 digits and the data file writes minimally
    monkeypatch.setattr(certs, "random_serial", lambda: 0xABCD)
    certificate = certificate_issue_for_unit(unit=pki["unit_cert"].unit, actor=ACTOR)
    assert certificate.serial_number == "0" * 28 + "ABCD"
    receipt = issue_signed(api, django_capture_on_commit_callbacks, "SERIAL1")
    xml = receipt.datafile.read()
    assert b"<CertificateSerial>00ABCD</CertificateSerial>" in xml
    path = write(tmp_path, "einvoice.xml", xml)
    # then both the database and the exported files find the certificate
    assert verify(str(path))[0] == 0
    assert verify(str(path), *file_args(export(tmp_path / "certs")))[0] == 0


# --- usage errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(lambda d, f: [f, "--certs", str(d)], id="certs without root"),
        pytest.param(lambda d, f: [f, "--root", str(d / "root-ca.pem")], id="root without certs"),
        pytest.param(lambda d, f: [f + ".missing", *file_args(d)], id="missing file"),
        pytest.param(
            lambda d, f: [f, "--root", str(d / "issuing-ca.crl.pem"), "--certs", str(d)], id="root not a cert"
        ),
        pytest.param(lambda d, f: [f, *file_args(d, crl=False), "--crl", str(d / "root-ca.pem")], id="crl not a crl"),
        pytest.param(lambda d, f: [f, "--root", str(d / "root-ca.pem"), "--certs", str(d / "nowhere")], id="no certs"),
    ],
)
def test_usage_errors_exit_with_2(signed: Receipt, exported: Path, tmp_path: Path, args: Any) -> None:
    path = write(tmp_path, "einvoice.xml", signed.datafile.read())
    with pytest.raises(CommandError) as caught:
        call_command("verify_receipt", *args(exported, str(path)), stdout=StringIO())
    assert caught.value.returncode == 2, str(caught.value)


def test_the_exit_codes_of_the_real_command(signed: Receipt, exported: Path, tmp_path: Path) -> None:
    # given the command run as an operator or a third party would run it, in a process of its own
    xml = signed.datafile.read()
    valid = write(tmp_path, "valid.xml", xml)
    tampered = write(tmp_path, "tampered.xml", flip(xml, xml.index(b"<RandomNumber>") + 14))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, str(ROOT / "manage.py"), "verify_receipt", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)

    # then: 0 valid, 1 invalid with the reason on stderr, 2 usage error
    assert run(str(valid), *file_args(exported)).returncode == 0
    invalid = run(str(tampered), *file_args(exported))
    assert invalid.returncode == 1 and "单位签名与数据不符" in invalid.stderr
    assert run(str(valid), "--certs", str(exported)).returncode == 2
    assert run(str(valid), "--no-such-option").returncode == 2


# --- export_certificates -----------------------------------------------------------------------


def test_export_writes_every_certificate_and_the_crl_as_pem(
    signed: Receipt, pki: dict[str, Any], tmp_path: Path
) -> None:
    directory = export(tmp_path / "out")
    names = sorted(path.name for path in directory.iterdir())
    assert names == sorted(
        [
            "root-ca.pem",
            "issuing-ca.pem",
            "issuing-ca.crl.pem",
            f"unit-430102001-{pki['unit_cert'].serial_number}.pem",
            f"seal-430000-{pki['seal_cert'].serial_number}.pem",
        ]
    )
    for name in names:
        text = (directory / name).read_text("ascii")
        assert text.startswith(
            "-----BEGIN X509 CRL-----" if name.endswith(".crl.pem") else "-----BEGIN CERTIFICATE-----"
        )
        assert "PRIVATE" not in text
    unit_der = certs.pem_to_der((directory / names[-1]).read_bytes())
    assert unit_der == bytes(pki["unit_cert"].der)


def test_export_refuses_before_the_ca_exists(province: Region, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="CA_NOT_BOOTSTRAPPED"):
        call_command("export_certificates", "--out", str(tmp_path), stdout=StringIO())
