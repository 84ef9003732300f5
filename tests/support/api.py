"""A test client that signs requests exactly as docs/api.md tells integrators to."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from django.test import Client

from zhongtai.gateway.signing import compute_signature, string_to_sign


def sign_headers(
    *,
    app_id: str,
    secret: str,
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    message = string_to_sign(method=method, path=path, query_string=query, timestamp=ts, nonce=nonce, body=body)
    return {
        "X-App-Id": app_id,
        "X-Timestamp": ts,
        "X-Nonce": nonce,
        "X-Signature": compute_signature(secret, message),
    }


class SignedClient:
    def __init__(self, app_id: str, secret: str) -> None:
        self.app_id = app_id
        self.secret = secret
        self.client = Client()

    def request(
        self,
        method: str,
        url: str,
        payload: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        **sign_overrides: Any,
    ) -> Any:
        body = (
            raw if raw is not None else (b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode())
        )
        parts = urlsplit(url)
        signed = sign_headers(
            app_id=self.app_id,
            secret=self.secret,
            method=method,
            path=parts.path,
            query=parts.query,
            body=body,
            **sign_overrides,
        )
        signed.update(headers or {})
        return self.client.generic(method, url, data=body, content_type="application/json", headers=signed)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, payload: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", url, payload, **kwargs)
