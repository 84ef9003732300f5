"""Helpers of the whole-journey test (tests/browser/test_whole_journey.py), talking over real HTTP.

- ``LiveApi``: a signed API client for a running server (the live server), signing each request
  exactly as docs/api.md tells integrators (interface units and reimbursing parties alike).
- ``WebhookReceiver``: a party's callback receiver, on the loopback server of
  tests/support/receiver.py, that checks every call's ``X-Erec-Signature`` and timestamp as docs/webhooks.md says and
  drops an event id it has already taken, as a receiver must (delivery is at least once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.support.api import sign_headers
from tests.support.receiver import serving

SIGNATURE_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


class LiveApi:
    """Signed JSON requests to a server over HTTP; answers ``Answer(status, parsed body)``."""

    def __init__(self, base_url: str, app_id: str, secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.secret = secret

    def request(self, method: str, url: str, payload: Any = None) -> Answer:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        parts = urlsplit(url)
        headers = sign_headers(
            app_id=self.app_id, secret=self.secret, method=method, path=parts.path, query=parts.query, body=body
        )
        request = urllib.request.Request(
            self.base_url + url,
            data=body if method in ("POST", "PUT") else None,
            method=method,
            headers={**headers, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Answer(response.status, _json(response.read()))
        except urllib.error.HTTPError as error:
            return Answer(error.code, _json(error.read()))

    def get(self, url: str) -> Answer:
        return self.request("GET", url)

    def post(self, url: str, payload: Any = None) -> Answer:
        return self.request("POST", url, payload)

    def put(self, url: str, payload: Any = None) -> Answer:
        return self.request("PUT", url, payload)


def _json(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8")) if raw else None


@dataclass(frozen=True)
class Call:
    """One call the receiver got: what came, whether its signature held, what it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool
    answered: int

    @property
    def event(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Calls received, the events taken (once per event id), and the statuses to answer next."""

    url: str = ""
    secret: str = ""
    calls: list[Call] = field(default_factory=list)
    events: dict[str, Any] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_with(self, *statuses: int) -> None:
        """Answer the next calls with these statuses (then 200 to a valid call)."""
        with self.lock:
            self.statuses.extend(statuses)

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """Check the call as docs/webhooks.md says; take its event once; the status to answer."""
        with self.lock:
            valid = signature_valid(self.secret, headers, body)
            if not valid:
                status = 401
            elif self.statuses:
                status = self.statuses.pop(0)
            else:
                status = 200
                # A retried event (same id) is answered 200 again and not taken twice.
                self.events.setdefault(headers.get("X-Erec-Event-Id", ""), json.loads(body))
            self.calls.append(Call(path, headers, body, valid, status))
            return status


def signature_valid(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None) -> bool:
    """``X-Erec-Signature`` is HMAC-SHA256(secret, timestamp + "\\n" + body), the timestamp recent, ids agree."""
    timestamp = headers.get("X-Erec-Timestamp", "")
    if not secret or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"\n" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers.get("X-Erec-Signature", "")):
        return False
    try:
        event = json.loads(body)
    except ValueError:
        return False
    return isinstance(event, dict) and event.get("id") == headers.get("X-Erec-Event-Id")


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A running receiver at ``receiver.url``; set ``receiver.secret`` once the address is registered."""
    receiver = WebhookReceiver()
    with serving(lambda call: receiver.receive(call.path, call.headers, call.body), "/erec/callback") as url:
        receiver.url = url
        yield receiver
