"""Recipients (接收人): mainland mobile numbers and email addresses, checked and masked."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MOBILE_RE = re.compile(r"^1[3-9]\d{9}\Z")
_SEPARATORS = re.compile(r"[\s-]+")


class RecipientInvalid(ValueError):
    """The recipient is not a mainland mobile number / an email address; the message is for people."""


def phone_normalize(value: str) -> str:
    """A mainland mobile number (11 digits, 1[3-9]…), written with or without spaces, dashes or +86."""
    phone = _SEPARATORS.sub("", value or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not MOBILE_RE.match(phone):
        raise RecipientInvalid("请输入正确的手机号码（11 位数字，以 13-19 开头）。")
    return phone


def email_normalize(value: str) -> str:
    address = (value or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise RecipientInvalid("请输入正确的电子邮箱地址。") from None
    # The domain is case-insensitive; the mailbox name is left as written (RFC 5321).
    name, _, domain = address.rpartition("@")
    return f"{name}@{domain.lower()}"


def recipient_masked(value: str) -> str:
    """``13800138000`` → ``138****8000``; ``zhangsan@example.com`` → ``z***@example.com``."""
    if MOBILE_RE.match(value):
        return f"{value[:3]}****{value[-4:]}"
    name, at, domain = value.rpartition("@")
    if at and name:
        return f"{name[0]}***@{domain}"
    return "****" if len(value) <= 4 else f"{value[:2]}****{value[-2:]}"
