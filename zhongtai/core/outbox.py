"""The pieces every row-per-send outbox repeats (outgoing messages, webhook deliveries).

A row is due when it is queued and its next attempt has come, or when it is being sent
under a lease that has run out (its worker died). A worker claims a due row with one
conditional UPDATE that bumps the attempt count; that count is the lease's token. Row ids
are handed to Celery one task each; a lost hand-over is harmless, since the sweeper finds
the due rows again.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


def outbox_due(*, queued: str, sending: str) -> Q:
    """Rows a worker should take now: ``queued`` and due, or ``sending`` with an expired lease."""
    now = timezone.now()
    return Q(status=queued, next_attempt_at__lte=now) | Q(status=sending, lease_until__lt=now)


def outbox_claim(rows: QuerySet[Any], *, queued: str, sending: str, lease: datetime.timedelta) -> bool:
    """Claim the one due row of ``rows`` for a lease, counting the attempt; False if it is not ours."""
    claimed = rows.filter(outbox_due(queued=queued, sending=sending)).update(
        status=sending, lease_until=timezone.now() + lease, attempts=F("attempts") + 1
    )
    return claimed == 1


def outbox_hand_over(task: Any, row_ids: Iterable[int], *, countdown: float | None, what: str) -> None:
    """Send each id to ``task`` (after ``countdown`` seconds if given); stop at the first broker error."""
    for row_id in row_ids:
        try:
            if countdown:
                task.apply_async((row_id,), countdown=countdown)
            else:
                task.delay(row_id)
        except Exception:  # the broker may be down: the rows stay queued for the sweeper
            logger.exception("could not enqueue %s %s; the sweeper will pick it up", what, row_id)
            return
