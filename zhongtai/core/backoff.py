"""Exponential backoff for outboxes that retry a failed attempt later."""

from __future__ import annotations

import datetime


def backoff_delay(attempts: int, *, base_seconds: float, cap_seconds: float) -> datetime.timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base … at most ``cap_seconds``."""
    exponent = min(max(0, attempts - 1), 32)  # 2**32 x base is past any sensible cap already
    return datetime.timedelta(seconds=min(cap_seconds, base_seconds * 2**exponent))
