"""The pipeline outbox: exclusive claims, leases, retries with backoff, dead letters, requeue."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from issuance.jobs import (
    MAX_ATTEMPTS,
    SKIPPED,
    ChunkHandler,
    PermanentJobError,
    job_claim,
    job_requeue,
    job_run,
    jobs_claim,
    jobs_create,
    jobs_done_with,
    jobs_due,
    jobs_run,
    retry_delay,
)
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


# --- Chunks: what a worker's message carries ------------------------------------------------


@pytest.fixture
def chunk(api: Any) -> list[ReceiptJob]:
    """Three receipts, each with a due render job and nothing else."""
    jobs = []
    for n in range(3):
        assert api.post("/api/v1/receipts/issue", nontax_payload(f"CHUNK{n}")).status_code == 201
        receipt = Receipt.objects.get(bus_no=f"CHUNK{n}")
        ReceiptJob.objects.filter(receipt=receipt).delete()
        jobs.append(
            ReceiptJob.objects.create(receipt=receipt, step=ReceiptJob.Step.RENDER, available_at=timezone.now())
        )
    return jobs


def _ids(jobs: list[ReceiptJob]) -> list[int]:
    return [job.pk for job in jobs]


def test_a_chunk_is_claimed_with_one_statement_and_only_once(
    chunk: list[ReceiptJob], django_assert_num_queries: Any
) -> None:
    # when a worker claims the chunk
    with django_assert_num_queries(1):
        claimed = jobs_claim(job_ids=_ids(chunk))
    # then it holds every job, each with its attempt counted, and nobody can claim them again
    assert [job.pk for job in claimed] == _ids(chunk)
    assert [job.attempts for job in claimed] == [1, 1, 1]
    assert all(_state(job).state == ReceiptJob.State.RUNNING for job in chunk)
    assert jobs_claim(job_ids=_ids(chunk)) == []


def test_a_chunk_claim_takes_only_the_due_jobs(chunk: list[ReceiptJob]) -> None:
    # given one job waiting for its backoff and one held by a worker whose lease still runs
    waiting, held, free = chunk
    ReceiptJob.objects.filter(pk=waiting.pk).update(available_at=timezone.now() + datetime.timedelta(minutes=5))
    assert job_claim(job_id=held.pk) is not None
    # when a worker runs the chunk, it runs only the free job and reports the others as skipped
    seen: list[int] = []
    counts = jobs_run(job_ids=_ids(chunk), handlers={"render": _steps(seen)})
    assert counts == {ReceiptJob.State.DONE: 1, SKIPPED: 2}
    assert seen == [free.receipt_id]
    assert (_state(waiting).state, _state(held).state) == (ReceiptJob.State.PENDING, ReceiptJob.State.RUNNING)


def _steps(seen: list[int], errors: dict[int, BaseException] | None = None) -> ChunkHandler:
    def run(receipt_ids: list[int]) -> dict[int, BaseException | None]:
        seen.extend(receipt_ids)
        return {receipt_id: (errors or {}).get(receipt_id) for receipt_id in receipt_ids}

    return run


def test_each_job_of_a_chunk_ends_on_its_own_terms(chunk: list[ReceiptJob]) -> None:
    # given a step that succeeds for one receipt, fails for another and cannot ever work for the third
    ok, flaky, hopeless = chunk
    errors = {flaky.receipt_id: OSError("storage unreachable"), hopeless.receipt_id: PermanentJobError("没有证书")}
    # when the chunk runs
    counts = jobs_run(job_ids=_ids(chunk), handlers={"render": _steps([], errors)})
    # then the first is done, the second waits for its backoff, the third is dead for an operator
    assert counts == {ReceiptJob.State.DONE: 1, ReceiptJob.State.PENDING: 1, ReceiptJob.State.DEAD: 1}
    assert _state(ok).state == ReceiptJob.State.DONE
    retried = _state(flaky)
    assert (retried.state, retried.attempts) == (ReceiptJob.State.PENDING, 1)
    assert "OSError: storage unreachable" in retried.last_error
    assert retried.available_at > timezone.now() + retry_delay(1) - datetime.timedelta(seconds=5)
    dead = _state(hopeless)
    assert (dead.state, dead.last_error) == (ReceiptJob.State.DEAD, "没有证书")


def test_a_chunk_job_on_its_last_attempt_is_dead(chunk: list[ReceiptJob]) -> None:
    first = chunk[0]
    ReceiptJob.objects.filter(pk=first.pk).update(attempts=MAX_ATTEMPTS - 1)
    errors = {job.receipt_id: OSError("disk full") for job in chunk}
    counts = jobs_run(job_ids=_ids(chunk), handlers={"render": _steps([], errors)})
    assert counts == {ReceiptJob.State.DEAD: 1, ReceiptJob.State.PENDING: 2}
    assert _state(first).state == ReceiptJob.State.DEAD


def test_a_step_failing_as_a_whole_retries_every_job_of_the_chunk(chunk: list[ReceiptJob]) -> None:
    def down(receipt_ids: list[int]) -> dict[int, BaseException | None]:
        raise ConnectionError("database gone")

    assert jobs_run(job_ids=_ids(chunk), handlers={"render": down}) == {ReceiptJob.State.PENDING: 3}
    assert all("database gone" in _state(job).last_error for job in chunk)


def test_a_chunk_worker_whose_lease_was_taken_over_cannot_finish(chunk: list[ReceiptJob]) -> None:
    # given worker A claimed the chunk, its lease expired and worker B ran it
    held_by_a = jobs_claim(job_ids=_ids(chunk))
    ReceiptJob.objects.filter(pk__in=_ids(chunk)).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    errors = {chunk[0].receipt_id: OSError("B could not write")}
    jobs_run(job_ids=_ids(chunk), handlers={"render": _steps([], errors)})
    # when A finishes late, with successes and a failure
    from issuance.jobs import _fail, _finish_done

    _finish_done(held_by_a[1:])
    _fail(held_by_a[0], PermanentJobError("late"))
    # then B's results stand
    assert [(_state(job).state, _state(job).attempts) for job in chunk] == [
        (ReceiptJob.State.PENDING, 2),
        (ReceiptJob.State.DONE, 2),
        (ReceiptJob.State.DONE, 2),
    ]
    assert "B could not write" in _state(chunk[0]).last_error


def test_the_task_runs_its_chunk_and_counts_the_states(chunk: list[ReceiptJob]) -> None:
    from issuance.tasks import receipt_jobs_run_task

    # the receipts are not signed yet: rendering them is refused for good
    assert receipt_jobs_run_task([*_ids(chunk), 10**9]) == {ReceiptJob.State.DEAD: 3, SKIPPED: 1}
    assert "尚未完成签章" in _state(chunk[0]).last_error


# --- A step that finishes its jobs in the transaction recording its results -------------------


def test_a_step_finishes_its_jobs_in_its_own_transaction(chunk: list[ReceiptJob]) -> None:
    # given a step that records every receipt's result and finishes the jobs of two of them with it
    def step(receipt_ids: list[int]) -> dict[int, BaseException | None]:
        with transaction.atomic():
            jobs_done_with(receipt_ids=receipt_ids[:2])
            assert {_state(job).state for job in chunk[:2]} == {ReceiptJob.State.DONE}
        return dict.fromkeys(receipt_ids)

    # when the chunk runs, then every job is done: two in the step's transaction, the third after it
    assert jobs_run(job_ids=_ids(chunk), handlers={"render": step}) == {ReceiptJob.State.DONE: 3}
    assert {_state(job).state for job in chunk} == {ReceiptJob.State.DONE}


def test_jobs_finished_in_a_transaction_that_rolls_back_are_retried(chunk: list[ReceiptJob]) -> None:
    def step(receipt_ids: list[int]) -> dict[int, BaseException | None]:
        try:
            with transaction.atomic():
                jobs_done_with(receipt_ids=receipt_ids)
                raise OSError("disk gone before commit")
        except OSError as exc:
            return dict.fromkeys(receipt_ids, exc)

    assert jobs_run(job_ids=_ids(chunk), handlers={"render": step}) == {ReceiptJob.State.PENDING: 3}
    assert [(_state(job).state, _state(job).attempts) for job in chunk] == [(ReceiptJob.State.PENDING, 1)] * 3


def test_finishing_jobs_outside_a_running_step_does_nothing(chunk: list[ReceiptJob]) -> None:
    jobs_claim(job_ids=_ids(chunk))
    jobs_done_with(receipt_ids=[job.receipt_id for job in chunk])
    assert {_state(job).state for job in chunk} == {ReceiptJob.State.RUNNING}


def test_creating_jobs_that_may_exist_keeps_one_row_per_receipt_and_step(
    chunk: list[ReceiptJob], django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given one receipt whose render job is done, one whose job waits, and one without a job
    done, waiting, missing = chunk
    ReceiptJob.objects.filter(pk=done.pk).update(state=ReceiptJob.State.DONE)
    ReceiptJob.objects.filter(pk=missing.pk).delete()
    receipts = list(Receipt.objects.filter(pk__in=[job.receipt_id for job in chunk]))
    enqueued: list[list[int]] = []
    monkeypatch.setattr("issuance.jobs.jobs_enqueue", enqueued.append)
    # when render jobs are created for all three
    with django_capture_on_commit_callbacks(execute=True):
        ids = jobs_create(receipts=receipts, step=ReceiptJob.Step.RENDER, existing_ok=True)
    # then each receipt has one, the existing ones unchanged, and the pending ones are enqueued
    rows = {job.receipt_id: job for job in ReceiptJob.objects.filter(step=ReceiptJob.Step.RENDER)}
    assert set(rows) == {done.receipt_id, waiting.receipt_id, missing.receipt_id}
    assert (rows[done.receipt_id].pk, rows[done.receipt_id].state) == (done.pk, ReceiptJob.State.DONE)
    assert rows[waiting.receipt_id].pk == waiting.pk
    created = rows[missing.receipt_id]
    assert (created.state, created.attempts, created.lease_until, created.last_error) == ("pending", 0, None, "")
    assert created.available_at <= timezone.now() and created.created_at == created.updated_at == created.available_at
    assert sorted(ids) == sorted([waiting.pk, created.pk]) and enqueued == [ids]
