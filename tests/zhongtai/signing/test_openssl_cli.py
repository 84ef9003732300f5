"""The per-link verification commands of docs/certificates.md, run with the system ``openssl``.

OpenSSL 3.0 (Debian 12's) verifies one SM2 link at a time with ``-vfyopt
distid:1234567812345678``; it applies the ID to the target certificate only and
cannot check SM2 CRL signatures itself, so the root's self-signature and CRLs are
checked with ``pkeyutl -rawin -digest sm3``. These tests run exactly the
documented commands.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zhongtai.signing import x509 as certs
from zhongtai.signing.models import Certificate
from zhongtai.signing.services import CaHierarchy, certificate_revoke, crl_generate

from .conftest import ACTOR

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="system openssl not installed")

DISTID = "distid:1234567812345678"


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)


def offsets(pem_file: str, cwd: Path) -> tuple[str, str]:
    """Offsets of the to-be-signed part (2nd line) and of the signature BIT STRING (last line)."""
    lines = openssl("asn1parse", "-in", pem_file, cwd=cwd).stdout.strip().splitlines()
    return lines[1].split(":")[0].strip(), lines[-1].split(":")[0].strip()


def signature_ok(pem_file: str, issuer_public_pem: str, cwd: Path, distid: str = DISTID) -> bool:
    tbs, sig = offsets(pem_file, cwd)
    openssl("asn1parse", "-in", pem_file, "-strparse", tbs, "-noout", "-out", "tbs.bin", cwd=cwd)
    openssl("asn1parse", "-in", pem_file, "-strparse", sig, "-noout", "-out", "sig.bin", cwd=cwd)
    result = openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", issuer_public_pem, "-rawin", "-in", "tbs.bin",
        "-sigfile", "sig.bin", "-digest", "sm3", "-pkeyopt", distid, cwd=cwd,
    )  # fmt: skip
    return result.returncode == 0 and "Signature Verified Successfully" in result.stdout


@pytest.fixture
def files(tmp_path: Path, ca: CaHierarchy, unit_certificate: Certificate, seal_certificate: Certificate) -> Path:
    assert ca.root.certificate is not None and ca.issuing.certificate is not None
    for name, der in (
        ("root-ca.pem", ca.root.certificate.der),
        ("issuing-ca.pem", ca.issuing.certificate.der),
        ("unit.pem", unit_certificate.der),
        ("seal.pem", seal_certificate.der),
    ):
        (tmp_path / name).write_bytes(certs.der_to_pem(bytes(der)))
    for name in ("root-ca", "issuing-ca"):
        openssl("x509", "-in", f"{name}.pem", "-noout", "-pubkey", "-out", f"{name}.pub.pem", cwd=tmp_path)
    return tmp_path


def test_link_issuing_ca_to_root(files: Path) -> None:
    result = openssl("verify", "-vfyopt", DISTID, "-CAfile", "root-ca.pem", "issuing-ca.pem", cwd=files)
    assert result.returncode == 0 and "issuing-ca.pem: OK" in result.stdout


def test_link_end_entity_to_issuing_ca(files: Path) -> None:
    for leaf in ("unit.pem", "seal.pem"):
        result = openssl("verify", "-vfyopt", DISTID, "-partial_chain", "-CAfile", "issuing-ca.pem", leaf, cwd=files)
        assert result.returncode == 0 and f"{leaf}: OK" in result.stdout


def test_link_check_needs_the_signer_id(files: Path) -> None:
    # without the ID, OpenSSL 3.0 computes Z with an empty ID and the link fails: the ID really is 1234567812345678
    result = openssl("verify", "-partial_chain", "-CAfile", "issuing-ca.pem", "unit.pem", cwd=files)
    assert result.returncode != 0
    other = openssl(
        "verify", "-vfyopt", "distid:ALICE123@YAHOO.COM", "-partial_chain", "-CAfile", "issuing-ca.pem", "unit.pem",
        cwd=files,
    )  # fmt: skip
    assert other.returncode != 0


def test_link_at_the_signing_time(files: Path, unit_certificate: Certificate) -> None:
    after_expiry = int((unit_certificate.not_after + datetime.timedelta(days=1)).timestamp())
    result = openssl(
        "verify", "-vfyopt", DISTID, "-partial_chain", "-attime", str(after_expiry), "-CAfile", "issuing-ca.pem",
        "unit.pem", cwd=files,
    )  # fmt: skip
    assert result.returncode != 0 and "expired" in result.stdout + result.stderr


def test_tampered_leaf_fails_its_link(files: Path) -> None:
    der = bytearray(certs.pem_to_der((files / "unit.pem").read_bytes()))
    der[-5] ^= 0x01
    (files / "tampered.pem").write_bytes(certs.der_to_pem(bytes(der)))
    result = openssl(
        "verify", "-vfyopt", DISTID, "-partial_chain", "-CAfile", "issuing-ca.pem", "tampered.pem", cwd=files
    )
    assert result.returncode != 0


def test_root_self_signature_with_pkeyutl(files: Path) -> None:
    assert signature_ok("root-ca.pem", "root-ca.pub.pem", files)
    assert not signature_ok("root-ca.pem", "issuing-ca.pub.pem", files)
    assert not signature_ok("root-ca.pem", "root-ca.pub.pem", files, distid="distid:ALICE123@YAHOO.COM")


def test_crl_signature_and_lookup_with_pkeyutl(files: Path, unit_certificate: Certificate) -> None:
    certificate_revoke(certificate=unit_certificate, reason="key_compromise", actor=ACTOR)
    (files / "issuing.crl").write_bytes(bytes(crl_generate(actor=ACTOR).der))
    openssl("crl", "-inform", "DER", "-in", "issuing.crl", "-out", "issuing.crl.pem", cwd=files)
    assert signature_ok("issuing.crl.pem", "issuing-ca.pub.pem", files)
    assert not signature_ok("issuing.crl.pem", "root-ca.pub.pem", files)
    text = openssl("crl", "-in", "issuing.crl.pem", "-noout", "-text", cwd=files).stdout
    # OpenSSL prints the DER INTEGER bytes: our 32-digit serial without leading 00 bytes
    printed = unit_certificate.serial_number
    while printed.startswith("00"):
        printed = printed[2:]
    assert f"Serial Number: {printed}\n" in text
    assert "Key Compromise" in text
    next_update = openssl("crl", "-in", "issuing.crl.pem", "-noout", "-nextupdate", cwd=files).stdout
    assert next_update.startswith("nextUpdate=")


def documented_script() -> str:
    text = (Path(__file__).resolve().parents[3] / "docs" / "certificates.md").read_text(encoding="utf-8")
    match = re.search(r"```sh\n(ID=distid.*?)```", text, re.DOTALL)
    assert match, "the openssl script is missing from docs/certificates.md"
    return match.group(1)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
@pytest.mark.parametrize("revoked", [False, True])
def test_the_documented_script_runs_verbatim(files: Path, unit_certificate: Certificate, revoked: bool) -> None:
    if revoked:
        certificate_revoke(certificate=unit_certificate, reason="key_compromise", actor=ACTOR)
    (files / "issuing.crl").write_bytes(bytes(crl_generate(actor=ACTOR).der))
    signed_at = int((unit_certificate.not_before + datetime.timedelta(hours=1)).timestamp())
    script = re.sub(r"AT=\$\(date -d '[^']*' \+%s\)", f"AT={signed_at}", documented_script())
    assert f"AT={signed_at}" in script
    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=files, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "issuing-ca.pem: OK" in out and "unit.pem: OK" in out
    assert out.count("Signature Verified Successfully") == 2
    assert "nextUpdate=" in out
    if revoked:
        assert "Key Compromise" in out and "not revoked" not in out
    else:
        assert "not revoked" in out
