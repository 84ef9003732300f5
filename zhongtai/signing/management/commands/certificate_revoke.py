from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.signing.models import Certificate, CertificateAuthority
from zhongtai.signing.selectors import certificate_get
from zhongtai.signing.services import certificate_revoke, crl_generate


class Command(BaseCommand):
    help = "吊销证书，并由其签发 CA 发布新的 CRL。Revoke a certificate and publish a new CRL of its issuer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--serial", required=True, help="证书序列号（十六进制）")
        parser.add_argument(
            "--reason",
            required=True,
            choices=Certificate.RevocationReason.values,
            help="吊销原因：" + "；".join(f"{c.value}={c.label}" for c in Certificate.RevocationReason),
        )
        parser.add_argument("--no-crl", action="store_true", help="只吊销，不立即发布新的 CRL")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("manage.py certificate_revoke")
        try:
            certificate = certificate_get(serial_hex=options["serial"])
            revoked = certificate_revoke(certificate=certificate, reason=options["reason"], actor=actor)
            self.stdout.write(
                self.style.SUCCESS(
                    f"证书 {revoked.serial_number} 已吊销（{revoked.get_revocation_reason_display()}）。"
                )
            )
            if options["no_crl"]:
                self.stdout.write("未发布新的 CRL，请稍后执行 crl_generate。")
                return
            authority = CertificateAuthority.objects.get(certificate=revoked.issued_by)
            revocation_list = crl_generate(actor=actor, authority=authority)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            f"{authority.name} 已发布 CRL #{revocation_list.crl_number}（{revocation_list.revoked_count} 条吊销记录）。"
        )
