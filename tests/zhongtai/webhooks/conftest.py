"""Fixtures of the webhook tests: a real HTTP receiver and signed receipts.

The receiver is the loopback server of tests/support/receiver.py: the platform's deliveries
really go over HTTP to it, and it answers with the status codes a test asks for. Reimbursing
parties and their clients (``insurance_api``, ``employer_api``) come from tests/support/parties.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache

from issuance.models import Receipt
from tests.conftest import nontax_payload
from tests.support.api import SignedClient
from tests.support.receiver import Received, serving
from tests.verification.conftest import signed
from zhongtai.masterdata.models import Unit


@dataclass
class Receiver:
    """What the receiver was sent, and the statuses it answers with next (200 when none is left)."""

    url: str
    calls: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_with(self, *statuses: int) -> None:
        with self.lock:
            self.statuses.extend(statuses)

    def take(self, call: Received) -> int:
        """Record the call; the status to answer it with."""
        with self.lock:
            self.calls.append(call)
            return self.statuses.pop(0) if self.statuses else 200

    def of_type(self, event_type: str) -> list[Received]:
        return [call for call in self.calls if call.headers.get("X-Erec-Event-Type") == event_type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")
    with serving(state.take, "/hooks/erec") as url:
        state.url = url
        yield state


@pytest.fixture(autouse=True)
def _fresh_cache(db: Any) -> Iterator[None]:
    """Verification counters and verdicts live in the shared cache (Redis in the PostgreSQL pass)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def receipt(unit: Unit, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Receipt:
    """A signed non-tax receipt of 55.50 yuan."""
    return signed(unit, nontax_payload("W-0001"), django_capture_on_commit_callbacks)


def enter(client: SignedClient, receipt: Receipt, amount: str, reference: str = "") -> dict[str, Any]:
    """Record an entry through the party API (the real endpoint)."""
    response = client.post(
        f"/api/v1/public/receipts/{receipt.receipt_code}/{receipt.number_text}/entries",
        {
            "checkCode": receipt.check_code,
            "kind": "reimbursement",
            "amount": amount,
            "entryDate": receipt.issue_date.isoformat(),
            "reference": reference,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def register(client: SignedClient, url: str, path: str = "/api/v1/public/webhook", **extra: Any) -> dict[str, Any]:
    response = client.request("PUT", path, {"url": url, **extra})
    assert response.status_code in (200, 201), response.json()
    return response.json()


def red_offset(api: SignedClient, receipt: Receipt, reason: str = "退费") -> Any:
    return api.post(f"/api/v1/receipts/{receipt.receipt_code}/{receipt.number_text}/red-offset", {"reason": reason})
