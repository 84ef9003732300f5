"""Every request of a province is signed (HMAC-SHA256); the simulator refuses the rest with 401."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from natsim.protocol import request_signature, signed_headers
from tests.support.natsim import ROOT, Natsim, _bound_port

RECONCILE = "/v1/reconciliation"
QUERY = "date=2026-11-27"


def test_a_correctly_signed_request_is_answered(sim: Natsim) -> None:
    status, body = sim.request("GET", RECONCILE, query=QUERY)

    assert status == 200, body
    assert body["province"] == "430000" and body["count"] == 0


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"X-Signature": "0" * 64}, "AUTH_SIGNATURE_INVALID"),
        ({"X-Province": "450000"}, "AUTH_PROVINCE_UNKNOWN"),
        ({"X-Province": "43"}, "AUTH_PROVINCE_UNKNOWN"),
        ({"X-Nonce": "short"}, "AUTH_NONCE_INVALID"),
        ({"X-Timestamp": "yesterday"}, "AUTH_TIMESTAMP"),
        ({"X-Signature": ""}, "AUTH_MISSING"),
    ],
)
def test_a_wrong_header_is_refused_with_its_code(sim: Natsim, override: dict[str, str], code: str) -> None:
    status, body = sim.request("GET", RECONCILE, query=QUERY, headers=override)

    assert status == 401
    assert body["code"] == code and body["message"]


def test_a_wrong_secret_is_refused(sim: Natsim) -> None:
    status, body = sim.request("GET", RECONCILE, query=QUERY, secret="not-the-provinces-secret")

    assert (status, body["code"]) == (401, "AUTH_SIGNATURE_INVALID")
    assert sim.stats()["counters"]["authFailures"] == 1


def test_the_signature_covers_the_query_and_the_body(sim: Natsim) -> None:
    # given headers signed for one query, sent with another
    headers = signed_headers(province="430000", secret=sim.secret, method="GET", path=RECONCILE, query=QUERY)
    request = urllib.request.Request(f"{sim.base_url}{RECONCILE}?date=2026-11-26", headers=headers)

    # then
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401

    # and a body other than the signed one
    headers = signed_headers(province="430000", secret=sim.secret, method="POST", path="/v1/events", body=b"{}")
    request = urllib.request.Request(
        f"{sim.base_url}/v1/events", data=b'{"events": []}', headers=headers, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_stale_or_future_timestamp_is_refused(sim: Natsim, skew: int) -> None:
    status, body = sim.request("GET", RECONCILE, query=QUERY, timestamp=int(time.time()) + skew)

    assert (status, body["code"]) == (401, "AUTH_TIMESTAMP")


def test_a_timestamp_within_the_window_is_accepted(sim: Natsim) -> None:
    status, _ = sim.request("GET", RECONCILE, query=QUERY, timestamp=int(time.time()) - 250)

    assert status == 200


def test_a_replayed_nonce_is_refused(sim: Natsim) -> None:
    nonce = "replay-0123456789abcdef"
    first, _ = sim.request("GET", RECONCILE, query=QUERY, nonce=nonce)
    second, body = sim.request("GET", RECONCILE, query=QUERY, nonce=nonce)

    assert first == 200
    assert (second, body["code"]) == (401, "AUTH_NONCE_REPLAYED")


def test_a_badly_signed_request_does_not_burn_the_nonce(sim: Natsim) -> None:
    nonce = "burn-0123456789abcdef"
    refused, _ = sim.request("GET", RECONCILE, query=QUERY, nonce=nonce, secret="wrong-secret-value")
    accepted, _ = sim.request("GET", RECONCILE, query=QUERY, nonce=nonce)

    assert (refused, accepted) == (401, 200)


def test_the_string_to_sign_is_the_documented_one() -> None:
    # hand computation of docs/national.md: METHOD\nPATH\nQUERY\nTS\nNONCE\nhex(sha256(body))
    import hashlib
    import hmac

    body = b'{"events": []}'
    message = "\n".join(["POST", "/v1/events", "", "1764200000", "n" * 16, hashlib.sha256(body).hexdigest()]).encode()
    expected = hmac.new(b"secret-s3cret", message, hashlib.sha256).hexdigest()

    assert (
        request_signature(
            secret="secret-s3cret",
            method="POST",
            path="/v1/events",
            query="",
            timestamp="1764200000",
            nonce="n" * 16,
            body=body,
        )
        == expected
    )


def test_the_wrong_method_and_an_unknown_path_are_refused(sim: Natsim) -> None:
    assert sim.request("POST", RECONCILE, query=QUERY, body={})[0] == 405
    status, body = sim.request("GET", "/v1/nothing")
    assert (status, body["code"]) == (404, "NO_SUCH_ENDPOINT")


def test_without_control_the_control_interface_is_refused(tmp_path: Path) -> None:
    # given a simulator started without --control
    log = tmp_path / "log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "natsim", "serve", "--data", str(tmp_path), "--port", "0"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        plain = Natsim(tmp_path)
        deadline = time.monotonic() + 20
        while not plain.port and time.monotonic() < deadline:
            plain.port = _bound_port(log)
            time.sleep(0.05)
        while not plain._answers() and time.monotonic() < deadline:
            time.sleep(0.05)

        # when / then
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{plain.base_url}/control", timeout=5)
        assert refused.value.code == 403
        assert b"CONTROL_DISABLED" in refused.value.read()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_control_is_refused_on_a_public_address(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "natsim", "serve", "--data", str(tmp_path), "--host", "0.0.0.0", "--control"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 2
    assert "127.0.0.1" in done.stderr
