from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from zhongtai.accounts.services import sign_in_records_purge


@shared_task(time_limit=300)
def sign_in_records_purge_task() -> dict[str, int]:
    return sign_in_records_purge(now=timezone.now())
