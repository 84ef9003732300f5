"""Webhook and batch routes, mounted under /api/v1/ (config/urls.py)."""

from __future__ import annotations

from django.urls import path

from zhongtai.webhooks import apis

urlpatterns = [
    path("public/webhook", apis.PartyWebhookApi.as_view(), name="public-webhook"),
    path("webhook", apis.UnitWebhookApi.as_view(), name="webhook"),
    path("batches/<str:batch_id>", apis.BatchDetailApi.as_view(), name="batch-detail"),
]
