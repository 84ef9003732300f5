"""The outbox of outgoing messages: enqueue, claim, deliver, retry, sweep.

A message row is written in the requesting transaction; after commit its id goes to
the Celery task :func:`zhongtai.messaging.tasks.message_send_task`. The task claims the
row with a conditional UPDATE (queued and due, or sending with an expired lease), so
two workers never send the same message at once and a sent message is never sent
again. A transient failure puts the row back in the queue with an exponential delay
and hands it to a worker again after that delay; the last allowed attempt, or a
permanent failure, marks it failed. The sweeper re-dispatches whatever a lost message
or a dead worker left behind.

Delivery is at least once: a worker that dies after the provider accepted a message
but before recording it leaves a row that is sent again once its lease runs out. The
``messageId`` (SMS) and ``Message-ID`` (email) stay the same, so a gateway can drop
the repeat.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.backoff import backoff_delay
from zhongtai.core.outbox import outbox_claim, outbox_due, outbox_hand_over
from zhongtai.messaging.models import MessageStatus, OutgoingMessage
from zhongtai.messaging.providers import PermanentSendError, TransientSendError, provider_for

logger = logging.getLogger(__name__)

# Longer than the task's time limit, so a live worker never loses its claim.
LEASE = datetime.timedelta(minutes=5)
SKIPPED = "skipped"
_SYSTEM = Actor.system("messaging")


def retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff after the ``attempts``-th failure: 30 s, 60 s, 120 s … at most 30 minutes."""
    return backoff_delay(attempts, base_seconds=30, cap_seconds=1800)


def messages_enqueue(message_ids: Iterable[int], *, countdown: float | None = None) -> None:
    """Hand message ids to the workers. A lost hand-over is harmless: the sweeper finds the rows."""
    from zhongtai.messaging.tasks import message_send_task

    outbox_hand_over(message_send_task, message_ids, countdown=countdown, what="outgoing message")


def message_claim(*, message_id: int) -> OutgoingMessage | None:
    """Take a due message (queued and due, or sending with an expired lease); None if it is not ours.

    The attempt count after the claim is the lease's token: only its holder records the outcome.
    """
    rows = OutgoingMessage.objects.filter(pk=message_id)
    if not outbox_claim(rows, queued=MessageStatus.QUEUED, sending=MessageStatus.SENDING, lease=LEASE):
        return None
    return OutgoingMessage.objects.select_related("unit", "receipt").get(pk=message_id)


def message_deliver(*, message_id: int) -> str:
    """Claim one message and send it; returns its status afterwards, or ``"skipped"`` if not claimed."""
    message = message_claim(message_id=message_id)
    if message is None:
        return SKIPPED
    if message.attempts > settings.EREC_MESSAGE_MAX_ATTEMPTS:
        # Only a claim taken over from an expired lease gets here: workers kept dying on it.
        error = f"已尝试 {message.attempts - 1} 次，最后一次的处理进程未返回结果。"
        return _failed_attempt(message, error=error, permanent=True)
    try:
        result = provider_for(message.channel).send(message)
    except TransientSendError as exc:
        return _failed_attempt(message, error=str(exc), permanent=False)
    except PermanentSendError as exc:
        return _failed_attempt(message, error=str(exc), permanent=True)
    except Exception as exc:  # a bug or a broken configuration: retrying would repeat it
        logger.exception("outgoing message %s failed unexpectedly", message.pk)
        return _failed_attempt(message, error=f"{exc.__class__.__name__}: {exc}", permanent=True)
    with transaction.atomic():
        recorded = _finish(
            message,
            status=MessageStatus.SENT,
            sent_at=timezone.now(),
            provider=result.provider[:64],
            provider_message_id=result.message_id[:128],
            last_error="",
        )
        if recorded:
            _audit(message, "message.sent", {"provider": result.provider, "attempts": message.attempts})
    return MessageStatus.SENT if recorded else SKIPPED


def _failed_attempt(message: OutgoingMessage, *, error: str, permanent: bool) -> str:
    error = error[:2000]
    if permanent or message.attempts >= settings.EREC_MESSAGE_MAX_ATTEMPTS:
        with transaction.atomic():
            recorded = _finish(message, status=MessageStatus.FAILED, last_error=error)
            if recorded:
                _audit(message, "message.fail", {"attempts": message.attempts, "error": error[:500]})
        return MessageStatus.FAILED if recorded else SKIPPED
    delay = retry_delay(message.attempts)
    logger.warning(
        "outgoing message %s failed on attempt %s, retry in %s: %s", message.pk, message.attempts, delay, error
    )
    recorded = _finish(message, status=MessageStatus.QUEUED, last_error=error, next_attempt_at=timezone.now() + delay)
    if recorded and not settings.CELERY_TASK_ALWAYS_EAGER:
        # An eager "countdown" would run at once and find the message not yet due: only a real
        # broker can hold it back. Without one, the sweeper (or a manual sweep) retries it.
        transaction.on_commit(lambda: messages_enqueue([message.pk], countdown=delay.total_seconds() + 1), robust=True)
    return MessageStatus.QUEUED if recorded else SKIPPED


def _finish(message: OutgoingMessage, **fields: object) -> bool:
    """Record an outcome if this worker still holds the claim (same attempt count, still sending)."""
    updated = OutgoingMessage.objects.filter(
        pk=message.pk, status=MessageStatus.SENDING, attempts=message.attempts
    ).update(lease_until=None, **fields)
    return updated == 1


def _audit(message: OutgoingMessage, action: str, data: dict[str, object]) -> None:
    audit_record(
        actor=_SYSTEM,
        action=action,
        object_type="outgoing_message",
        object_id=message.pk,
        unit_code=message.unit.code,
        region_code=message.receipt.region_code if message.receipt is not None else "",
        data={"channel": message.channel, "recipient": message.recipient_masked, **data},
    )


def messages_due(*, limit: int = 500) -> list[int]:
    """Messages a worker should take now: queued and due, or sending with an expired lease."""
    return list(
        OutgoingMessage.objects.filter(outbox_due(queued=MessageStatus.QUEUED, sending=MessageStatus.SENDING))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
