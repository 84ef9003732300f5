"""Writes of the messaging app: a receipt sent to its payer (发送给交款人)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from issuance.models import Receipt, SignStatus
from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError
from zhongtai.messaging.content import (
    receipt_attachment_name,
    receipt_email_body,
    receipt_email_subject,
    receipt_sms_text,
)
from zhongtai.messaging.errors import MessagingError
from zhongtai.messaging.locks import lock_receipt_for_sending
from zhongtai.messaging.models import Channel, OutgoingMessage
from zhongtai.messaging.outbox import messages_enqueue
from zhongtai.messaging.recipients import RecipientInvalid, email_normalize, phone_normalize
from zhongtai.messaging.selectors import message_count_today


def recipient_normalize(*, channel: str, recipient: str) -> str:
    """The recipient as stored (a bare 11-digit mobile number, an email with its domain lower-cased)."""
    if channel not in Channel.values:
        raise ApplicationError(
            MessagingError.CHANNEL_UNKNOWN, "请选择发送方式：短信或邮件。", {"channels": list(Channel.values)}
        )
    try:
        return phone_normalize(recipient) if channel == Channel.SMS else email_normalize(recipient)
    except RecipientInvalid as exc:
        raise ApplicationError(MessagingError.RECIPIENT_INVALID, str(exc), {"channel": channel}) from None


def receipt_send(*, receipt: Receipt, channel: str, recipient: str, actor: Actor) -> OutgoingMessage:
    """Queue the receipt for its payer by SMS (text with the verification link) or email (with the PDF).

    Only signed receipts go out, never sandbox ones, and at most
    ``EREC_MESSAGES_PER_RECEIPT_PER_DAY`` messages per receipt and day. The message row and
    its audit row are written in one transaction; a worker sends it after the commit
    (in-process in the embedded default, so the returned row is stale: re-read it).
    """
    address = recipient_normalize(channel=channel, recipient=recipient)
    with transaction.atomic():
        locked = lock_receipt_for_sending(receipt_id=receipt.pk)
        _check_sendable(locked)
        message = OutgoingMessage.objects.create(
            channel=channel,
            recipient=address,
            receipt=locked,
            unit=locked.unit,
            subject=receipt_email_subject(locked) if channel == Channel.EMAIL else "",
            body=receipt_sms_text(locked) if channel == Channel.SMS else receipt_email_body(locked),
            attachment_name=receipt_attachment_name(locked) if channel == Channel.EMAIL else "",
            next_attempt_at=timezone.now(),
            created_by=actor.name,
        )
        audit_record(
            actor=actor,
            action="message.queue",
            object_type="outgoing_message",
            object_id=message.pk,
            unit_code=locked.unit.code,
            region_code=locked.region_code,
            data={
                "channel": channel,
                "recipient": message.recipient_masked,
                "receiptCode": locked.receipt_code,
                "receiptNumber": locked.number_text,
            },
        )
        # Robust: the row is committed whatever happens to the hand-over (the sweeper finds it).
        transaction.on_commit(lambda: messages_enqueue([message.pk]), robust=True)
    return message


def _check_sendable(receipt: Receipt) -> None:
    if receipt.sign_status != SignStatus.SIGNED:
        raise ApplicationError(
            MessagingError.RECEIPT_NOT_SIGNED,
            f"票据尚未完成签章（{receipt.get_sign_status_display()}），签章完成后才能发送给交款人。",
            {"signStatus": receipt.sign_status},
            status=409,
        )
    # Sandbox receipts (联调测试) are test data and must never reach a real payer.
    if getattr(receipt, "sandbox", False):
        raise ApplicationError(MessagingError.RECEIPT_SANDBOX, "联调测试票据不能发送给交款人。", status=409)
    limit = settings.EREC_MESSAGES_PER_RECEIPT_PER_DAY
    sent_today = message_count_today(receipt_id=receipt.pk)
    if sent_today >= limit:
        raise ApplicationError(
            MessagingError.SEND_LIMIT_REACHED,
            f"该票据今日已发送 {sent_today} 次，已达每日上限（{limit} 次），请明日再试。",
            {"limit": limit, "sentToday": sent_today},
            status=429,
        )
