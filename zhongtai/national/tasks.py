"""Celery tasks of the national outbox: thin, arguments are ids, bodies call the outbox."""

from __future__ import annotations

from celery import shared_task

from zhongtai.national.outbox import events_deliver, events_sweep, receipts_deliver


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def national_events_send_task(event_ids: list[int]) -> dict[str, int]:
    """Send these events (at most one request's worth) if they can be claimed; counts by outcome."""
    return events_deliver(event_ids=event_ids)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def national_receipts_send_task(receipt_ids: list[int]) -> dict[str, int]:
    """Send the waiting events of receipts whose signing just completed."""
    return receipts_deliver(receipt_ids=receipt_ids)


@shared_task(time_limit=120, soft_time_limit=100)
def national_events_sweep_task() -> int:
    """Re-dispatch due events: lost messages, retries whose backoff ran out, dead workers' leases."""
    return events_sweep()
