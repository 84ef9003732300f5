"""The pipeline outbox: exclusive claims, leases, retries with backoff, dead letters, requeue."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from issuance.jobs import MAX_ATTEMPTS, PermanentJobError, job_claim, job_requeue, job_run, jobs_due, retry_delay
from issuance.models import Receipt, ReceiptJob
from tests.conftest import nontax_payload


@pytest.fixture
def receipt(api: Any) -> Receipt:
    response = api.post("/api/v1/receipts/issue", nontax_payload("JOB1"))
    assert response.status_code == 201
    return Receipt.objects.get(bus_no="JOB1")


@pytest.fixture
def job(receipt: Receipt) -> ReceiptJob:
    ReceiptJob.objects.filter(receipt=receipt).delete()
    return ReceiptJob.objects.create(receipt=receipt, step=ReceiptJob.Step.RENDER, available_at=timezone.now())


def _state(job: ReceiptJob) -> ReceiptJob:
    job.refresh_from_db()
    return job


def test_a_job_is_claimed_once(job: ReceiptJob) -> None:
    assert job_claim(job_id=job.pk) is not None
    assert job_claim(job_id=job.pk) is None
    assert _state(job).state == ReceiptJob.State.RUNNING


def test_a_job_whose_lease_ran_out_is_claimed_again(job: ReceiptJob) -> None:
    # given a worker that claimed the job and died
    job_claim(job_id=job.pk)
    ReceiptJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    # then the job is due again and another worker can take it
    assert job.pk in jobs_due()
    assert job_claim(job_id=job.pk) is not None
    assert _state(job).attempts == 2


def test_a_successful_step_is_done(job: ReceiptJob) -> None:
    seen: list[int] = []
    state = job_run(job_id=job.pk, handlers={"render": lambda r: seen.append(r.pk)})
    assert state == ReceiptJob.State.DONE
    assert seen == [job.receipt_id]
    assert job.pk not in jobs_due()


def test_a_failing_step_is_retried_later_then_dead(job: ReceiptJob) -> None:
    def broken(receipt: Receipt) -> None:
        raise OSError("storage unreachable")

    # when it fails, it goes back to pending with a backoff
    assert job_run(job_id=job.pk, handlers={"render": broken}) == ReceiptJob.State.PENDING
    current = _state(job)
    assert "storage unreachable" in current.last_error
    assert current.available_at > timezone.now() + retry_delay(1) - datetime.timedelta(seconds=5)
    assert job.pk not in jobs_due()
    # when every attempt fails, it is dead and waits for an operator
    for _ in range(MAX_ATTEMPTS - 1):
        ReceiptJob.objects.filter(pk=job.pk).update(available_at=timezone.now())
        job_run(job_id=job.pk, handlers={"render": broken})
    assert _state(job).state == ReceiptJob.State.DEAD
    # and an operator's requeue makes it due again
    assert job_requeue(job_id=job.pk) is True
    assert _state(job).state == ReceiptJob.State.PENDING
    assert job.pk in jobs_due()


def test_a_permanent_error_is_dead_at_once(job: ReceiptJob) -> None:
    def no_certificate(receipt: Receipt) -> None:
        raise PermanentJobError("单位没有有效的签名证书")

    assert job_run(job_id=job.pk, handlers={"render": no_certificate}) == ReceiptJob.State.DEAD
    assert _state(job).attempts == 1


def test_a_worker_whose_lease_was_taken_over_cannot_finish(job: ReceiptJob) -> None:
    # given worker A claimed, its lease expired and worker B claimed the job again
    first = job_claim(job_id=job.pk)
    assert first is not None
    ReceiptJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    job_run(job_id=job.pk, handlers={"render": lambda r: None})
    # when A finishes late with a failure, B's result stands
    from issuance.jobs import _finish

    _finish(first, state=ReceiptJob.State.PENDING, error="late")
    assert _state(job).state == ReceiptJob.State.DONE


def test_backoff_grows_and_is_capped() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert retry_delay(30).total_seconds() == 600
