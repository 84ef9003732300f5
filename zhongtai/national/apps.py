from __future__ import annotations

from django.apps import AppConfig


class NationalConfig(AppConfig):
    name = "zhongtai.national"
    label = "national"
    verbose_name = "全国平台推送"

    def ready(self) -> None:
        from zhongtai.national import checks  # noqa: F401  (registers the configuration check)
