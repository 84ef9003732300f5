"""The manage.py commands of the CA, with their Chinese messages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from zhongtai.masterdata.models import FinanceBureau, Region, Unit
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.models import Certificate, CertificateAuthority, RevocationList
from zhongtai.signing.services import CaHierarchy

from .conftest import make_csr, pem


def run(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def test_ca_bootstrap_command_is_idempotent_and_exports_pem(province: Region, tmp_path: Path) -> None:
    first = run("ca_bootstrap", "--out-dir", str(tmp_path))
    assert "已为湖南省建立电子票据 CA" in first
    second = run("ca_bootstrap")
    assert "已存在，未重复创建" in second
    assert CertificateAuthority.objects.count() == 2
    root = certs.certificate_parse(certs.pem_to_der((tmp_path / "root-ca.pem").read_bytes()))
    issuing = certs.certificate_parse(certs.pem_to_der((tmp_path / "issuing-ca.pem").read_bytes()))
    assert root.is_ca and issuing.is_ca and issuing.issuer.dump() == root.subject.dump()


def test_ca_bootstrap_without_a_province_fails(db: object) -> None:
    with pytest.raises(CommandError, match="找不到省级区划"):
        run("ca_bootstrap")


def test_certificate_issue_for_a_unit(ca: CaHierarchy, unit: Unit, tmp_path: Path) -> None:
    out_file = tmp_path / "unit.pem"
    output = run("certificate_issue", "--unit", unit.code, "--out", str(out_file))
    assert "已签发单位签名证书" in output and "平台托管" in output
    certificate = Certificate.objects.get(unit=unit)
    assert certificate.serial_number in output
    assert certs.pem_to_der(out_file.read_bytes()) == bytes(certificate.der)


def test_certificate_issue_for_a_unit_with_a_csr(ca: CaHierarchy, unit: Unit, tmp_path: Path) -> None:
    key = sm2.generate_private_key()
    csr_file = tmp_path / "unit.csr"
    csr_file.write_bytes(pem(make_csr(key), "CERTIFICATE REQUEST"))
    output = run("certificate_issue", "--unit", unit.code, "--csr", str(csr_file))
    assert "单位自持" in output
    certificate = Certificate.objects.get(unit=unit)
    assert bytes(certificate.public_key_der) == sm2.public_key_to_der(sm2.public_key_of(key))
    assert certificate.private_key_sealed == ""


def test_certificate_issue_with_a_forged_csr_fails(ca: CaHierarchy, unit: Unit, tmp_path: Path) -> None:
    csr_file = tmp_path / "forged.csr"
    csr_file.write_bytes(make_csr(sm2.generate_private_key(), tamper=True))
    with pytest.raises(CommandError, match="CSR_INVALID"):
        run("certificate_issue", "--unit", unit.code, "--csr", str(csr_file))
    assert not Certificate.objects.filter(unit=unit).exists()


def test_certificate_issue_with_a_public_key_file(ca: CaHierarchy, unit: Unit, tmp_path: Path) -> None:
    public = sm2.public_key_of(sm2.generate_private_key())
    key_file = tmp_path / "unit.pub.pem"
    key_file.write_bytes(sm2.public_key_to_pem(public))
    run("certificate_issue", "--unit", unit.code, "--public-key", str(key_file))
    assert Certificate.objects.get(unit=unit).key_custody == Certificate.KeyCustody.SUBSCRIBER


def test_certificate_issue_for_a_bureau(ca: CaHierarchy, changsha_bureau: FinanceBureau) -> None:
    output = run("certificate_issue", "--bureau", "430100")
    assert "已签发财政监制章证书" in output
    assert Certificate.objects.filter(bureau=changsha_bureau).count() == 1


def test_certificate_issue_errors_are_in_chinese(ca: CaHierarchy, unit: Unit) -> None:
    with pytest.raises(CommandError, match="单位 NOPE 不存在"):
        run("certificate_issue", "--unit", "NOPE")
    with pytest.raises(CommandError, match="没有财政部门"):
        run("certificate_issue", "--bureau", "439999")
    unit.status = Unit.Status.CANCELLED
    unit.save()
    with pytest.raises(CommandError, match="UNIT_INACTIVE"):
        run("certificate_issue", "--unit", unit.code)


def test_certificate_revoke_revokes_and_publishes_a_crl(unit_certificate: Certificate) -> None:
    output = run("certificate_revoke", "--serial", unit_certificate.serial_number.lower(), "--reason", "key_compromise")
    assert "已吊销（密钥泄露）" in output and "已发布 CRL #1" in output
    unit_certificate.refresh_from_db()
    assert unit_certificate.status == Certificate.Status.REVOKED
    crl = certs.crl_parse(bytes(RevocationList.objects.get().der))
    assert certs.serial_from_hex(unit_certificate.serial_number) in crl.revoked
    with pytest.raises(CommandError, match="CERTIFICATE_ALREADY_REVOKED"):
        run("certificate_revoke", "--serial", unit_certificate.serial_number, "--reason", "superseded")


def test_certificate_revoke_of_an_unknown_serial(ca: CaHierarchy) -> None:
    with pytest.raises(CommandError, match="CERTIFICATE_NOT_FOUND"):
        run("certificate_revoke", "--serial", "ABCDEF", "--reason", "superseded")


def test_crl_generate_writes_der_or_pem(unit_certificate: Certificate, tmp_path: Path) -> None:
    output = run("crl_generate", "--out", str(tmp_path / "issuing.crl"))
    assert "已签发 CRL #1" in output and "0 条吊销记录" in output
    assert certs.crl_parse((tmp_path / "issuing.crl").read_bytes()).crl_number == 1
    run("crl_generate", "--authority", "root", "--out", str(tmp_path / "root.crl.pem"))
    text = (tmp_path / "root.crl.pem").read_bytes()
    assert text.startswith(b"-----BEGIN X509 CRL-----")
    assert certs.crl_parse(certs.pem_to_der(text)).crl_number == 1


def test_crl_generate_before_bootstrap_fails(province: Region) -> None:
    with pytest.raises(CommandError, match="CA_NOT_BOOTSTRAPPED"):
        run("crl_generate")


def test_certificates_expiring_prints_warnings(unit_certificate: Certificate) -> None:
    assert "未来 30 天内没有到期的证书" in run("certificates_expiring", "--days", "30")
    days_left = (unit_certificate.not_after - timezone.now()).days + 1
    output = run("certificates_expiring", "--days", str(days_left))
    assert f"警告：单位签名证书 {unit_certificate.serial_number}" in output
    assert "请及时更新" in output and "共 1 张证书" in output
    assert timezone.localtime(unit_certificate.not_after).strftime("%Y-%m-%d") in output
    with pytest.raises(CommandError, match="不能为负数"):
        run("certificates_expiring", "--days", "-1")
