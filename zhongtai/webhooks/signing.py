"""The signature of a webhook call (docs/webhooks.md shows a receiver checking it).

    signature = hex(HMAC-SHA256(endpoint secret, timestamp + "\\n" + body))   # lower case

``timestamp`` is the ``X-Erec-Timestamp`` header (Unix seconds, taken at each attempt) and
``body`` the exact bytes of the request body. Only the standard library, so that the
documented receiver snippet mirrors it line for line.
"""

from __future__ import annotations

import hashlib
import hmac


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
