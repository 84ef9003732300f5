"""The control interface: each injected failure behaves as documented, and the fixture's helpers work."""

from __future__ import annotations

import socket
import time
import urllib.error
from typing import Any

import pytest

from issuance.models import Receipt
from tests.natsim.conftest import issued_event, status_event
from tests.support.natsim import Natsim, NatsimError


def test_error_answers_503_and_stores_nothing(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    sim.control(failRate=1.0, failMode="error")

    status, body = sim.post_events([issued_event(signed, pki)])

    assert (status, body["code"]) == (503, "INJECTED_FAILURE")
    assert sim.events() == []
    assert sim.stats()["counters"]["failuresInjected"] == 1


def test_drop_answer_stores_and_answers_503_then_the_retry_is_a_duplicate(
    sim: Natsim, signed: Receipt, pki: dict[str, Any]
) -> None:
    event = issued_event(signed, pki)
    sim.control(failRate=1.0, failMode="drop_answer")

    status, body = sim.post_events([event])

    assert (status, body["code"]) == (503, "INJECTED_LOST_ANSWER")
    assert [e["seq"] for e in sim.events(receipt_code=signed.receipt_code)] == [1]

    sim.reset()
    status, body = sim.post_events([event])
    assert [r["status"] for r in body["results"]] == ["duplicate"]


def test_timeout_makes_the_client_time_out_and_stores_nothing(
    sim: Natsim, signed: Receipt, pki: dict[str, Any]
) -> None:
    sim.control(failRate=1.0, failMode="timeout", timeoutSeconds=3)

    started = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        sim.post_events([issued_event(signed, pki)], timeout=1)

    assert time.monotonic() - started < 2.5
    assert sim.events() == []


def test_timeout_answers_504_once_the_time_is_up(sim: Natsim) -> None:
    sim.control(failRate=1.0, failMode="timeout", timeoutSeconds=0.5)

    started = time.monotonic()
    status, body = sim.post_events([status_event("43010126", 1, 2, "entered")])

    assert (status, body["code"]) == (504, "INJECTED_TIMEOUT")
    assert time.monotonic() - started >= 0.5


def test_delay_slows_every_answer(sim: Natsim) -> None:
    sim.control(delayMs=400)

    started = time.monotonic()
    status, _ = sim.request("GET", "/v1/reconciliation", query="date=2026-11-27")

    assert status == 200
    assert time.monotonic() - started >= 0.4


def test_a_fail_rate_with_a_seed_is_reproducible(sim: Natsim) -> None:
    def outcomes() -> list[int]:
        sim.control(failRate=0.5, failMode="error", seed=7)
        return [sim.post_events([status_event("43010126", 1, 2, "entered")])[0] for _ in range(12)]

    first, second = outcomes(), outcomes()

    assert first == second
    assert set(first) == {200, 503}


def test_reset_restores_normal_behaviour_and_zeroes_the_counters(sim: Natsim) -> None:
    sim.control(failRate=1.0, failMode="error", delayMs=5)
    sim.post_events([status_event("43010126", 1, 2, "entered")])

    state = sim.reset()

    assert state["settings"] == {
        "failRate": 0.0,
        "failMode": "error",
        "delayMs": 0,
        "timeoutSeconds": 30.0,
        "seed": None,
    }
    assert set(state["counters"].values()) == {0}
    assert sim.post_events([status_event("43010126", 1, 2, "entered")])[0] == 200


def test_purge_forgets_every_event(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    sim.post_events([issued_event(signed, pki)])

    sim.purge()

    assert sim.events() == []
    assert sim.stats()["stored"] == {"storedEvents": 0, "storedReceipts": 0}
    # and the receipt is new again
    assert [r["status"] for r in sim.post_events([issued_event(signed, pki)])[1]["results"]] == ["accepted"]


@pytest.mark.parametrize(
    "settings",
    [
        {"failRate": 1.5},
        {"failRate": "half"},
        {"failMode": "explode"},
        {"delayMs": -1},
        {"seed": "x"},
        {"unknown": 1},
    ],
)
def test_bad_control_settings_are_refused(natsim: Natsim, settings: dict[str, Any]) -> None:
    with pytest.raises(NatsimError, match="INVALID_CONTROL"):
        natsim.control(**settings)
    assert natsim.stats()["settings"]["failRate"] == 0.0


def test_a_bad_province_registration_is_refused(natsim: Natsim) -> None:
    with pytest.raises(NatsimError, match="INVALID_CONTROL"):
        natsim.register_province("430000", natsim.secret, "not a certificate")
    with pytest.raises(NatsimError, match="INVALID_CONTROL"):
        natsim.register_province("4300", natsim.secret, "x")


def test_stop_and_start_simulate_the_platform_being_down(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> None:
    sim.stop()
    with pytest.raises(urllib.error.URLError):
        sim.post_events([issued_event(signed, pki)], timeout=2)

    sim.start()

    assert [r["status"] for r in sim.post_events([issued_event(signed, pki)])[1]["results"]] == ["accepted"]


def test_the_settings_for_override_settings(natsim: Natsim) -> None:
    assert natsim.settings == {"EREC_NATIONAL_URL": natsim.base_url, "EREC_NATIONAL_SECRET": natsim.secret}
    assert natsim.base_url.startswith("http://127.0.0.1:")
