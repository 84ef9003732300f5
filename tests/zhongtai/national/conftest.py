"""Fixtures of the national outbox tests: a real simulator (``natsim``) and signed receipts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from issuance.models import Receipt
from issuance.payload import parse_issue_input
from issuance.pipeline import receipts_sign
from issuance.services import receipts_issue
from tests.conftest import nontax_payload
from tests.support.natsim import Natsim
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit
from zhongtai.national.models import NationalEvent
from zhongtai.national.outbox import events_sweep


@pytest.fixture
def national(natsim: Natsim, pki: dict[str, Any], settings: Any) -> Natsim:
    """The simulator with this test's province registered and emptied, and the platform pointed at it."""
    return point_at(natsim, pki, settings)


def point_at(natsim: Natsim, pki: dict[str, Any], settings: Any) -> Natsim:
    """Register the test's province (its root CA) on the simulator, empty it, and point the platform at it.

    Every test numbers its receipts from 1 again (its database is rolled back), so the
    simulator forgets what earlier tests stored: the same (code, number) with other content
    would be a CONFLICT.
    """
    natsim.register_pki(pki)
    natsim.purge()
    settings.EREC_NATIONAL_URL = natsim.base_url
    settings.EREC_NATIONAL_SECRET = natsim.secret
    return natsim


def simple_payload(bus_no: str) -> dict[str, Any]:
    """One fixed-price line, no issuing point: what every unit of the personas may issue."""
    payload = nontax_payload(
        bus_no,
        items=[{"itemCode": "F0001", "quantity": "1", "standard": "10.00", "amount": "10.00"}],
        totalAmount="10.00",
    )
    del payload["issuingPointCode"]
    return payload


def issue(unit: Unit, count: int, *, prefix: str = "NAT", sandbox: bool = False, simple: bool = False) -> list[Receipt]:
    """``count`` receipts issued in one batch through the issuing service (not yet signed)."""
    inputs = []
    for n in range(count):
        payload = (simple_payload if simple else nontax_payload)(f"{prefix}{n:04d}")
        data, errors = parse_issue_input(payload, require_bus_no=True)
        assert data is not None, errors.fields
        inputs.append(data)
    outcomes = receipts_issue(
        unit=unit, inputs=inputs, actor=Actor.system("tests"), source=Receipt.Source.API, sandbox=sandbox
    )
    receipts = [outcome.receipt for outcome in outcomes]
    assert all(receipt is not None for receipt in receipts), [outcome.error for outcome in outcomes]
    return receipts  # type: ignore[return-value]


def sign(receipts: list[Receipt]) -> list[Receipt]:
    """Run the pipeline's sign step over the receipts, as a worker would."""
    outcomes = receipts_sign([receipt.pk for receipt in receipts])
    assert all(error is None for error in outcomes.values()), outcomes
    for receipt in receipts:
        receipt.refresh_from_db()
    return receipts


def time_passes() -> None:
    """Every retry's backoff is over (the clock moved on): waiting events are due now."""
    NationalEvent.objects.filter(state=NationalEvent.State.PENDING).update(available_at=timezone.now())


def drain(*, rounds: int = 30, between: Callable[[], None] | None = None) -> int:
    """Sweep until nothing is pending any more (or ``rounds`` sweeps); returns the sweeps made."""
    for made in range(1, rounds + 1):
        time_passes()
        events_sweep()
        if between is not None:
            between()
        if not NationalEvent.objects.filter(state=NationalEvent.State.PENDING).exists():
            return made
    return rounds
