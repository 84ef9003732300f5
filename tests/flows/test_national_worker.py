"""Real Celery workers push a batch to the national simulator through failures and a killed worker.

The simulator fails half of the requests (503 without storing, then 503 after storing: the
answer lost), a worker is killed (SIGKILL) while it delivers, another one takes over with
the sweeper's help, and in the end the simulator holds every event of every receipt exactly
once and every outbox row is delivered.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from issuance.models import Receipt, SignStatus
from issuance.tasks import receipt_jobs_sweep_task
from tests.conftest import nontax_payload
from tests.support.natsim import Natsim
from tests.support.processes import celery_worker, national_workers, wait_until
from verification.models import ReimbursingParty
from verification.services import entry_record
from zhongtai.audit.services import Actor
from zhongtai.national.models import NationalEvent
from zhongtai.national.tasks import national_events_sweep_task

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

RECEIPTS = 60
ENTERED = 15


@pytest.fixture
def setup(tmp_path: Path, natsim: Natsim, pki: dict[str, Any]) -> Iterator[dict[str, str]]:
    """Files shared with the workers through a folder, tasks to the broker, the platform pointed at the simulator."""
    with national_workers(tmp_path, natsim, pki) as env:
        yield env


def _issue_batch(api: Any) -> list[int]:
    body = api.post("/api/v1/receipts/batch", {"receipts": [nontax_payload(f"NW{n:03d}") for n in range(RECEIPTS)]})
    assert body.status_code == 200, body.json()
    assert body.json()["created"] == RECEIPTS
    return list(Receipt.objects.filter(bus_no__startswith="NW").order_by("pk").values_list("pk", flat=True))


def _signed(ids: list[int]) -> bool:
    return Receipt.objects.filter(pk__in=ids, sign_status=SignStatus.SIGNED).count() == len(ids)


def _enter(ids: list[int]) -> None:
    """Reimbursement entries on some receipts: events with seq 2, written while pushing goes on."""
    party = ReimbursingParty.objects.create(
        name="湖南省医疗保障局", party_type="medical_insurance", credit_code="11430000MB1234567Q"
    )
    for receipt in Receipt.objects.filter(pk__in=ids[:ENTERED]).order_by("pk"):
        entry_record(
            party=party,
            receipt=receipt,
            kind="reimbursement",
            amount=Decimal("10.00"),
            entry_date=timezone.localdate(),
            reference=f"NW-{receipt.pk}",
            actor=Actor.api_client("pk_test"),
        )


def _all_delivered() -> bool:
    return not NationalEvent.objects.exclude(state=NationalEvent.State.DELIVERED).exists()


def _sweep() -> None:
    """What beat does every 30 s, with the retries' backoff over (the clock moved on)."""
    receipt_jobs_sweep_task()
    NationalEvent.objects.filter(state=NationalEvent.State.PENDING).update(available_at=timezone.now())
    national_events_sweep_task()


def test_every_event_is_stored_exactly_once_through_failures_and_a_killed_worker(
    api: Any, natsim: Natsim, setup: dict[str, str]
) -> None:
    # given a batch, and a simulator that fails half of the requests and answers slowly
    ids = _issue_batch(api)
    natsim.control(failRate=0.5, failMode="error", delayMs=1000, seed=11)
    # when a worker signs and pushes, and is killed (SIGKILL) while it delivers
    with celery_worker("national-doomed", **setup) as doomed:
        assert wait_until(_signed_and_some_delivered(ids), timeout=180)
        _enter(ids)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    assert not _all_delivered(), "the worker delivered everything before it was killed; make the batch larger"
    # and the simulator now stores half of the failed requests' events before losing its answer
    natsim.control(failMode="drop_answer")
    with celery_worker("national-survivor", **setup):

        def swept_and_delivered() -> bool:
            _sweep()
            return _signed(ids) and _all_delivered()

        assert wait_until(swept_and_delivered, timeout=240, interval=2)
    # then the simulator holds every event of every receipt exactly once
    stored = natsim.events()
    held = Counter((e["receiptCode"], e["number"], e["seq"]) for e in stored)
    ours = set(NationalEvent.objects.values_list("receipt__receipt_code", "receipt__number", "seq"))
    assert len(ours) == RECEIPTS + ENTERED
    assert set(held) == ours
    assert set(held.values()) == {1}
    # and it was offered some of them more than once (failed answers, the killed worker), deduplicated
    counters = natsim.stats()["counters"]
    assert counters["failuresInjected"] > 0
    assert sum(e["offered"] for e in stored) >= len(stored)
    assert counters["accepted"] == len(stored)
    # and our rows are all delivered, each with its attempts counted
    assert Counter(NationalEvent.objects.values_list("state", flat=True)) == Counter(
        {NationalEvent.State.DELIVERED: RECEIPTS + ENTERED}
    )
    assert NationalEvent.objects.filter(attempts__gt=1).exists()


def _signed_and_some_delivered(ids: list[int]) -> Any:
    def check() -> bool:
        return _signed(ids) and NationalEvent.objects.filter(state=NationalEvent.State.DELIVERED).exists()

    return check
