"""Template helpers of the send form (templates/portal/messages/send_form.html)."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from zhongtai.messaging.models import LOG_ONLY_PROVIDERS, Channel
from zhongtai.messaging.providers import DjangoMailProvider

register = template.Library()


@register.simple_tag
def send_form_defaults(receipt: Any, channel: str = "", recipient: str = "") -> dict[str, Any]:
    """The form's initial channel and recipient (from the payer's phone or email, or what was typed),
    and whether each channel only records messages instead of sending them."""
    if channel not in Channel.values:
        channel = Channel.EMAIL if receipt.payer_email and not receipt.payer_phone else Channel.SMS
    if not recipient:
        recipient = receipt.payer_phone if channel == Channel.SMS else receipt.payer_email
    return {
        "channel": channel,
        "recipient": recipient,
        "sms_log_only": settings.EREC_SMS_PROVIDER == "console",
        "email_log_only": DjangoMailProvider().name in LOG_ONLY_PROVIDERS,
    }
