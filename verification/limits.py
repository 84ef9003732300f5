"""Rate limits of the public verification page, counted in the Django cache.

The counters live in the shared cache (Redis in production, the database cache in the
embedded default), never in process memory, so every web host sees the same counts.

Windows are fixed and named in the key (``…:<window number>`` or ``…:<yyyymmdd>``), so a
counter never needs resetting: it expires with its window.

Atomicity: on Redis, ``add`` is ``SET NX EX`` and ``incr`` is ``INCR`` (which keeps the
expiry). Django's database cache implements ``incr`` as read-then-write and resets the
expiry, so there the read, the write and a ``touch`` restoring the expiry run in one
transaction; with SQLite's IMMEDIATE transactions (the embedded default) that transaction
holds the write lock, so concurrent increments queue and none is lost. (PostgreSQL with
the database cache could lose an increment under a race; production uses Redis.)
"""

from __future__ import annotations

import datetime
import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

# A key outlives its window a little, so that clock differences between hosts never end it early.
_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Refusal:
    """A check refused by a limit: why (in Chinese), and when to come back."""

    message: str
    retry_after: int


def client_key(request: HttpRequest) -> str:
    """The client a limit counts: its IP address (an IPv6 address by its /64 network).

    ``REMOTE_ADDR``, unless ``EREC_TRUSTED_PROXY_COUNT`` proxies of ours stand in front: then
    the address the outermost of them saw, which is the ``count``-th entry of
    ``X-Forwarded-For`` from the right (each proxy appends the address it received the
    request from; whatever a client writes into the header itself stays to the left of it).
    A header shorter than that, or an entry that is not an address, means the request did not
    come through our proxies: ``REMOTE_ADDR`` is used.
    """
    address = request.META.get("REMOTE_ADDR", "")
    hops = settings.EREC_TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        try:
            parsed = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        # One IPv6 subscriber holds a whole /64: counting single addresses would count nothing.
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def counter_increment(key: str, *, expires_in: int) -> int:
    """Add one to the counter ``key`` (created at 0, expiring in ``expires_in`` s); the new value."""
    if isinstance(cache, RedisCache):
        for _ in range(2):
            cache.add(key, 0, timeout=expires_in)
            try:
                return int(cache.incr(key))
            except ValueError:  # expired between add and incr: start again
                continue
        raise RuntimeError(f"counter {key} could not be incremented")
    with transaction.atomic():
        cache.add(key, 0, timeout=expires_in)
        value = int(cache.incr(key))
        cache.touch(key, expires_in)
        return value


def _windowed(name: str, client: str, *, limit: int, window: int) -> tuple[int, int, int]:
    """(count after this hit, limit, seconds until the window ends) for a fixed window of ``window`` s."""
    now = time.time()
    number = int(now // window)
    remaining = max(1, int((number + 1) * window - now))
    count = counter_increment(f"verify:{name}:{client}:{number}", expires_in=remaining + _MARGIN_SECONDS)
    return count, limit, remaining


def check_rate_hit(*, client: str) -> Refusal | None:
    """Count one check (a form submission or a QR link) of ``client``; a refusal over the limit."""
    window = settings.EREC_VERIFY_RATE_WINDOW_SECONDS
    count, limit, remaining = _windowed("rate", client, limit=settings.EREC_VERIFY_RATE_LIMIT, window=window)
    if count <= limit:
        return None
    minutes = max(1, (remaining + 59) // 60)
    return Refusal(f"查验过于频繁：每 {window // 60} 分钟最多查验 {limit} 次，请 {minutes} 分钟后再试。", remaining)


def captcha_rate_hit(*, client: str) -> Refusal | None:
    """Count one captcha drawn for ``client``; a refusal over the limit."""
    window = settings.EREC_VERIFY_RATE_WINDOW_SECONDS
    count, limit, remaining = _windowed("captcha", client, limit=settings.EREC_VERIFY_RATE_CAPTCHAS, window=window)
    if count <= limit:
        return None
    minutes = max(1, (remaining + 59) // 60)
    return Refusal(f"请求验证码过于频繁，请 {minutes} 分钟后再试。", remaining)


def receipt_daily_hit(*, client: str, receipt_code: str, number: str) -> Refusal | None:
    """Count one check of the receipt (code, number) by ``client`` today; a refusal over the daily cap.

    Counted whether or not such a receipt exists, so that the cap says nothing about it.
    """
    now = timezone.localtime()
    tomorrow = datetime.datetime.combine(now.date() + datetime.timedelta(days=1), datetime.time(), now.tzinfo)
    remaining = max(1, int((tomorrow - now).total_seconds()))
    key = f"verify:receipt:{client}:{receipt_code}{number}:{now:%Y%m%d}"
    count = counter_increment(key, expires_in=remaining + _MARGIN_SECONDS)
    limit = settings.EREC_VERIFY_RATE_PER_RECEIPT_DAILY
    if count <= limit:
        return None
    return Refusal(f"同一张票据每天最多查验 {limit} 次，今日次数已用完，请明天再试。", remaining)
