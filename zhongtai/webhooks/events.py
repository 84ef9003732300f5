"""Events as the receiver sees them, and the outbox rows that carry them.

Every call has the same envelope::

    {"id": "<event id>", "type": "receipt.red_offset", "createdAt": "...+08:00",
     "sandbox": false, "data": {...}}

The body is written once, with the row, so that retries send the same bytes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from zhongtai.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def event_body(*, event_id: uuid.UUID, event_type: str, sandbox: bool, data: dict[str, Any]) -> str:
    envelope = {
        "id": str(event_id),
        "type": event_type,
        "createdAt": timezone.localtime().isoformat(),
        "sandbox": sandbox,
        "data": data,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


def deliveries_create(
    *,
    endpoint_data: Iterable[tuple[WebhookEndpoint, dict[str, Any]]],
    event_type: str,
    event_key: str,
    region_code: str = "",
) -> list[int]:
    """One outbox row per (endpoint, data), in the caller's transaction; enqueued after it commits.

    ``event_key`` names the subject (the red receipt, the batch): the unique constraint keeps
    an endpoint from being told of the same event twice.
    """
    assert transaction.get_connection().in_atomic_block, "deliveries must be written in the event's transaction"
    now = timezone.now()
    rows = []
    for endpoint, data in endpoint_data:
        event_id = uuid.uuid4()
        rows.append(
            WebhookDelivery(
                event_id=event_id,
                endpoint=endpoint,
                event_type=event_type,
                event_key=event_key,
                body=event_body(event_id=event_id, event_type=event_type, sandbox=endpoint.sandbox, data=data),
                sandbox=endpoint.sandbox,
                region_code=region_code,
                status=DeliveryStatus.QUEUED,
                next_attempt_at=now,
            )
        )
    if not rows:
        return []
    created = WebhookDelivery.objects.bulk_create(rows)
    ids = [row.pk for row in created]
    if any(pk is None for pk in ids):  # backends without RETURNING: read them back by event id
        ids = list(
            WebhookDelivery.objects.filter(event_id__in=[row.event_id for row in rows]).values_list("pk", flat=True)
        )

    from zhongtai.webhooks.outbox import deliveries_enqueue

    # Robust: the rows are committed whatever happens to the hand-over (the sweeper finds them).
    transaction.on_commit(lambda: deliveries_enqueue(ids), robust=True)
    return ids
