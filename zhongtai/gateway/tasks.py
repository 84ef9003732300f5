from __future__ import annotations

from celery import shared_task

from zhongtai.gateway.nonces import nonce_purge


@shared_task(time_limit=120, soft_time_limit=100)
def nonce_purge_task() -> int:
    return nonce_purge()
