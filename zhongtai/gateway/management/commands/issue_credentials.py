from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.models import ApiCredential
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.models import Unit


class Command(BaseCommand):
    help = "为接口单位签发接口应用凭证，并一次性打印 AppId 与密钥。Issue API credentials for an interface unit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="单位编码 unit code")
        parser.add_argument("--label", default="", help="用途说明")
        parser.add_argument("--scope", choices=ApiCredential.Scope.values, default=ApiCredential.Scope.ISSUE)
        parser.add_argument(
            "--sandbox",
            action="store_true",
            help="联调测试凭证：只能在联调测试环境开具和查询票据（单独编号，票据无效）。Sandbox credentials.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            unit = Unit.objects.select_related("region").get(code=options["unit"])
        except Unit.DoesNotExist as exc:
            raise CommandError(f"单位编码 {options['unit']} 不存在。") from exc
        try:
            issued = credential_create(
                unit=unit,
                actor=Actor.system("manage.py issue_credentials"),
                label=options["label"],
                scope=options["scope"],
                sandbox=options["sandbox"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"unit:   {unit.code} {unit.name}")
        self.stdout.write(f"app_id: {issued.credential.app_id}")
        self.stdout.write(f"secret: {issued.secret}")
        if issued.credential.sandbox:
            self.stdout.write("sandbox: yes（联调测试凭证：开具的票据仅供测试，无效）")
        self.stdout.write("密钥只显示这一次，请妥善保存。The secret is shown only once.")
