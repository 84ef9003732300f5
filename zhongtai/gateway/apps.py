from __future__ import annotations

from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "zhongtai.gateway"
    label = "gateway"
    verbose_name = "接口网关"

    def ready(self) -> None:
        from zhongtai.gateway import schema  # noqa: F401  (registers the OpenAPI extension)
