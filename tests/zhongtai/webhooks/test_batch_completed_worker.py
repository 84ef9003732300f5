"""PostgreSQL + Redis pass: a real Celery worker signs a batch and calls the unit's receiver back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import nontax_payload
from tests.support.api import SignedClient
from tests.support.processes import celery_worker, shared_with_workers, wait_until
from tests.zhongtai.webhooks.conftest import Receiver, register
from zhongtai.webhooks.models import DeliveryStatus, IssueBatch, WebhookDelivery

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Path]:
    """Files shared with the worker through a folder; tasks go to the broker."""
    with shared_with_workers(tmp_path, CELERY_TASK_ALWAYS_EAGER=False):
        yield tmp_path


def test_a_worker_completes_the_batch_and_calls_back(
    api: SignedClient, pki: dict[str, Any], receiver: Receiver, media: Path
) -> None:
    register(api, receiver.url, path="/api/v1/webhook")
    body = api.post("/api/v1/receipts/batch", {"receipts": [nontax_payload(f"WK-{n}") for n in range(3)]}).json()
    assert body["created"] == 3
    with celery_worker("webhooks1", EREC_TEST_MEDIA_ROOT=str(media)):
        assert wait_until(lambda: bool(receiver.of_type("batch.completed")), timeout=120)
        assert wait_until(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).exists(), timeout=30)
    calls = receiver.of_type("batch.completed")
    assert len(calls) == 1
    data = calls[0].json["data"]
    assert (data["batchId"], data["signed"], data["failed"]) == (body["batchId"], 3, 0)
    assert IssueBatch.objects.get().completed_at is not None
