"""Celery tasks of the webhook outbox: thin, arguments are ids, bodies call the outbox."""

from __future__ import annotations

from celery import shared_task

from zhongtai.webhooks.batches import batches_sweep
from zhongtai.webhooks.outbox import deliveries_due, deliveries_enqueue, delivery_attempt


@shared_task(acks_late=True, time_limit=120, soft_time_limit=90)
def webhook_deliver_task(delivery_id: int) -> str:
    """Call one endpoint with one event if the delivery can be claimed; its status afterwards (or 'skipped')."""
    return delivery_attempt(delivery_id=delivery_id)


@shared_task(time_limit=300)
def webhooks_sweep_task() -> dict[str, int]:
    """Complete batches the pipeline's hook missed, then re-dispatch due deliveries (retries included)."""
    completed = batches_sweep()
    due = deliveries_due(limit=500)
    deliveries_enqueue(due)
    return {"batchesCompleted": completed, "deliveriesDispatched": len(due)}
