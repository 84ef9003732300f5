"""Replay protection: each (app id, nonce) is accepted once within the window.

Two stores, both safe across processes and hosts: Redis (``SET NX EX``, entries
expire by themselves) and the database (a unique constraint; old rows purged).
"""

from __future__ import annotations

import datetime
import random

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from zhongtai.gateway.models import UsedNonce

PURGE_PROBABILITY = 0.001


def nonce_window_seconds() -> int:
    # A nonce must be remembered for as long as its timestamp could be accepted.
    return 2 * settings.EREC_API_CLOCK_SKEW_SECONDS + 60


def nonce_claim(*, app_id: str, nonce: str) -> bool:
    """True the first time (app_id, nonce) is seen within the window, False on a replay."""
    if settings.EREC_NONCE_BACKEND == "redis":
        return bool(cache.add(f"nonce:{app_id}:{nonce}", 1, timeout=nonce_window_seconds()))
    try:
        with transaction.atomic():
            UsedNonce.objects.create(app_id=app_id, nonce=nonce, seen_at=timezone.now())
    except IntegrityError:
        return False
    if random.random() < PURGE_PROBABILITY:
        nonce_purge()
    return True


def nonce_purge() -> int:
    """Delete database nonces older than the window; returns how many."""
    cutoff = timezone.now() - datetime.timedelta(seconds=nonce_window_seconds())
    deleted, _ = UsedNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
