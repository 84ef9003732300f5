"""The published test vectors (tests/vectors/) reproduce byte for byte, from the script, from
receipts stored in the database, and their signatures verify with two other SM2 implementations."""

from __future__ import annotations

import base64
import datetime
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from asn1crypto.algos import DSASignature
from gmssl import sm2 as gmssl_sm2

from issuance.datafile import datafile_parse, receipt_xml_build
from issuance.models import Receipt
from tests.support.factories import FeeItemFactory, ReceiptKindFactory, UnitFactory
from tests.vectors import make_vectors
from zhongtai.masterdata.models import Region
from zhongtai.signing import sm2

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
NAMES = make_vectors.VECTORS
ROLES = ("unit", "supervisor")
ROOT = VECTORS.parent.parent


def meta(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name / "signatures.json").read_text(encoding="utf-8"))


def test_make_vectors_check_passes_on_the_committed_files() -> None:
    # given the committed vectors / when the generator checks them as a third party would run it
    result = subprocess.run(
        [sys.executable, str(VECTORS / "make_vectors.py"), "--check"], cwd=ROOT, capture_output=True, text=True
    )
    # then every file reproduces and every signature verifies
    assert result.returncode == 0, result.stderr
    assert "reproduce byte for byte" in result.stdout


def test_make_vectors_check_notices_a_changed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a copy of the vectors with one byte of one canonical file changed
    copy = tmp_path / "vectors"
    shutil.copytree(VECTORS, copy)
    monkeypatch.setattr(make_vectors, "HERE", copy)
    assert make_vectors.check() == 0
    path = copy / "02-outpatient" / "unit.c14n"
    path.write_bytes(path.read_bytes().replace(b"<Department>", b"<Department> ", 1))
    # then the check fails
    assert make_vectors.check() == 1


def test_writing_again_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a copy of the vectors / when the generator writes them again
    copy = tmp_path / "vectors"
    shutil.copytree(VECTORS, copy)
    monkeypatch.setattr(make_vectors, "HERE", copy)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert make_vectors.write() == 0
    # then every file is identical: the committed signatures still verify, so they are kept
    assert {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_published_digests_describe_the_published_bytes(name: str, role: str) -> None:
    entry = meta(name)[role]
    signed_bytes = (VECTORS / name / entry["signed_bytes_file"]).read_bytes()
    assert entry["signed_bytes_length"] == len(signed_bytes)
    assert entry["signed_bytes_sm3"] == sm2.sm3(signed_bytes).hex()
    assert entry["e"] == sm2.sm3(bytes.fromhex(entry["za"]) + signed_bytes).hex()
    assert base64.b64decode(entry["signature_base64"]) == bytes.fromhex(entry["signature_der_hex"])
    signature = datafile_parse((VECTORS / name / "signed.xml").read_bytes()).signature(role)
    assert signature is not None
    assert signature.value.hex() == entry["signature_der_hex"]
    assert signature.certificate_serial == entry["certificate_serial"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_gmssl_verifies_the_published_signatures_over_e(name: str, role: str) -> None:
    # given gmssl, a pure-Python SM2 independent of the platform's library, and the published e = SM3(Z || M)
    entry = meta(name)[role]
    point = sm2.public_key_to_point(sm2.public_key_from_pem((VECTORS / entry["key"]).read_bytes()))
    assert make_vectors.za_digest(point, b"1234567812345678").hex() == entry["za"]
    verifier = gmssl_sm2.CryptSM2(private_key=None, public_key="")
    verifier.public_key = point[1:].hex()  # gmssl's constructor strips leading "0"/"4" digits
    r_s = DSASignature.load(bytes.fromhex(entry["signature_der_hex"]))
    signature = f"{r_s['r'].native:064x}{r_s['s'].native:064x}"
    # then the signature verifies, and not over another digest
    assert verifier.verify(signature, bytes.fromhex(entry["e"]))
    assert not verifier.verify(signature, bytes.fromhex(entry["signed_bytes_sm3"]))


def _openssl_has_sm2() -> bool:
    if not shutil.which("openssl"):
        return False
    result = subprocess.run(["openssl", "list", "-public-key-algorithms"], capture_output=True, text=True)
    return "SM2" in result.stdout


@pytest.mark.skipif(not _openssl_has_sm2(), reason="no openssl command with SM2")
@pytest.mark.parametrize("name", NAMES)
def test_openssl_verifies_the_published_signatures(name: str, tmp_path: Path) -> None:
    for role in ROLES:
        entry = meta(name)[role]
        signature = tmp_path / f"{role}.der"
        signature.write_bytes(bytes.fromhex(entry["signature_der_hex"]))
        command = [
            "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(VECTORS / entry["key"]),
            "-rawin", "-digest", "sm3", "-in", str(VECTORS / name / f"{role}.c14n"), "-sigfile", str(signature),
        ]  # fmt: skip
        with_id = subprocess.run([*command, "-pkeyopt", "distid:1234567812345678"], capture_output=True, text=True)
        assert with_id.returncode == 0, with_id.stdout + with_id.stderr
        # OpenSSL 3 defaults to an empty signer ID: without distid the signature must not verify
        assert subprocess.run(command, capture_output=True).returncode != 0


def _store(data: dict[str, Any], region: Region, original: Receipt | None = None) -> Receipt:
    """The vector's receipt written to the database as issuance writes receipts."""
    fields = data["receipt"]
    kind_code = fields["receipt_code"][2:6]
    kind = ReceiptKindFactory(category_code=kind_code[:2], kind_code=kind_code[2:], **data["kind"])
    unit = UnitFactory(region=region, **data["unit"])
    receipt = Receipt.objects.create(
        receipt_code=fields["receipt_code"],
        number=fields["number"],
        check_code=fields["check_code"],
        kind=kind,
        unit=unit,
        region_code=fields["region_code"],
        is_red=fields["is_red"],
        related_receipt=original,
        bus_no=fields["bus_no"],
        bus_date=datetime.date.fromisoformat(fields["issue_date"]),
        source=Receipt.Source.API,
        issued_by="tests",
        issued_at=datetime.datetime.fromisoformat(fields["issued_at"]),
        issue_date=datetime.date.fromisoformat(fields["issue_date"]),
        payer_type=fields["payer_type"],
        payer_name=fields["payer_name"],
        payee_name=fields["payee_name"],
        payee_account=fields["payee_account"],
        payee_bank=fields["payee_bank"],
        total_amount=Decimal(fields["total_amount"]),
        total_amount_upper="-",
        pay_mode=fields["pay_mode"],
        handling_person=fields["handling_person"],
        checker=fields["checker"],
        remark=fields["remark"],
        ext=fields["ext"],
    )
    for item in data["items"]:
        receipt.items.create(
            line_no=item["line_no"],
            fee_item=FeeItemFactory(code=item["item_code"], name=item["item_name"]),
            item_code=item["item_code"],
            item_name=item["item_name"],
            unit_of_measure=item["unit_of_measure"],
            quantity=Decimal(item["quantity"]),
            standard=Decimal(item["standard"]),
            amount=Decimal(item["amount"]),
            remark=item["remark"],
        )
    return receipt


def test_receipts_stored_in_the_database_build_the_published_documents(furong: Region) -> None:
    # given the three vectors' receipts written to and read back from the database
    inputs = {name: json.loads((VECTORS / name / "input.json").read_text(encoding="utf-8")) for name in NAMES}
    original = _store(inputs["01-nontax"], furong)
    stored = {
        "01-nontax": original,
        "02-outpatient": _store(inputs["02-outpatient"], furong),
        "03-red": _store(inputs["03-red"], furong, original=original),
    }
    for name, receipt in stored.items():
        loaded = (
            Receipt.objects.select_related("kind", "unit", "related_receipt")
            .prefetch_related("items")
            .get(pk=receipt.pk)
        )
        # then building their data files gives the published bytes
        assert receipt_xml_build(loaded) == (VECTORS / name / "unsigned.xml").read_bytes(), name
