"""Celery tasks of the receipt pipeline: thin, arguments are ids, bodies call services."""

from __future__ import annotations

from celery import shared_task

from issuance.jobs import jobs_due, jobs_enqueue, jobs_run


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def receipt_jobs_run_task(job_ids: list[int]) -> dict[str, int]:
    """Run a chunk of pipeline jobs (at most ``jobs.CHUNK``); returns how many ended in each state."""
    return jobs_run(job_ids=job_ids)


@shared_task(time_limit=120, soft_time_limit=100)
def receipt_jobs_sweep_task() -> int:
    """Re-dispatch due jobs: lost messages, retries whose backoff ran out, crashed workers' leases."""
    due = jobs_due(limit=2000)
    jobs_enqueue(due)
    return len(due)
