from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from issuance.jobs import receipts_sign_again
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit


class Command(BaseCommand):
    help = (
        "把单位待单位签名或签章失败的票据重新送去签章（如单位改用平台托管密钥、补发证书之后）。"
        " Send a unit's receipts awaiting its own signature, or whose signing failed, back to signing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="单位编码 unit code")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            unit = Unit.objects.get(code=options["unit"])
        except Unit.DoesNotExist as exc:
            raise CommandError(f"单位编码 {options['unit']} 不存在。") from exc
        count = receipts_sign_again(unit_id=unit.pk, actor=Actor.system("manage.py receipts_sign_again"))
        self.stdout.write(f"已将 {count} 张票据重新送去签章。{count} receipts sent back to signing.")
