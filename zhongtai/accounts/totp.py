"""Time-based one-time passwords (动态口令): RFC 6238 TOTP over RFC 4226 HOTP.

HMAC-SHA1, a 30-second step counted from the Unix epoch, 6 digits: what every authenticator
app shows by default. Verification accepts one step either side of the current one (clock
drift) and, given the last step already used, only later steps: a code is accepted once.

This module is pure arithmetic; storing secrets and remembering used steps is
:mod:`zhongtai.accounts.services`' job.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of the current one
SECRET_BYTES = 20  # 160 bits, the HMAC-SHA1 block size RFC 4226 recommends

Digest = Callable[..., Any]


def secret_generate() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def secret_to_base32(secret: bytes) -> str:
    """The form authenticator apps take: RFC 4648 base32, upper case, without padding."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def secret_from_base32(text: str) -> bytes:
    """Accepts spaces, lower case and missing padding, as people type it."""
    cleaned = "".join(text.split()).upper()
    cleaned += "=" * (-len(cleaned) % 8)
    return base64.b32decode(cleaned)


def hotp(secret: bytes, counter: int, *, digits: int = DIGITS, digest: Digest = hashlib.sha1) -> str:
    """RFC 4226 section 5.3: HMAC over the 8-byte counter, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(secret, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(at: datetime.datetime | float, *, step_seconds: int = STEP_SECONDS) -> int:
    """The RFC 6238 counter T = floor((unix time - T0) / X), with T0 = 0."""
    seconds = at.timestamp() if isinstance(at, datetime.datetime) else at
    return int(seconds // step_seconds)


def totp(
    secret: bytes,
    at: datetime.datetime | float,
    *,
    digits: int = DIGITS,
    step_seconds: int = STEP_SECONDS,
    digest: Digest = hashlib.sha1,
) -> str:
    return hotp(secret, time_step(at, step_seconds=step_seconds), digits=digits, digest=digest)


def totp_match(
    secret: bytes,
    code: str,
    at: datetime.datetime | float,
    *,
    after_step: int | None = None,
    window: int = WINDOW,
) -> int | None:
    """The time step whose code ``code`` is, within ``window`` steps of ``at``; None if none.

    Steps at or before ``after_step`` (the last one already used) never match, so a code
    cannot be used twice, nor an older code after a newer one.
    """
    candidate = "".join(code.split())
    if len(candidate) != DIGITS or not (candidate.isascii() and candidate.isdigit()):
        return None
    current = time_step(at)
    matched: int | None = None
    for step in range(current - window, current + window + 1):
        if after_step is not None and step <= after_step:
            continue
        # Compare every candidate step in constant time, so timing says nothing about which matched.
        if hmac.compare_digest(hotp(secret, step), candidate) and matched is None:
            matched = step
    return matched


def seconds_left(at: datetime.datetime | float, *, step_seconds: int = STEP_SECONDS) -> int:
    """Seconds until the code shown at ``at`` changes."""
    seconds = at.timestamp() if isinstance(at, datetime.datetime) else at
    return step_seconds - int(seconds % step_seconds)


def provisioning_uri(secret: bytes, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI that authenticator apps read from a QR code (Key Uri Format)."""
    label = f"{quote(issuer, safe='')}:{quote(account, safe='')}"
    query = (
        f"secret={secret_to_base32(secret)}&issuer={quote(issuer, safe='')}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )
    return f"otpauth://totp/{label}?{query}"
