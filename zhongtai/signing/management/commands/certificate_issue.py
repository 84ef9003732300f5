from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import FinanceBureau, Unit
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.management.commands._common import read_file, write_file
from zhongtai.signing.models import Certificate
from zhongtai.signing.services import certificate_issue_for_bureau, certificate_issue_for_unit


class Command(BaseCommand):
    help = (
        "为单位签发签名证书，或为财政部门签发财政监制章证书。"
        " Issue a unit signature certificate or a bureau's supervision-seal certificate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        holder = parser.add_mutually_exclusive_group(required=True)
        holder.add_argument("--unit", help="单位编码")
        holder.add_argument("--bureau", help="财政部门所在区划代码，如 430100")
        key = parser.add_mutually_exclusive_group()
        key.add_argument("--csr", help="单位自持私钥：PKCS#10 证书请求文件（PEM 或 DER），验证其签名后签发")
        key.add_argument("--public-key", help="单位自持私钥：SM2 公钥文件（SubjectPublicKeyInfo，PEM 或 DER）")
        parser.add_argument("--out", help="把签发的证书（PEM）写入此文件")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("manage.py certificate_issue")
        try:
            if options["unit"]:
                unit = self._unit(options["unit"])
                certificate = certificate_issue_for_unit(unit=unit, actor=actor, public_key=self._public_key(options))
            else:
                if options["csr"] or options["public_key"]:
                    raise CommandError("财政监制章证书的私钥由平台托管，不接受外部公钥。")
                certificate = certificate_issue_for_bureau(bureau=self._bureau(options["bureau"]), actor=actor)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self._print(certificate)
        if options["out"]:
            write_file(options["out"], certs.der_to_pem(bytes(certificate.der)))
            self.stdout.write(f"证书已写入 {options['out']}。")

    def _unit(self, code: str) -> Unit:
        try:
            return Unit.objects.select_related("region").get(code=code)
        except Unit.DoesNotExist as exc:
            raise CommandError(f"单位 {code} 不存在。") from exc

    def _bureau(self, region_code: str) -> FinanceBureau:
        try:
            return FinanceBureau.objects.select_related("region").get(region__code=region_code)
        except FinanceBureau.DoesNotExist as exc:
            raise CommandError(f"区划 {region_code} 没有财政部门。") from exc

    def _public_key(self, options: dict[str, Any]) -> sm2.PublicKey | None:
        if options["csr"]:
            try:
                return certs.csr_public_key(certs.pem_to_der(read_file(options["csr"])))
            except ValueError as exc:
                raise CommandError(f"CSR_INVALID: 证书请求无效（{exc}）。") from exc
        if options["public_key"]:
            try:
                return sm2.public_key_from_der(certs.pem_to_der(read_file(options["public_key"])))
            except ValueError as exc:
                raise CommandError("PUBLIC_KEY_INVALID: 公钥文件不是 SM2 公钥。") from exc
        return None

    def _print(self, certificate: Certificate) -> None:
        self.stdout.write(self.style.SUCCESS(f"已签发{certificate.get_role_display()}。"))
        self.stdout.write(f"序列号：{certificate.serial_number}")
        self.stdout.write(f"主体：{certificate.subject}")
        self.stdout.write(
            f"有效期：{timezone.localtime(certificate.not_before):%Y-%m-%d %H:%M} 至 "
            f"{timezone.localtime(certificate.not_after):%Y-%m-%d %H:%M}"
        )
        self.stdout.write(f"私钥保管：{certificate.get_key_custody_display()}")
