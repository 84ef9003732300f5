"""Real Celery workers sign and render issued receipts; a killed worker loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from issuance.models import Receipt, ReceiptJob, SignStatus
from issuance.tasks import receipt_jobs_sweep_task
from tests.conftest import nontax_payload
from tests.support.processes import celery_worker, shared_with_workers, wait_until
from zhongtai.audit.models import AuditEvent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Path]:
    """Files shared with the worker processes through a folder; tasks go to the broker."""
    with shared_with_workers(tmp_path):
        yield tmp_path


def _issue_batch(api: Any, prefix: str, count: int) -> list[int]:
    body = api.post("/api/v1/receipts/batch", {"receipts": [nontax_payload(f"{prefix}{n}") for n in range(count)]})
    assert body.status_code == 200, body.json()
    assert body.json()["created"] == count
    return list(Receipt.objects.filter(bus_no__startswith=prefix).values_list("pk", flat=True))


def _all_done(ids: list[int]) -> bool:
    return Receipt.objects.filter(pk__in=ids, sign_status=SignStatus.SIGNED).exclude(layout_file="").count() == len(ids)


def _files(media: Path, suffix: str) -> list[Path]:
    return sorted(media.rglob(f"*{suffix}"))


def test_a_worker_signs_and_renders_a_batch(api: Any, pki: dict[str, Any], media: Path) -> None:
    ids = _issue_batch(api, "W", 30)
    with celery_worker("pipeline1", EREC_TEST_MEDIA_ROOT=str(media)):
        assert wait_until(lambda: _all_done(ids), timeout=120)
    assert len(_files(media, ".xml")) == 30
    assert len(_files(media, ".pdf")) == 30
    assert AuditEvent.objects.filter(action="receipt.sign").count() == 30


def test_a_killed_worker_loses_nothing_and_duplicates_nothing(api: Any, pki: dict[str, Any], media: Path) -> None:
    # given a batch and a worker that is killed (SIGKILL) while it works through it
    ids = _issue_batch(api, "K", 60)
    worker_env = {"EREC_TEST_MEDIA_ROOT": str(media), "EREC_JOB_LEASE_SECONDS": "3"}
    with celery_worker("doomed", **worker_env) as doomed:
        assert wait_until(
            lambda: Receipt.objects.filter(pk__in=ids, sign_status=SignStatus.SIGNED).exists(), timeout=120
        )
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    assert not _all_done(ids), "the worker finished before it could be killed; make the batch larger"
    # when another worker starts and the sweeper re-dispatches what is due (expired leases included)
    with celery_worker("survivor", **worker_env):

        def swept_and_done() -> bool:
            with override_settings(EREC_JOB_LEASE_SECONDS=3):
                receipt_jobs_sweep_task()
            return _all_done(ids)

        assert wait_until(swept_and_done, timeout=180, interval=2)
    # then every receipt is signed and rendered once: one file each, one sign audit row each
    assert len(_files(media, ".xml")) == 60
    assert len(_files(media, ".pdf")) == 60
    assert AuditEvent.objects.filter(action="receipt.sign").count() == 60
    assert not ReceiptJob.objects.exclude(state=ReceiptJob.State.DONE).exists()
