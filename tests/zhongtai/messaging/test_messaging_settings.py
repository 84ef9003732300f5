"""Messaging settings are parsed strictly; production needs the gateway's URL and secret; providers plug in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from issuance.models import Receipt
from tests.support.processes import PRODUCTION_ENV, python_run
from tests.zhongtai.messaging.conftest import PHONE
from zhongtai.messaging.checks import sms_provider_check
from zhongtai.messaging.models import Channel, MessageStatus, OutgoingMessage
from zhongtai.messaging.providers import ProviderResult, provider_for

ROOT = Path(__file__).resolve().parents[3]


def _start(settings_module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the settings module in a fresh interpreter with only ``env`` set (parsing happens at import)."""
    return python_run(f"import {settings_module}", env)


def test_production_with_the_http_gateway_needs_its_url_and_secret() -> None:
    # given production with the http SMS provider but no gateway URL / then it refuses to start
    result = _start("config.settings.production", {**PRODUCTION_ENV, "EREC_SMS_PROVIDER": "http"})
    assert result.returncode != 0 and "EREC_SMS_URL" in result.stderr
    # given the URL but no secret / then it still refuses
    with_url = {**PRODUCTION_ENV, "EREC_SMS_PROVIDER": "http", "EREC_SMS_URL": "https://sms.example/send"}
    result = _start("config.settings.production", with_url)
    assert result.returncode != 0 and "EREC_SMS_SECRET" in result.stderr
    # given both / then it starts
    result = _start("config.settings.production", {**with_url, "EREC_SMS_SECRET": "s3cret"})
    assert result.returncode == 0, result.stderr


def test_production_with_the_console_provider_needs_no_gateway() -> None:
    result = _start("config.settings.production", PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"EREC_SMS_PROVIDER": "sms gateway"}, "EREC_SMS_PROVIDER"),
        ({"EREC_SMS_PROVIDER": ""}, "EREC_SMS_PROVIDER"),
        ({"EREC_SMS_URL": "ftp://sms.example/send"}, "EREC_SMS_URL"),
        ({"EREC_SMS_TIMEOUT_SECONDS": "ten"}, "EREC_SMS_TIMEOUT_SECONDS"),
        ({"EREC_MESSAGE_MAX_ATTEMPTS": "0"}, "EREC_MESSAGE_MAX_ATTEMPTS"),
        ({"EREC_MESSAGES_PER_RECEIPT_PER_DAY": "-1"}, "EREC_MESSAGES_PER_RECEIPT_PER_DAY"),
        ({"EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"}, "EMAIL_USE_SSL"),
        ({"EMAIL_USE_TLS": "sometimes"}, "EMAIL_USE_TLS"),
        ({"EREC_MAIL_FROM": "noreply"}, "EREC_MAIL_FROM"),
    ],
)
def test_a_bad_value_stops_the_start(env: dict[str, str], named: str) -> None:
    result = _start("config.settings.base", env)
    assert result.returncode != 0
    assert named in result.stderr


def test_the_embedded_default_logs_sms_and_writes_mail_to_the_console() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EREC_SMS_PROVIDER, s.EMAIL_BACKEND, s.DEFAULT_FROM_EMAIL == s.EREC_MAIL_FROM, "
        "s.EREC_MESSAGE_MAX_ATTEMPTS, s.EREC_MESSAGES_PER_RECEIPT_PER_DAY, "
        "s.CELERY_BEAT_SCHEDULE['sweep-outgoing-messages']['task'])"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EREC_", "EMAIL_"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.base"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "console",
        "django.core.mail.backends.console.EmailBackend",
        "True",
        "5",
        "5",
        "zhongtai.messaging.tasks.messages_sweep_task",
    ]


# --- the system check ------------------------------------------------------------------------


def test_the_check_passes_for_the_default_and_a_configured_gateway(settings: Any) -> None:
    assert sms_provider_check() == []
    settings.EREC_SMS_PROVIDER = "http"
    settings.EREC_SMS_URL, settings.EREC_SMS_SECRET = "https://sms.example/send", "s"
    assert sms_provider_check() == []


@pytest.mark.parametrize(
    ("provider", "url", "secret"),
    [
        ("no_such_gateway", "", ""),
        ("http", "", "s"),
        ("http", "https://sms.example/send", ""),
        ("myprovince.sms.NoSuchProvider", "", ""),
        ("email", "", ""),  # an email provider cannot send SMS
    ],
)
def test_the_check_reports_a_provider_that_cannot_send(settings: Any, provider: str, url: str, secret: str) -> None:
    settings.EREC_SMS_PROVIDER, settings.EREC_SMS_URL, settings.EREC_SMS_SECRET = provider, url, secret
    [error] = sms_provider_check()
    assert error.id == "messaging.E001" and provider in error.hint


# --- a province's own gateway ------------------------------------------------------------------


class ProvinceGateway:
    """What a province writes for its own SMS gateway: nothing of the platform changes."""

    name = "province-gw"
    channel = Channel.SMS
    sent: ClassVar[list[tuple[str, str]]] = []

    def send(self, message: OutgoingMessage) -> ProviderResult:
        self.sent.append((message.recipient, message.body))
        return ProviderResult(provider=self.name, message_id=f"pgw-{len(self.sent)}")


def test_a_provider_named_by_dotted_path_sends_the_sms(signed_receipt: Receipt, send: Any, settings: Any) -> None:
    # given the province's own provider configured by its dotted path
    settings.EREC_SMS_PROVIDER = f"{__name__}.ProvinceGateway"
    ProvinceGateway.sent.clear()
    assert isinstance(provider_for(Channel.SMS), ProvinceGateway)
    # when a receipt is sent by SMS / then that provider sent it, and the log names it
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert ProvinceGateway.sent == [(PHONE, message.body)]
    assert (message.status, message.provider, message.provider_message_id) == (
        MessageStatus.SENT,
        "province-gw",
        "pgw-1",
    )
    assert not message.log_only
