from __future__ import annotations

from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "zhongtai.onboarding"
    label = "onboarding"
    verbose_name = "单位接入与推广"
