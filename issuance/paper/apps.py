from __future__ import annotations

from django.apps import AppConfig


class PaperConfig(AppConfig):
    name = "issuance.paper"
    label = "paper"
    verbose_name = "纸质票据"
