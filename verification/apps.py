from __future__ import annotations

from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "verification"
    label = "verification"
    verbose_name = "查验与报销"

    def ready(self) -> None:
        from verification import schema  # noqa: F401  (registers the OpenAPI extension)
