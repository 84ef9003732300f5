from __future__ import annotations

from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "zhongtai.signing"
    label = "signing"
    verbose_name = "签名与证书"
