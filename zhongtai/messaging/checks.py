"""System check: the configured SMS provider exists and can be built (``manage.py check``, every start)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register()
def sms_provider_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.conf import settings

    from zhongtai.messaging.models import Channel
    from zhongtai.messaging.providers import provider_for

    try:
        provider_for(Channel.SMS)
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint=f"EREC_SMS_PROVIDER={settings.EREC_SMS_PROVIDER!r}: see docs/operations.md (messages to payers).",
                id="messaging.E001",
            )
        ]
    return []
