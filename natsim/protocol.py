"""The request signature of docs/national.md, shared by the simulator and its clients.

``X-Signature`` is the lower-case hex HMAC-SHA256, with the province's shared secret, over::

    METHOD \\n PATH \\n QUERY \\n X-Timestamp \\n X-Nonce \\n hex(SHA-256(body))

PATH is the path as written on the request line (no decoding), QUERY the raw query string
(empty when none). Nothing here needs Django: the platform's client may import it too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

TIMESTAMP_WINDOW_SECONDS = 300
NONCE_LIFETIME_SECONDS = 600
NONCE_RE = re.compile(r"[A-Za-z0-9-]{16,64}\Z")
PROVINCE_RE = re.compile(r"[1-9][0-9]0000\Z")


def string_to_sign(*, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), path, query, timestamp, nonce, body_hash]).encode("utf-8")


def request_signature(
    *, secret: str, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes
) -> str:
    message = string_to_sign(method=method, path=path, query=query, timestamp=timestamp, nonce=nonce, body=body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(
    *,
    province: str,
    secret: str,
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four headers of a signed request (a fresh nonce and the current time unless given)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    once = nonce or secrets.token_hex(16)
    signature = request_signature(
        secret=secret, method=method, path=path, query=query, timestamp=stamp, nonce=once, body=body
    )
    return {"X-Province": province, "X-Timestamp": stamp, "X-Nonce": once, "X-Signature": signature}
