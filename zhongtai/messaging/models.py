"""The outgoing-message log (发送记录), which is also the outbox that workers drain."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from zhongtai.messaging.recipients import recipient_masked

# Providers that only write the message somewhere local: nothing reached the payer.
LOG_ONLY_PROVIDERS = frozenset({"console", "email-console", "email-filebased", "email-locmem", "email-dummy"})


class Channel(models.TextChoices):
    SMS = "sms", "短信"
    EMAIL = "email", "邮件"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "待发送"
    SENDING = "sending", "发送中"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"


class OutgoingMessage(models.Model):
    """One message to one recipient (发送记录).

    The row is written in the same transaction as the request that asks for it (with
    its audit row), so a request is never committed without the work that must follow.
    A worker claims it with a conditional UPDATE (queued and due, or sending with an
    expired lease), sends it through the channel's provider and records the outcome;
    a transient failure puts it back in the queue with a later ``next_attempt_at``.
    """

    key = models.UUIDField("消息标识", default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField("渠道", max_length=8, choices=Channel.choices)
    recipient = models.CharField("接收人", max_length=254)
    receipt = models.ForeignKey(
        "issuance.Receipt",
        verbose_name="票据",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outgoing_messages",
    )
    unit = models.ForeignKey(
        "masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="outgoing_messages"
    )
    subject = models.CharField("主题", max_length=200, blank=True)
    body = models.TextField("内容")
    attachment_name = models.CharField("附件名称", max_length=200, blank=True)

    status = models.CharField("状态", max_length=8, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    provider = models.CharField("发送通道", max_length=64, blank=True)
    provider_message_id = models.CharField("通道消息编号", max_length=128, blank=True)
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    last_error = models.TextField("最近错误", blank=True)
    next_attempt_at = models.DateTimeField("下次尝试时间")
    lease_until = models.DateTimeField("租约到期", null=True, blank=True)

    created_by = models.CharField("发起人", max_length=128)
    created_at = models.DateTimeField("创建时间", auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)

    class Meta:
        verbose_name = "发送记录"
        verbose_name_plural = "发送记录"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="message_channel_known"),
            models.CheckConstraint(condition=Q(status__in=MessageStatus.values), name="message_status_known"),
            models.CheckConstraint(condition=~Q(recipient=""), name="message_recipient_not_empty"),
            # A sent message says when and through which provider; nothing else claims to be sent.
            models.CheckConstraint(
                condition=~Q(status=MessageStatus.SENT) | (Q(sent_at__isnull=False) & ~Q(provider="")),
                name="message_sent_has_time_and_provider",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["receipt", "created_at"]),
            models.Index(fields=["unit", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.recipient_masked} {self.get_status_display()}"

    @property
    def recipient_masked(self) -> str:
        """The recipient for lists: phone numbers and mailbox names are personal data (138****8000)."""
        return recipient_masked(self.recipient)

    @property
    def log_only(self) -> bool:
        """Recorded by a provider that delivers nothing (the console SMS provider, a console mail backend)."""
        return self.provider in LOG_ONLY_PROVIDERS

    @property
    def provider_label(self) -> str:
        if self.provider == "console":
            return "仅记录（未接入短信网关）"
        if self.log_only:
            return "仅记录（未配置邮件服务器）"
        return {"http": "短信网关", "email": "邮件服务器（SMTP）"}.get(self.provider, self.provider)
