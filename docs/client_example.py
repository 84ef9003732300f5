#!/usr/bin/env python3
"""A minimal client of the fiscal e-receipt API, standard library only (see docs/api.md).

It issues one receipt, fetches it back by its business serial number (busNo) and prints the
day's reconciliation totals:

    python docs/client_example.py

Settings come from the environment, with the demo province's values as defaults:
EREC_BASE_URL (http://127.0.0.1:8000), EREC_APP_ID, EREC_SECRET.

Importing this module has no side effects: the signing functions (``sign_request``,
``signed_headers``) and ``ApiClient`` can be reused as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_APP_ID = "ak_demo_furong_hospital"
DEFAULT_SECRET = "demo-secret-furong-hospital-2026"
DEMO_UNIT_CODE = "430102001"  # the unit the demo credentials belong to (the server decides)

# The receipt to issue: an outpatient receipt (门诊, kind 0601) with the medical payment split.
# Change it to match your master data; main() adds a fresh busNo on every run. Money is sent as
# strings so that no float ever touches it.
PAYLOAD: dict[str, Any] = {
    "kindCode": "0601",
    "payer": {"type": 1, "name": "李四"},
    "items": [{"itemCode": "C0105", "quantity": "1", "standard": "25.00", "amount": "25.00"}],
    "totalAmount": "25.00",
    "payMode": "微信",
    "ext": {
        "visitNumber": "MZ20260101001",
        "department": "内科",
        "medicalInsuranceType": "职工医保",
        "fundPay": "15.00",
        "personalAccountPay": "5.00",
        "personalCashPay": "5.00",
    },
}

_UNRESERVED = "-_.~"  # with letters and digits, what RFC 3986 leaves unencoded


def canonical_query(query: str) -> str:
    """Decode the query, sort by name then value, re-encode per RFC 3986."""
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    return "&".join(
        f"{urllib.parse.quote(name, safe=_UNRESERVED)}={urllib.parse.quote(value, safe=_UNRESERVED)}"
        for name, value in pairs
    )


def string_to_sign(*, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The six lines the signature covers, joined by line feeds."""
    return "\n".join([method.upper(), path, canonical_query(query), timestamp, nonce, hashlib.sha256(body).hexdigest()])


def sign_request(
    secret: str, *, method: str, path: str, query: str = "", timestamp: str, nonce: str, body: bytes = b""
) -> str:
    """Lower-case hex HMAC-SHA256 of the string to sign, keyed with the secret."""
    message = string_to_sign(method=method, path=path, query=query, timestamp=timestamp, nonce=nonce, body=body)
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_headers(
    *,
    app_id: str,
    secret: str,
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    timestamp: str | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four authentication headers; a fresh timestamp and nonce unless given."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(16)
    signature = sign_request(secret, method=method, path=path, query=query, timestamp=timestamp, nonce=nonce, body=body)
    return {"X-App-Id": app_id, "X-Timestamp": timestamp, "X-Nonce": nonce, "X-Signature": signature}


class ApiClient:
    """Signs and sends requests; answers (HTTP status, decoded JSON body)."""

    def __init__(self, base_url: str, app_id: str, secret: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        # A deployment under a path prefix (https://host/erec) signs the prefix too.
        self.path_prefix = urllib.parse.urlsplit(self.base_url).path
        self.app_id = app_id
        self.secret = secret
        self.timeout = timeout

    def request(
        self, method: str, path: str, *, query: dict[str, str] | None = None, payload: Any = None
    ) -> tuple[int, Any]:
        query_string = urllib.parse.urlencode(query or {}, quote_via=urllib.parse.quote)
        # Serialise once: the signature covers exactly these bytes.
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = signed_headers(
            app_id=self.app_id,
            secret=self.secret,
            method=method,
            path=self.path_prefix + path,
            query=query_string,
            body=body,
        )
        headers["Accept"] = "application/json"
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        url = self.base_url + path + (f"?{query_string}" if query_string else "")
        request = urllib.request.Request(url, data=body or None, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as error:  # 4xx/5xx still carry {code, message, extra}
            return error.code, _decode(error.read())

    def issue(self, payload: dict[str, Any]) -> tuple[int, Any]:
        return self.request("POST", "/api/v1/receipts/issue", payload=payload)

    def receipt_by_bus_no(self, bus_no: str) -> tuple[int, Any]:
        return self.request("GET", f"/api/v1/receipts/by-bus-no/{bus_no}")

    def daily_totals(self, day: str, basis: str = "issue") -> tuple[int, Any]:
        return self.request("GET", "/api/v1/reconciliation/daily", query={"date": day, "basis": basis})


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return raw.decode("utf-8", "replace")


def new_bus_no() -> str:
    """A business serial number unique enough for a demo run: time plus randomness."""
    return f"DEMO{time.strftime('%Y%m%d%H%M%S')}{secrets.token_hex(3)}"


def client_from_env() -> ApiClient:
    return ApiClient(
        os.environ.get("EREC_BASE_URL", DEFAULT_BASE_URL),
        os.environ.get("EREC_APP_ID", DEFAULT_APP_ID),
        os.environ.get("EREC_SECRET", DEFAULT_SECRET),
    )


def _show(label: str, status: int, body: Any) -> None:
    print(f"--- {label}: HTTP {status}")
    print(json.dumps(body, ensure_ascii=False, indent=2))


def main() -> int:
    client = client_from_env()
    print(f"{client.base_url} app id {client.app_id} (demo unit {DEMO_UNIT_CODE})")
    try:
        return _run(client)
    except urllib.error.URLError as error:  # server down, wrong host or port
        print(f"cannot reach {client.base_url}: {error.reason}", file=sys.stderr)
        return 2


def _run(client: ApiClient) -> int:
    payload = {**PAYLOAD, "busNo": new_bus_no()}
    status, receipt = client.issue(payload)
    _show(f"issue busNo {payload['busNo']}", status, receipt)
    if status not in (200, 201):
        return 1

    status, fetched = client.receipt_by_bus_no(payload["busNo"])
    _show("fetch by busNo", status, fetched)
    if status != 200:
        return 1

    status, totals = client.daily_totals(receipt["issueDate"])
    _show(f"daily totals {receipt['issueDate']}", status, totals)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
