from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.signing import x509 as certs
from zhongtai.signing.management.commands._common import province_get, write_file
from zhongtai.signing.models import CertificateAuthority
from zhongtai.signing.services import crl_generate


class Command(BaseCommand):
    help = "由签发 CA（或根 CA）签发新的证书撤销列表（CRL）。Sign and store the next CRL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", help="CRL 输出文件；以 .pem 结尾时写 PEM，否则写 DER")
        parser.add_argument("--region", help="省级区划代码（只有一个省级区划时可省略）")
        parser.add_argument(
            "--authority",
            choices=["issuing", "root"],
            default="issuing",
            help="issuing=签发 CA 的 CRL（最终实体证书）；root=根 CA 的 CRL（签发 CA 证书）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        province = province_get(options["region"])
        authority = (
            CertificateAuthority.objects.filter(region=province, kind=options["authority"])
            .order_by("-status", "-id")  # "active" sorts before "retired" descending
            .first()
        )
        if authority is None:
            raise CommandError(f"CA_NOT_BOOTSTRAPPED: {province.name}尚未建立电子票据 CA，请先执行 ca_bootstrap。")
        try:
            revocation_list = crl_generate(actor=Actor.system("manage.py crl_generate"), authority=authority)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{authority.name} 已签发 CRL #{revocation_list.crl_number}，"
                f"{revocation_list.revoked_count} 条吊销记录，"
                f"下次更新 {timezone.localtime(revocation_list.next_update):%Y-%m-%d %H:%M}。"
            )
        )
        if options["out"]:
            der = bytes(revocation_list.der)
            data = certs.der_to_pem(der, "X509 CRL") if options["out"].endswith(".pem") else der
            write_file(options["out"], data)
            self.stdout.write(f"CRL 已写入 {options['out']}。")
