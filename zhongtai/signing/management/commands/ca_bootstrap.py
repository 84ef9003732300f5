from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.signing import x509 as certs
from zhongtai.signing.management.commands._common import province_get, write_file
from zhongtai.signing.services import ca_bootstrap


class Command(BaseCommand):
    help = "建立本省电子票据 CA（根 CA 与签发 CA）；已建立时不重复创建。Bootstrap the provincial CA (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", help="省级区划代码，如 430000（只有一个省级区划时可省略）")
        parser.add_argument("--out-dir", help="把根 CA 与签发 CA 证书（PEM）写入此目录：root-ca.pem、issuing-ca.pem")

    def handle(self, *args: Any, **options: Any) -> None:
        province = province_get(options["region"])
        try:
            hierarchy = ca_bootstrap(province=province, actor=Actor.system("manage.py ca_bootstrap"))
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"已为{province.name}建立电子票据 CA。")
            if hierarchy.created
            else f"{province.name}的电子票据 CA 已存在，未重复创建。"
        )
        for label, authority in (("根 CA", hierarchy.root), ("签发 CA", hierarchy.issuing)):
            certificate = authority.certificate
            assert certificate is not None
            self.stdout.write(
                f"{label}：{authority.name}  序列号 {certificate.serial_number}  "
                f"有效期至 {timezone.localtime(certificate.not_after):%Y-%m-%d}  SM3 指纹 {certificate.fingerprint_sm3}"
            )
        if options["out_dir"]:
            directory = Path(options["out_dir"])
            directory.mkdir(parents=True, exist_ok=True)
            for name, authority in (("root-ca.pem", hierarchy.root), ("issuing-ca.pem", hierarchy.issuing)):
                assert authority.certificate is not None
                write_file(str(directory / name), certs.der_to_pem(bytes(authority.certificate.der)))
            self.stdout.write(f"CA 证书已写入 {directory}/root-ca.pem 与 {directory}/issuing-ca.pem。")
