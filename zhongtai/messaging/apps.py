from __future__ import annotations

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "zhongtai.messaging"
    label = "messaging"
    verbose_name = "消息发送"

    def ready(self) -> None:
        from zhongtai.messaging import checks  # noqa: F401  (registers the provider check)
