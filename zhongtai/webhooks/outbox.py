"""The webhook outbox: enqueue, claim, call, retry, give up, sweep, requeue.

As the outgoing-message outbox (``zhongtai.messaging.outbox``): a delivery row is written
in the event's transaction; after commit its id goes to
:func:`zhongtai.webhooks.tasks.webhook_deliver_task`. The task claims the row with a
conditional UPDATE (queued and due, or sending with an expired lease) and POSTs the body.
A 2xx answer is success; anything else (another status, a redirect, a timeout, a refused
connection) puts the row back in the queue with an exponential delay, until the last
allowed attempt marks it dead (已放弃). An operator can requeue a dead row. The sweeper
re-dispatches whatever a lost hand-over or a dead worker left behind.

Delivery is at least once: the event id stays the same on every attempt, so a receiver
drops what it has seen.
"""

from __future__ import annotations

import datetime
import http.client
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.backoff import backoff_delay
from zhongtai.core.outbox import outbox_claim, outbox_due, outbox_hand_over
from zhongtai.gateway.crypto import secret_decrypt
from zhongtai.webhooks.addresses import host_problem
from zhongtai.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from zhongtai.webhooks.signing import webhook_signature

logger = logging.getLogger(__name__)

SKIPPED = "skipped"
USER_AGENT = "erec-webhooks/1"
_SYSTEM = Actor.system("webhooks")


def lease() -> datetime.timedelta:
    # Longer than one call can take, so a live worker never loses its claim.
    return datetime.timedelta(seconds=settings.EREC_WEBHOOK_TIMEOUT_SECONDS * 2 + 60)


def retry_delay(attempts: int) -> datetime.timedelta:
    """Backoff after the ``attempts``-th failure: 30 s, 60 s, 120 s … at most one hour."""
    return backoff_delay(attempts, base_seconds=30, cap_seconds=3600)


def deliveries_enqueue(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    """Hand delivery ids to the workers. A lost hand-over is harmless: the sweeper finds the rows."""
    from zhongtai.webhooks.tasks import webhook_deliver_task

    outbox_hand_over(webhook_deliver_task, delivery_ids, countdown=countdown, what="webhook delivery")


def _due() -> Q:
    return outbox_due(queued=DeliveryStatus.QUEUED, sending=DeliveryStatus.SENDING)


def delivery_claim(*, delivery_id: int) -> WebhookDelivery | None:
    """Take a due delivery; None if it is not ours. The attempt count after the claim is the lease's token."""
    rows = WebhookDelivery.objects.filter(pk=delivery_id)
    if not outbox_claim(rows, queued=DeliveryStatus.QUEUED, sending=DeliveryStatus.SENDING, lease=lease()):
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


class _Failed(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that is not 2xx: the platform calls only the registered address."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def delivery_post(delivery: WebhookDelivery) -> int:
    """POST the delivery's body, signed; the 2xx status, or :class:`_Failed` with the reason."""
    endpoint = delivery.endpoint
    if not settings.EREC_WEBHOOK_ALLOW_PRIVATE:
        parts = urlsplit(endpoint.url)
        problem = host_problem(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        if problem:
            raise _Failed(problem)
    body = delivery.body.encode()
    timestamp = str(int(time.time()))
    secret = secret_decrypt(endpoint.secret_encrypted)
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Erec-Event-Id": str(delivery.event_id),
            "X-Erec-Event-Type": delivery.event_type,
            "X-Erec-Timestamp": timestamp,
            "X-Erec-Signature": webhook_signature(secret, timestamp, body),
            "X-Erec-Attempt": str(delivery.attempts),
        },
    )
    try:
        with _OPENER.open(request, timeout=settings.EREC_WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(4096)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise _Failed(f"回调地址返回 HTTP {exc.code}。", exc.code) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Failed(f"无法连接回调地址：{reason}") from None
    if not 200 <= status < 300:
        raise _Failed(f"回调地址返回 HTTP {status}。", status)
    return status


def delivery_attempt(*, delivery_id: int) -> str:
    """Claim one delivery and call its endpoint; its status afterwards, or ``"skipped"``."""
    delivery = delivery_claim(delivery_id=delivery_id)
    if delivery is None:
        return SKIPPED
    max_attempts = settings.EREC_WEBHOOK_MAX_ATTEMPTS
    if delivery.endpoint.status != WebhookEndpoint.Status.ENABLED:
        return _failed(delivery, error="回调地址已停用。", status_code=None, permanent=True)
    if delivery.attempts > max_attempts:
        # Only a claim taken over from an expired lease gets here: workers kept dying on it.
        return _failed(
            delivery, error=f"已尝试 {delivery.attempts - 1} 次，最后一次未返回结果。", status_code=None, permanent=True
        )
    try:
        status_code = delivery_post(delivery)
    except _Failed as exc:
        return _failed(delivery, error=str(exc), status_code=exc.status_code, permanent=False)
    except Exception as exc:  # a bug or a broken configuration (KEK): keep it, an operator requeues
        logger.exception("webhook delivery %s failed unexpectedly", delivery.pk)
        return _failed(delivery, error=f"{exc.__class__.__name__}: {exc}", status_code=None, permanent=True)
    with transaction.atomic():
        recorded = _finish(
            delivery,
            status=DeliveryStatus.DELIVERED,
            delivered_at=timezone.now(),
            last_status_code=status_code,
            last_error="",
        )
        if recorded:
            _audit(delivery, "webhook.delivered", {"attempts": delivery.attempts, "status": status_code})
    return DeliveryStatus.DELIVERED if recorded else SKIPPED


def _failed(delivery: WebhookDelivery, *, error: str, status_code: int | None, permanent: bool) -> str:
    error = error[:2000]
    if permanent or delivery.attempts >= settings.EREC_WEBHOOK_MAX_ATTEMPTS:
        with transaction.atomic():
            recorded = _finish(delivery, status=DeliveryStatus.DEAD, last_error=error, last_status_code=status_code)
            if recorded:
                _audit(delivery, "webhook.dead", {"attempts": delivery.attempts, "error": error[:500]})
        return DeliveryStatus.DEAD if recorded else SKIPPED
    delay = retry_delay(delivery.attempts)
    logger.warning(
        "webhook delivery %s failed on attempt %s, retry in %s: %s", delivery.pk, delivery.attempts, delay, error
    )
    recorded = _finish(
        delivery,
        status=DeliveryStatus.QUEUED,
        last_error=error,
        last_status_code=status_code,
        next_attempt_at=timezone.now() + delay,
    )
    if recorded and not settings.CELERY_TASK_ALWAYS_EAGER:
        # An eager countdown would run at once and find the row not yet due: without a
        # broker the sweeper retries it.
        deliveries_enqueue([delivery.pk], countdown=delay.total_seconds() + 1)
    return DeliveryStatus.QUEUED if recorded else SKIPPED


def _finish(delivery: WebhookDelivery, **fields: object) -> bool:
    """Record an outcome if this worker still holds the claim (same attempt count, still sending)."""
    updated = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts
    ).update(lease_until=None, **fields)
    return updated == 1


def _audit(delivery: WebhookDelivery, action: str, data: dict[str, object], actor: Actor = _SYSTEM) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="webhook_delivery",
        object_id=delivery.pk,
        region_code=delivery.region_code,
        data={"eventId": str(delivery.event_id), "type": delivery.event_type, "endpoint": delivery.endpoint_id, **data},
    )


def deliveries_due(*, limit: int = 500) -> list[int]:
    """Deliveries a worker should take now: queued and due, or sending with an expired lease."""
    return list(
        WebhookDelivery.objects.filter(_due()).order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit]
    )


def delivery_requeue(*, delivery: WebhookDelivery, actor: Actor) -> bool:
    """An operator sends a dead delivery back to the queue (after the receiver was fixed); audited."""
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.DEAD).update(
            status=DeliveryStatus.QUEUED, attempts=0, next_attempt_at=timezone.now(), lease_until=None
        )
        if updated:
            _audit(delivery, "webhook.requeue", {"previousError": delivery.last_error[:500]}, actor=actor)
            transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]), robust=True)
    return bool(updated)
