from __future__ import annotations

from django.apps import AppConfig


class IssuanceConfig(AppConfig):
    name = "issuance"
    verbose_name = "票据开具"
