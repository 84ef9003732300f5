from __future__ import annotations

from django.apps import AppConfig


class QianduanConfig(AppConfig):
    name = "qianduan"
    verbose_name = "单位门户"
