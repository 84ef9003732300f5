"""Providers (发送通道): how a message leaves the platform, chosen by settings.

A provider has a ``name``, the ``channel`` it serves and ``send(message) -> ProviderResult``.
It raises :class:`TransientSendError` for a failure worth retrying (timeout, gateway
down) and :class:`PermanentSendError` for one that retrying cannot cure (a rejected
number); the outbox (:mod:`zhongtai.messaging.outbox`) decides what happens next.

Built in: ``email`` (Django's mail: ``EMAIL_BACKEND`` and friends), and for SMS
``console`` (writes the text to the log: the embedded default) and ``http`` (a generic
gateway, see :class:`HttpSmsProvider`). ``EREC_SMS_PROVIDER`` names a registered
provider or gives the dotted path of a factory, so a province adds its own gateway
without touching any caller::

    # myprovince/sms.py, with EREC_SMS_PROVIDER=myprovince.sms.GatewayProvider
    class GatewayProvider:
        name = "myprovince"
        channel = "sms"
        def send(self, message): ...  # -> ProviderResult(provider=self.name, message_id=...)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string

from zhongtai.messaging.models import Channel

if TYPE_CHECKING:
    from zhongtai.messaging.models import OutgoingMessage

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Erec-Signature"


@dataclass(frozen=True)
class ProviderResult:
    """What the provider accepted: its name and its own id for the message (if it gives one)."""

    provider: str
    message_id: str = ""


class SendError(Exception):
    """A provider could not send; the text is stored as the message's last error."""


class TransientSendError(SendError):
    """Worth another try later: a timeout, a refused connection, a 5xx answer."""


class PermanentSendError(SendError):
    """Another try would fail the same way: the gateway refused the message (4xx)."""


class Provider(Protocol):
    name: str
    channel: str

    def send(self, message: OutgoingMessage) -> ProviderResult: ...


ProviderFactory = Callable[[], Provider]
_REGISTRY: dict[str, ProviderFactory] = {}


def provider_register(name: str) -> Callable[[ProviderFactory], ProviderFactory]:
    """Register a provider factory (a class, or any callable without arguments) under ``name``."""

    def register(factory: ProviderFactory) -> ProviderFactory:
        _REGISTRY[name] = factory
        return factory

    return register


def provider_names() -> list[str]:
    return sorted(_REGISTRY)


def provider_get(name: str) -> Provider:
    """The provider registered as ``name``, or built from a dotted path; ImproperlyConfigured otherwise."""
    factory = _REGISTRY.get(name)
    if factory is None:
        if "." not in name:
            raise ImproperlyConfigured(
                f"Unknown message provider {name!r}: use one of {', '.join(provider_names())} or a dotted path."
            )
        try:
            factory = import_string(name)
        except ImportError as exc:
            raise ImproperlyConfigured(f"Message provider {name!r} cannot be imported: {exc}") from exc
    return factory()


def provider_for(channel: str) -> Provider:
    """The provider that sends ``channel`` under the current settings."""
    name = settings.EREC_SMS_PROVIDER if channel == Channel.SMS else "email"
    provider = provider_get(name)
    if provider.channel != channel:
        raise ImproperlyConfigured(f"Message provider {name!r} sends {provider.channel}, not {channel}.")
    return provider


# --- SMS: console ---------------------------------------------------------------------


@provider_register("console")
class ConsoleSmsProvider:
    """Writes the SMS to the log and reports it accepted. Nothing reaches the payer's phone:
    the portal labels such messages 仅记录（未接入短信网关）."""

    name = "console"
    channel = Channel.SMS

    def send(self, message: OutgoingMessage) -> ProviderResult:
        logger.info("SMS (console, not sent) %s to %s: %s", message.key, message.recipient_masked, message.body)
        return ProviderResult(provider=self.name)


# --- SMS: a generic HTTP gateway --------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the signed body somewhere else: treat it as an answer instead.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def sms_signature(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the request body with the shared secret (the ``X-Erec-Signature`` header)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@provider_register("http")
class HttpSmsProvider:
    """A generic SMS gateway over HTTP(S).

    ``POST EREC_SMS_URL`` with the JSON body ``{"phone", "text", "messageId"}`` (UTF-8) and
    ``X-Erec-Signature: <hex HMAC-SHA256 of the body with EREC_SMS_SECRET>``. ``messageId``
    is stable for a message across retries, so the gateway can drop a repeat. A 2xx answer
    means accepted; its JSON ``messageId`` (or ``id``) is stored. Timeouts, connection
    errors, 5xx, 408 and 429 are transient; any other answer is permanent.
    """

    name = "http"
    channel = Channel.SMS

    def __init__(self, *, url: str | None = None, secret: str | None = None, timeout: float | None = None) -> None:
        self.url = url if url is not None else settings.EREC_SMS_URL
        self.secret = secret if secret is not None else settings.EREC_SMS_SECRET
        self.timeout = timeout if timeout is not None else settings.EREC_SMS_TIMEOUT_SECONDS
        if not self.url or not self.secret:
            raise ImproperlyConfigured("EREC_SMS_PROVIDER=http needs EREC_SMS_URL and EREC_SMS_SECRET.")
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, message: OutgoingMessage) -> ProviderResult:
        payload = {"phone": message.recipient, "text": message.body, "messageId": str(message.key)}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                SIGNATURE_HEADER: sms_signature(self.secret, body),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, answer = response.status, response.read(65536)
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read(2000)
        except (urllib.error.URLError, OSError) as exc:  # refused, DNS, TLS, timeout
            reason = getattr(exc, "reason", exc)
            raise TransientSendError(f"短信网关连接失败或超时：{reason}") from exc
        if 200 <= status < 300:
            return ProviderResult(provider=self.name, message_id=_gateway_message_id(answer))
        text = answer.decode("utf-8", "replace")[:500]
        if status >= 500 or status in (408, 429):
            raise TransientSendError(f"短信网关暂时不可用（HTTP {status}）：{text}")
        raise PermanentSendError(f"短信网关拒绝发送（HTTP {status}）：{text}")


def _gateway_message_id(answer: bytes) -> str:
    try:
        data = json.loads(answer)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    value = data.get("messageId", data.get("id", ""))
    return str(value)[:128] if value is not None else ""


# --- email: Django's mail -------------------------------------------------------------------


@provider_register("email")
class DjangoMailProvider:
    """Email through Django's mail settings (``EMAIL_BACKEND``, ``EMAIL_HOST`` …) from ``EREC_MAIL_FROM``.

    The message carries the receipt's layout file (PDF) as an attachment. The provider
    name records the backend (``email`` for SMTP, ``email-console`` …), so that the log
    shows when a message was only written to the console.
    """

    channel = Channel.EMAIL

    def __init__(self) -> None:
        backend = settings.EMAIL_BACKEND
        short = backend.rsplit(".", 2)[-2] if backend.startswith("django.core.mail.backends.") else "custom"
        self.name = "email" if short == "smtp" else f"email-{short}"

    def send(self, message: OutgoingMessage) -> ProviderResult:
        from zhongtai.messaging.content import AttachmentPending, message_attachments

        try:
            attachments = message_attachments(message)
        except AttachmentPending as exc:
            raise TransientSendError(str(exc)) from exc
        domain = settings.EREC_MAIL_FROM.rpartition("@")[2].strip("> ") or "localhost"
        # Stable across retries, so that a receiving server can recognise a repeat.
        message_id = f"<{message.key.hex}@{domain}>"
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.EREC_MAIL_FROM,
            to=[message.recipient],
            headers={"Message-ID": message_id},
            connection=get_connection(fail_silently=False),
        )
        for attachment in attachments:
            email.attach(attachment.name, attachment.content, attachment.mimetype)
        try:
            email.send()
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise PermanentSendError(f"邮件服务器拒绝：{exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientSendError(f"邮件服务器暂时不可用：{exc}") from exc
        return ProviderResult(provider=self.name, message_id=message_id)
