"""Settlement records: the daily reconciliation with the national platform (全国平台对账)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class NationalReconciliation(models.Model):
    """One run of the daily reconciliation of one issue day against the national platform.

    Both sides' figures are kept as they were at the time of the run (a day can be
    reconciled again: each run is a row of its own). ``outcome`` tells a real difference
    from one that only waits for events still in the outbox: ``pending`` means the
    national platform lacks exactly receipts whose ``issued`` event has not been
    delivered yet, and nothing else differs.
    """

    class Outcome(models.TextChoices):
        MATCHED = "matched", "一致"
        PENDING = "pending", "待推送完成（差异仅因事件尚未送达）"
        MISMATCHED = "mismatched", "不一致"

    day = models.DateField("对账日期（开票日期）")
    province = models.CharField("省级区划代码", max_length=6)
    outcome = models.CharField("对账结果", max_length=16, choices=Outcome.choices)

    count = models.PositiveIntegerField("本平台票据数")
    blue_count = models.PositiveIntegerField("本平台蓝票数")
    red_count = models.PositiveIntegerField("本平台红票数")
    amount = models.DecimalField("本平台净金额", max_digits=18, decimal_places=2)
    digest = models.CharField("本平台摘要", max_length=64)

    national_count = models.PositiveIntegerField("全国平台票据数")
    national_blue_count = models.PositiveIntegerField("全国平台蓝票数")
    national_red_count = models.PositiveIntegerField("全国平台红票数")
    national_amount = models.DecimalField("全国平台净金额", max_digits=18, decimal_places=2)
    national_digest = models.CharField("全国平台摘要", max_length=64)

    differences = models.JSONField("差异项", default=list, blank=True)
    missing_national = models.JSONField("全国平台缺少的票据", default=list, blank=True)
    missing_platform = models.JSONField("本平台缺少的票据", default=list, blank=True)
    hash_mismatches = models.JSONField("数据文件摘要不同的票据", default=list, blank=True)
    undelivered_events = models.PositiveIntegerField("当日票据尚未送达的事件数", default=0)
    undelivered_receipts = models.PositiveIntegerField("开具事件尚未送达的票据数", default=0)

    created_at = models.DateTimeField("对账时间", auto_now_add=True)
    created_by = models.CharField("执行者", max_length=128)

    class Meta:
        verbose_name = "全国平台对账"
        verbose_name_plural = "全国平台对账"
        ordering = ["-day", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["matched", "pending", "mismatched"]), name="national_reconciliation_outcome"
            ),
            models.CheckConstraint(
                condition=Q(count=models.F("blue_count") + models.F("red_count")),
                name="national_reconciliation_counts_add_up",
            ),
        ]
        indexes = [models.Index(fields=["day", "created_at"], name="national_reconciliation_day")]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.get_outcome_display()}"
