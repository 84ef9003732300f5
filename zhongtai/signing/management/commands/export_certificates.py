"""``manage.py export_certificates --out DIR``: what a third party needs to verify receipts offline.

Writes, as PEM: the root CA (``root-ca.pem``), the active issuing CA (``issuing-ca.pem``) and
any retired one (``issuing-ca-<serial>.pem``), every unit signature certificate
(``unit-<unit code>-<serial>.pem``) and supervision-seal certificate
(``seal-<region code>-<serial>.pem``) the province's CA issued, revoked and expired ones
included (old receipts still name them), and the latest CRL of each CA (``root-ca.crl.pem``,
``issuing-ca.crl.pem``, ``issuing-ca-<serial>.crl.pem``). Nothing secret is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zhongtai.signing import x509 as certs
from zhongtai.signing.management.commands._common import province_get, write_file
from zhongtai.signing.models import Certificate, CertificateAuthority
from zhongtai.signing.selectors import crl_latest


def _base_name(authority: CertificateAuthority) -> str:
    assert authority.certificate is not None
    if authority.kind == CertificateAuthority.Kind.ROOT:
        return "root-ca"
    if authority.status == CertificateAuthority.Status.ACTIVE:
        return "issuing-ca"
    return f"issuing-ca-{authority.certificate.serial_number}"


def _end_entity_name(certificate: Certificate) -> str:
    if certificate.unit is not None:
        return f"unit-{certificate.unit.code}-{certificate.serial_number}.pem"
    assert certificate.bureau is not None
    return f"seal-{certificate.bureau.region.code}-{certificate.serial_number}.pem"


class Command(BaseCommand):
    help = (
        "导出本省根 CA、签发 CA、全部单位签名证书与财政监制章证书及各 CA 最新的 CRL（PEM），"
        "供报销单位等第三方离线验证票据。Export the certificates and CRLs an offline verifier needs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="输出目录（不存在时创建；同名文件被覆盖）")
        parser.add_argument("--region", help="省级区划代码（只有一个省级区划时可省略）")

    def handle(self, *args: Any, **options: Any) -> None:
        province = province_get(options["region"])
        authorities = [
            authority
            for authority in CertificateAuthority.objects.select_related("certificate")
            .filter(region=province)
            .order_by("-kind", "id")  # the root ("root" > "issuing") first
            if authority.certificate is not None
        ]
        if not any(
            authority.kind == CertificateAuthority.Kind.ROOT and authority.status == CertificateAuthority.Status.ACTIVE
            for authority in authorities
        ):
            raise CommandError(f"CA_NOT_BOOTSTRAPPED: {province.name}尚未建立电子票据 CA，请先执行 ca_bootstrap。")
        directory = Path(options["out"])
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"无法创建目录 {directory}：{exc.strerror}") from exc
        now = timezone.now()
        crl_files: list[Path] = []
        for authority in authorities:
            certificate = authority.certificate
            assert certificate is not None
            name = _base_name(authority)
            write_file(str(directory / f"{name}.pem"), certs.der_to_pem(bytes(certificate.der)))
            self.stdout.write(f"{name}.pem  {authority.name}（{certificate.get_role_display()}）")
            revocation_list = crl_latest(authority=authority)
            if revocation_list is None:
                option = "--authority root " if authority.kind == CertificateAuthority.Kind.ROOT else ""
                self.stdout.write(
                    f"  {authority.name}尚无 CRL：执行 crl_generate {option}后重新导出，"
                    "否则它签发的证书无法检查吊销状态。"
                )
                continue
            crl_files.append(directory / f"{name}.crl.pem")
            write_file(str(crl_files[-1]), certs.der_to_pem(bytes(revocation_list.der), "X509 CRL"))
            stale = "（已过期，请执行 crl_generate 后重新导出）" if revocation_list.next_update < now else ""
            self.stdout.write(
                f"{name}.crl.pem  CRL #{revocation_list.crl_number}，{revocation_list.revoked_count} 条吊销记录，"
                f"下次更新 {timezone.localtime(revocation_list.next_update):%Y-%m-%d %H:%M}{stale}"
            )
        issuers = [authority.certificate for authority in authorities if authority.kind == "issuing"]
        end_entities = (
            Certificate.objects.filter(
                issued_by__in=issuers, role__in=[Certificate.Role.UNIT_SIGNATURE, Certificate.Role.SUPERVISION_SEAL]
            )
            .select_related("unit", "bureau__region")
            .order_by("role", "id")
        )
        counts = {Certificate.Role.UNIT_SIGNATURE: 0, Certificate.Role.SUPERVISION_SEAL: 0}
        for certificate in end_entities:
            write_file(str(directory / _end_entity_name(certificate)), certs.der_to_pem(bytes(certificate.der)))
            counts[Certificate.Role(certificate.role)] += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"已导出到 {directory}：单位签名证书 {counts[Certificate.Role.UNIT_SIGNATURE]} 个，"
                f"财政监制章证书 {counts[Certificate.Role.SUPERVISION_SEAL]} 个（含已吊销、已过期的证书）。"
            )
        )
        crl_option = f" --crl {' '.join(str(path) for path in crl_files)}" if crl_files else ""
        self.stdout.write(
            f"第三方验证：python verify_receipt.py 票据.pdf --root {directory / 'root-ca.pem'} --certs {directory}"
            + crl_option
        )
