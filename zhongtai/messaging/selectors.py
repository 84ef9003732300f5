"""Reads of the outgoing-message log."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from zhongtai.accounts.scoping import Scope
from zhongtai.messaging.models import OutgoingMessage


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight of ``day`` in the platform's time zone (Asia/Shanghai), as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def message_count_today(*, receipt_id: int) -> int:
    """Messages requested for one receipt since midnight, whatever became of them."""
    return OutgoingMessage.objects.filter(
        receipt_id=receipt_id, created_at__gte=day_start(timezone.localdate())
    ).count()


def message_list(
    *,
    scope: Scope,
    status: str = "",
    channel: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[OutgoingMessage]:
    """The outgoing messages a user may see, newest first, filtered by status, channel and request date.

    Messages belong to units (scope.filter_by_unit); a cashier limited to one issuing
    point sees the messages of that point's receipts only, like the receipts themselves.
    """
    messages = scope.filter_by_unit(OutgoingMessage.objects.all())
    if scope.issuing_point_id is not None:
        messages = messages.filter(receipt__issuing_point_id=scope.issuing_point_id)
    if status:
        messages = messages.filter(status=status)
    if channel:
        messages = messages.filter(channel=channel)
    if date_from is not None:
        messages = messages.filter(created_at__gte=day_start(date_from))
    if date_to is not None:
        messages = messages.filter(created_at__lt=day_start(date_to + datetime.timedelta(days=1)))
    return messages.select_related("unit", "receipt").order_by("-created_at", "-id")
