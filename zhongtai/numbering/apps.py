from __future__ import annotations

from django.apps import AppConfig


class NumberingConfig(AppConfig):
    name = "zhongtai.numbering"
    label = "numbering"
    verbose_name = "票据赋码"
