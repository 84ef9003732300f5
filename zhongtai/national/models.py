"""The outbox of the national platform (全国平台推送): one row per event of a receipt."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class EventType(models.TextChoices):
    """What happened to the receipt (docs/national.md, ``type``)."""

    ISSUED = "issued", "开具"
    RED_OFFSET = "red_offset", "冲红"
    PAPER_CONVERTED = "paper_converted", "换开纸质票据"
    PAPER_RECOVERED = "paper_recovered", "收回纸质票据"
    ENTERED = "entered", "报销/入账"
    ENTRY_CANCELLED = "entry_cancelled", "撤销报销/入账"


class NationalEvent(models.Model):
    """One event of one receipt to push to the national platform (待推送事件).

    Written in the same transaction as the change it reports, so a change is never
    committed without its event. ``seq`` counts a receipt's events from 1 (always
    ``issued``) without gaps; the receiver deduplicates by (receipt, seq), which makes
    a repeated delivery harmless. An ``issued`` event's payload (the signed data file,
    the certificates) is built when it is sent, from the receipt's stored files; until
    the receipt is signed its events wait without counting attempts.
    """

    class State(models.TextChoices):
        PENDING = "pending", "待推送"
        SENDING = "sending", "推送中"
        DELIVERED = "delivered", "已送达"
        DEAD = "dead", "失败待人工处理"

    receipt = models.ForeignKey(
        "issuance.Receipt", verbose_name="票据", on_delete=models.CASCADE, related_name="national_events"
    )
    seq = models.PositiveIntegerField("事件序号")
    type = models.CharField("事件类型", max_length=20, choices=EventType.choices)
    data = models.JSONField("事件数据", default=dict, blank=True)
    occurred_at = models.DateTimeField("发生时间")
    state = models.CharField("推送状态", max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    available_at = models.DateTimeField("可推送时间")
    lease_until = models.DateTimeField("租约到期", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    last_code = models.CharField("最近结果代码", max_length=64, blank=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "全国平台推送事件"
        verbose_name_plural = "全国平台推送事件"
        ordering = ["receipt_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["receipt", "seq"], name="national_event_seq_unique"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="national_event_seq_positive"),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sending", "delivered", "dead"]), name="national_event_state_known"
            ),
            models.CheckConstraint(condition=Q(type__in=EventType.values), name="national_event_type_known"),
            # The first event of a receipt is its issuance, and only the first.
            models.CheckConstraint(
                condition=Q(seq=1, type="issued") | (Q(seq__gt=1) & ~Q(type="issued")),
                name="national_event_issued_first",
            ),
            models.CheckConstraint(
                condition=Q(state="delivered", delivered_at__isnull=False)
                | (~Q(state="delivered") & Q(delivered_at__isnull=True)),
                name="national_event_delivered_at",
            ),
        ]
        indexes = [models.Index(fields=["state", "available_at"], name="national_event_due")]

    def __str__(self) -> str:
        return f"{self.receipt_id}#{self.seq} {self.type} {self.state}"
