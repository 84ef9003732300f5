from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zhongtai.signing.selectors import certificates_expiring


class Command(BaseCommand):
    help = "列出即将到期的有效证书并给出警告。Warn about valid certificates expiring within N days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="提前警告的天数（默认 30）")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days < 0:
            raise CommandError("--days 不能为负数。")
        now = timezone.now()
        expiring = certificates_expiring(within_days=days, now=now)
        if not expiring:
            self.stdout.write(f"未来 {days} 天内没有到期的证书。")
            return
        for certificate in expiring:
            remaining = (certificate.not_after - now).days
            self.stdout.write(
                self.style.WARNING(
                    f"警告：{certificate.get_role_display()} {certificate.serial_number}（{certificate.holder_label}）"
                    f"将于 {timezone.localtime(certificate.not_after):%Y-%m-%d %H:%M} 到期，"
                    f"剩余 {remaining} 天，请及时更新。"
                )
            )
        self.stdout.write(f"共 {len(expiring)} 张证书将在 {days} 天内到期。")
