from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "zhongtai.webhooks"
    label = "webhooks"
    verbose_name = "回调通知与冲红提醒"
