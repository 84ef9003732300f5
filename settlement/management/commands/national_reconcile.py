"""``manage.py national_reconcile --date YYYY-MM-DD``: reconcile one issue day with the national platform."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from settlement.models import NationalReconciliation
from settlement.services import national_reconcile
from zhongtai.audit.services import Actor
from zhongtai.national.client import NationalUnavailable, is_configured


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"日期格式应为 YYYY-MM-DD：{value!r}") from exc


class Command(BaseCommand):
    help = "与全国平台核对某一开票日期的票据数、金额与数据文件摘要，并保存对账结果（默认昨天）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="开票日期（北京时间），YYYY-MM-DD；默认昨天")

    def handle(self, *args: Any, **options: Any) -> None:
        if not is_configured():
            raise CommandError("未配置全国平台地址（EREC_NATIONAL_URL），无法对账。")
        day = _day(options["date"]) if options["date"] else timezone.localdate() - datetime.timedelta(days=1)
        if day > timezone.localdate():
            raise CommandError(f"不能对账未来的日期：{day:%Y-%m-%d}")
        try:
            record = national_reconcile(day=day, actor=Actor.system("manage.py national_reconcile"))
        except NationalUnavailable as exc:
            raise CommandError(f"全国平台不可用：{exc}") from exc
        self.stdout.write(
            f"{day:%Y-%m-%d} {record.get_outcome_display()}：本平台 {record.count} 张（蓝 {record.blue_count}，"
            f"红 {record.red_count}），净额 {record.amount}；全国平台 {record.national_count} 张（蓝 "
            f"{record.national_blue_count}，红 {record.national_red_count}），净额 {record.national_amount}"
        )
        for diff in record.differences:
            self.stdout.write(f"  {diff['label']}：本平台 {diff['platform']}，全国平台 {diff['national']}")
        for label, rows in (
            ("全国平台缺少", record.missing_national),
            ("本平台缺少", record.missing_platform),
            ("数据文件摘要不同", record.hash_mismatches),
        ):
            for row in rows:
                self.stdout.write(f"  {label}：{row['receiptCode']}-{row['number']:010d}")
        if record.undelivered_events:
            self.stdout.write(f"  当日票据尚有 {record.undelivered_events} 个事件未送达全国平台。")
        if record.outcome == NationalReconciliation.Outcome.MISMATCHED:
            raise CommandError("对账不一致，详见上文与工作台“全国平台对账”。")
