from __future__ import annotations

from django.apps import AppConfig


class IssuanceConfig(AppConfig):
    name = "issuance"
    verbose_name = "票据开具"

    def ready(self) -> None:
        # The ``__any`` lookup (one array parameter on PostgreSQL) used by the pipeline.
        import zhongtai.core.lookups  # noqa: F401
