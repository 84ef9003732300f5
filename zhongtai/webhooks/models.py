"""Webhooks (回调通知), the batches they report on, and the bureau's red-offset alerts.

* :class:`WebhookEndpoint`: where one credential's system wants to be called back, with the
  secret the platform signs each call with (stored encrypted, shown once).
* :class:`WebhookDelivery`: one event for one endpoint, the outbox row a worker drains.
* :class:`IssueBatch`: the receipts one batch request created, so that the interface unit
  is told once all of them have finished signing.
* :class:`RedOffsetAlert`: a receipt that was already reimbursed (报销/入账) was red-offset;
  its bureau must look at it.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class EventType(models.TextChoices):
    RECEIPT_RED_OFFSET = "receipt.red_offset", "已报销/入账票据被冲红"
    BATCH_COMPLETED = "batch.completed", "批量开票签章完成"


# Which events each kind of owner may subscribe to.
PARTY_EVENTS = (EventType.RECEIPT_RED_OFFSET.value,)
UNIT_EVENTS = (EventType.BATCH_COMPLETED.value,)


class WebhookEndpoint(models.Model):
    """回调地址 of one credential: a reimbursing party's or an interface unit's system.

    Exactly one of ``api_credential`` (an interface unit) and ``party_credential`` (a
    reimbursing party) is set. ``unit``/``party`` and ``sandbox`` repeat the credential's, so
    that events find their endpoints, and the workbench scopes them, without a join.
    """

    class Status(models.TextChoices):
        ENABLED = "enabled", "启用"
        DISABLED = "disabled", "停用"

    api_credential = models.OneToOneField(
        "gateway.ApiCredential",
        verbose_name="接口应用凭证",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="webhook",
    )
    party_credential = models.OneToOneField(
        "verification.PartyCredential",
        verbose_name="报销单位应用凭证",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="webhook",
    )
    unit = models.ForeignKey(
        "masterdata.Unit", verbose_name="单位", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    party = models.ForeignKey(
        "verification.ReimbursingParty",
        verbose_name="报销/入账单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="webhooks",
    )
    sandbox = models.BooleanField("联调测试", default=False)
    url = models.CharField("回调地址", max_length=500)
    events = models.JSONField("订阅事件", default=list)
    secret_encrypted = models.TextField("签名密钥（加密存储）", editable=False)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ENABLED)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    updated_by = models.CharField("最近修改人", max_length=128)
    secret_rotated_at = models.DateTimeField("密钥生成时间")

    class Meta:
        verbose_name = "回调地址"
        verbose_name_plural = "回调地址"
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        api_credential__isnull=False,
                        unit__isnull=False,
                        party_credential__isnull=True,
                        party__isnull=True,
                    )
                    | Q(
                        api_credential__isnull=True,
                        unit__isnull=True,
                        party_credential__isnull=False,
                        party__isnull=False,
                        sandbox=False,
                    )
                ),
                name="webhook_one_owner",
            ),
            models.CheckConstraint(condition=Q(status__in=["enabled", "disabled"]), name="webhook_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_label} → {self.url}"

    @property
    def owner_label(self) -> str:
        if self.party_id is not None:
            return f"{self.party}"
        environment = "（联调测试）" if self.sandbox else ""
        return f"{self.unit}{environment}"

    @property
    def allowed_events(self) -> tuple[str, ...]:
        return PARTY_EVENTS if self.party_credential_id is not None else UNIT_EVENTS


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "待发送"
    SENDING = "sending", "发送中"
    DELIVERED = "delivered", "已送达"
    DEAD = "dead", "已放弃"


class WebhookDelivery(models.Model):
    """One event for one endpoint (回调记录), which is also the outbox row workers drain.

    Written in the transaction of the event (the red-offset, the batch's completion). The
    body is fixed when the row is written, so every attempt sends the same bytes under
    the same ``event_id``: a receiver that saw it before drops the repeat. ``event_key``
    (type and subject) makes the same event for the same endpoint impossible twice.
    """

    event_id = models.UUIDField("事件编号", default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name="回调地址", on_delete=models.PROTECT, related_name="deliveries"
    )
    event_type = models.CharField("事件类型", max_length=32, choices=EventType.choices)
    event_key = models.CharField("事件主体", max_length=80)
    body = models.TextField("请求体（JSON）")
    sandbox = models.BooleanField("联调测试", default=False)
    region_code = models.CharField("区划", max_length=6, blank=True)

    status = models.CharField("状态", max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试时间")
    lease_until = models.DateTimeField("租约到期", null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField("最近响应状态码", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)

    class Meta:
        verbose_name = "回调记录"
        verbose_name_plural = "回调记录"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_key"], name="webhook_delivery_once_per_event"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_known"),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="webhook_delivered_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} {self.event_id} {self.get_status_display()}"


class IssueBatch(models.Model):
    """批次: the receipts one batch-issuance request created, and when they all finished signing."""

    public_id = models.UUIDField("批次编号", default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    credential = models.ForeignKey(
        "gateway.ApiCredential", verbose_name="接口应用凭证", on_delete=models.PROTECT, related_name="batches"
    )
    sandbox = models.BooleanField("联调测试", default=False)
    region_code = models.CharField("区划", max_length=6)
    receipt_count = models.PositiveIntegerField("新开票据数")
    created_at = models.DateTimeField("提交时间", auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField("签章完成时间", null=True, blank=True)
    receipts = models.ManyToManyField(
        "issuance.Receipt", through="IssueBatchReceipt", related_name="+", verbose_name="票据"
    )

    class Meta:
        verbose_name = "批量开票批次"
        verbose_name_plural = "批量开票批次"
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(receipt_count__gt=0), name="batch_has_receipts")]
        indexes = [models.Index(fields=["completed_at", "created_at"], name="batch_open")]

    def __str__(self) -> str:
        return str(self.public_id)


class IssueBatchReceipt(models.Model):
    batch = models.ForeignKey(IssueBatch, on_delete=models.CASCADE, related_name="items")
    receipt = models.ForeignKey("issuance.Receipt", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "批次票据"
        verbose_name_plural = "批次票据"
        constraints = [models.UniqueConstraint(fields=["batch", "receipt"], name="batch_receipt_once")]
        indexes = [models.Index(fields=["receipt"], name="batch_receipt_receipt")]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.receipt_id}"


class RedOffsetAlert(models.Model):
    """已报销票据冲红提醒: a receipt with active entries was red-offset; its bureau must look at it.

    The entries are kept as they stood at the red-offset (``entries``), whatever the parties
    do with them afterwards.
    """

    class State(models.TextChoices):
        OPEN = "open", "待处理"
        ACKNOWLEDGED = "acknowledged", "已确认处理"

    receipt = models.OneToOneField(
        "issuance.Receipt", verbose_name="原票据", on_delete=models.PROTECT, related_name="red_offset_alert"
    )
    red_receipt = models.OneToOneField(
        "issuance.Receipt", verbose_name="红票", on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey("masterdata.Unit", verbose_name="开票单位", on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField("监管区划", max_length=6, db_index=True)
    reason = models.CharField("冲红原因", max_length=200)
    claimed_amount = models.DecimalField("已报销/入账金额", max_digits=14, decimal_places=2)
    entries = models.JSONField("冲红时的报销/入账记录")
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField("冲红时间", db_index=True)
    acknowledged_by = models.CharField("处理人", max_length=128, blank=True)
    acknowledged_at = models.DateTimeField("处理时间", null=True, blank=True)
    note = models.CharField("处理说明", max_length=500, blank=True)

    class Meta:
        verbose_name = "已报销票据冲红提醒"
        verbose_name_plural = "已报销票据冲红提醒"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open", acknowledged_at__isnull=True)
                | Q(state="acknowledged", acknowledged_at__isnull=False),
                name="alert_acknowledgement_consistent",
            ),
            models.CheckConstraint(condition=Q(claimed_amount__gt=0), name="alert_claimed_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.receipt} 冲红（{self.get_state_display()}）"
