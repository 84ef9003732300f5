"""A real Celery worker, fed through Redis, runs the platform's tasks against PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from config.celery import app
from tests.support.processes import celery_worker, wait_until
from zhongtai.gateway.models import UsedNonce

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    # send_task always goes to the broker, which is the point here.
    pytest.mark.filterwarnings("ignore:task_always_eager has no effect"),
]


def test_worker_purges_expired_nonces_sent_through_the_broker() -> None:
    # given one expired and one fresh nonce
    now = timezone.now()
    UsedNonce.objects.create(app_id="ak1", nonce="old-nonce-0000000001", seen_at=now - datetime.timedelta(hours=1))
    UsedNonce.objects.create(app_id="ak1", nonce="new-nonce-0000000001", seen_at=now)
    with celery_worker():
        # when the periodic task is sent to the broker (not run in this process)
        app.send_task("zhongtai.gateway.tasks.nonce_purge_task")
        # then the worker deletes the expired nonce only
        assert wait_until(lambda: not UsedNonce.objects.filter(nonce="old-nonce-0000000001").exists())
    assert UsedNonce.objects.filter(nonce="new-nonce-0000000001").exists()
