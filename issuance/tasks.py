"""Celery tasks of the receipt pipeline: thin, arguments are ids, bodies call services."""

from __future__ import annotations

from celery import shared_task

from issuance.jobs import job_run, jobs_due, jobs_enqueue


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def receipt_jobs_run_task(job_ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for job_id in job_ids:
        state = job_run(job_id=job_id)
        counts[state] = counts.get(state, 0) + 1
    return counts


@shared_task(time_limit=120)
def receipt_jobs_sweep_task() -> int:
    """Re-dispatch due jobs: lost messages, retries whose backoff ran out, crashed workers' leases."""
    due = jobs_due(limit=2000)
    jobs_enqueue(due)
    return len(due)
