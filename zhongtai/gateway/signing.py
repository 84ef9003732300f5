"""The request-signing scheme of the standard interface (HMAC-SHA256).

This module is the reference for docs/api.md: a client computes the same
``string_to_sign`` and signature with its secret. It depends on nothing but the
standard library so that the client example can mirror it line for line.

    string_to_sign = METHOD + "\\n" + PATH + "\\n" + CANONICAL_QUERY + "\\n"
                     + TIMESTAMP + "\\n" + NONCE + "\\n" + hex(SHA-256(body))
    signature      = hex(HMAC-SHA256(secret, string_to_sign))   # lower case
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import parse_qsl, quote

NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TIMESTAMP_RE = re.compile(r"^\d{10}$")
SIGNATURE_RE = re.compile(r"^[0-9a-f]{64}$")


def canonical_query(query_string: str) -> str:
    """Query parameters decoded, sorted by name then value, re-encoded per RFC 3986."""
    pairs = parse_qsl(query_string, keep_blank_values=True, strict_parsing=False)
    return "&".join(f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in sorted(pairs))


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def string_to_sign(*, method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join([method.upper(), path, canonical_query(query_string), timestamp, nonce, body_digest(body)])


def compute_signature(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
