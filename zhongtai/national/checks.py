"""System check: production pushes to the national platform (``manage.py check``, every start)."""

from __future__ import annotations

from typing import Any

from django.core import checks

PRODUCTION_SETTINGS = "config.settings.production"


@checks.register()
def national_configured_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.conf import settings

    if settings.EREC_NATIONAL_URL or settings.SETTINGS_MODULE != PRODUCTION_SETTINGS:
        return []
    return [
        checks.Warning(
            "未配置全国平台地址（EREC_NATIONAL_URL）：票据事件只在本平台排队，不推送全国平台。",
            hint="Set EREC_NATIONAL_URL and EREC_NATIONAL_SECRET: see docs/operations.md (the national outbox).",
            id="national.W001",
        )
    ]
