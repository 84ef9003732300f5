"""Celery tasks of the outgoing-message outbox: thin, arguments are ids, bodies call the outbox."""

from __future__ import annotations

from celery import shared_task

from zhongtai.messaging.outbox import message_deliver, messages_due, messages_enqueue


@shared_task(acks_late=True, time_limit=120, soft_time_limit=90)
def message_send_task(message_id: int) -> str:
    """Send one outgoing message if it can be claimed; returns its status afterwards (or 'skipped')."""
    return message_deliver(message_id=message_id)


@shared_task(time_limit=120, soft_time_limit=100)
def messages_sweep_task() -> int:
    """Re-dispatch due messages: lost hand-overs, retries whose delay ran out, dead workers' claims."""
    due = messages_due(limit=500)
    messages_enqueue(due)
    return len(due)
