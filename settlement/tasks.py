"""Celery tasks of settlement: thin, bodies call services."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from settlement.services import national_reconcile
from zhongtai.audit.services import Actor
from zhongtai.national.client import NationalUnavailable, is_configured


@shared_task(
    autoretry_for=(NationalUnavailable,),
    retry_backoff=300,
    retry_backoff_max=3600,
    max_retries=6,
    time_limit=3600,
    soft_time_limit=3500,
)
def national_reconcile_yesterday_task() -> str:
    """Each night: reconcile yesterday's receipts (Beijing issue date) with the national platform."""
    if not is_configured():
        return "not configured"
    day = timezone.localdate() - datetime.timedelta(days=1)
    return national_reconcile(day=day, actor=Actor.system("national-reconcile")).outcome
