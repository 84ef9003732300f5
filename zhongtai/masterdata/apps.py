from __future__ import annotations

from django.apps import AppConfig


class MasterdataConfig(AppConfig):
    name = "zhongtai.masterdata"
    label = "masterdata"
    verbose_name = "基础数据"
