"""The ``natsim`` fixture: a REAL national platform simulator process (docs/national.md).

Registered as a pytest plugin by tests/conftest.py. One simulator per test session, started with
``--control`` on a free port in a temporary data folder; each test that uses the fixture gets it
with the control state reset (failures off, counters zero). Stored events stay unless the test
calls ``natsim.purge()``. It needs nothing of the platform's database, so it works in both the
SQLite and the PostgreSQL pass.

Typical use::

    def test_push(natsim, pki, settings):
        natsim.register_pki(pki)                      # 430000: the fixture's secret + the test root
        settings.EREC_NATIONAL_URL = natsim.base_url  # or override_settings(**natsim.settings)
        settings.EREC_NATIONAL_SECRET = natsim.secret
        ...
        assert [e["type"] for e in natsim.events(receipt_code=code, number=1)] == ["issued"]
        natsim.control(failRate=1.0, failMode="drop_answer")
        natsim.stop(); ...; natsim.start()            # the platform is down, then back
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from natsim.protocol import signed_headers

ROOT = Path(__file__).resolve().parents[2]
PROVINCE = "430000"
SECRET = "natsim-test-secret-430000"


class NatsimError(AssertionError):
    """The simulator answered a control call with an error (status and body in the message)."""


class Natsim:
    """A running simulator process and the calls tests make on it."""

    def __init__(self, data_dir: Path, *, secret: str = SECRET, province: str = PROVINCE) -> None:
        self.data_dir = data_dir
        self.secret = secret
        self.province = province
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.log_path = data_dir / "natsim.log"

    # --- the process ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self) -> dict[str, str]:
        """For ``override_settings(**natsim.settings)``."""
        return {"EREC_NATIONAL_URL": self.base_url, "EREC_NATIONAL_SECRET": self.secret}

    def start(self) -> None:
        """Start the process (again, on the same port once it had one) and wait until it answers."""
        if self.process is not None and self.process.poll() is None:
            return
        log = self.log_path.open("a", encoding="utf-8")
        command = [sys.executable, "-m", "natsim", "serve", "--data", str(self.data_dir), "--port", str(self.port)]
        # The simulator ends with this test process even if the session's teardown never runs.
        command += ["--parent-pid", str(os.getpid())]
        self.process = subprocess.Popen(
            [*command, "--control"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"natsim exited with {self.process.returncode}: {self.log_path.read_text('utf-8')}")
            if self.port == 0:
                self.port = _bound_port(self.log_path)
            if self.port and self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"natsim did not start: {self.log_path.read_text('utf-8')}")

    def stop(self) -> None:
        """Stop the process (the platform is unreachable until :meth:`start`); stored data stays."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    # --- control ------------------------------------------------------------------------------

    def _call(self, method: str, path: str, payload: Any = None, query: dict[str, Any] | None = None) -> Any:
        if not self.running:
            self.start()
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(payload).encode("utf-8") if payload is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise NatsimError(f"{method} {path} -> {error.code}: {error.read().decode('utf-8')}") from None

    def control(self, **settings: Any) -> dict[str, Any]:
        """``POST /control``: failRate, failMode (error|timeout|drop_answer), delayMs, timeoutSeconds, seed."""
        result: dict[str, Any] = self._call("POST", "/control", settings)
        return result

    def reset(self) -> dict[str, Any]:
        """Normal behaviour again and counters zero (stored data stays)."""
        result: dict[str, Any] = self._call("POST", "/control/reset")
        return result

    def purge(self) -> None:
        """Forget every stored event and receipt."""
        self._call("POST", "/control/purge")

    def stats(self) -> dict[str, Any]:
        """``GET /control``: {"settings", "counters", "stored", "provinces"}."""
        result: dict[str, Any] = self._call("GET", "/control")
        return result

    def events(self, receipt_code: str | None = None, number: int | None = None) -> list[dict[str, Any]]:
        """The stored events (each once, with ``offered``: how many times it was received)."""
        result = self._call("GET", "/control/events", query={"receiptCode": receipt_code, "number": number})
        events: list[dict[str, Any]] = result["events"]
        return events

    def register_province(self, code: str, secret: str, root_pem: bytes | str, ca_pem: bytes | str = "") -> None:
        """Register (or replace) a province: its shared secret and root CA (PEM), plus optional CA links."""
        payload = {"code": code, "secret": secret, "rootPem": _text(root_pem), "caPem": _text(ca_pem)}
        self._call("POST", "/control/provinces", payload)

    def register_pki(self, pki: dict[str, Any], *, code: str = PROVINCE) -> None:
        """Register ``code`` with this fixture's secret and the root (and issuing CA) of the ``pki`` fixture."""
        from zhongtai.signing import x509 as certs

        hierarchy = pki["ca"]
        root_pem = certs.der_to_pem(bytes(hierarchy.root.certificate.der))
        issuing_pem = certs.der_to_pem(bytes(hierarchy.issuing.certificate.der))
        self.register_province(code, self.secret, root_pem, issuing_pem)

    # --- the signed interface, as a province calls it -------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: Any = None,
        province: str | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
        timeout: float = 30,
    ) -> tuple[int, Any]:
        """A signed request (status, JSON body); ``headers`` override the signed ones."""
        raw = json.dumps(body).encode("utf-8") if body is not None else b""
        signed = signed_headers(
            province=province or self.province,
            secret=secret or self.secret,
            method=method,
            path=path,
            query=query,
            body=raw,
            timestamp=timestamp,
            nonce=nonce,
        )
        signed.update(headers or {})
        url = self.base_url + path + (f"?{query}" if query else "")
        request = urllib.request.Request(
            url,
            data=raw if method == "POST" else None,
            method=method,
            headers={**signed, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read().decode("utf-8") or "null")

    def post_events(self, events: list[dict[str, Any]], **kwargs: Any) -> tuple[int, Any]:
        return self.request("POST", "/v1/events", body={"events": events}, **kwargs)


def _text(value: bytes | str) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else value


def _bound_port(log_path: Path) -> int:
    """The port the server printed on start (``http://127.0.0.1:PORT``), 0 before it did."""
    try:
        text = log_path.read_text("utf-8")
    except OSError:
        return 0
    marker = "http://127.0.0.1:"
    at = text.rfind(marker)
    if at < 0:
        return 0
    digits = ""
    for ch in text[at + len(marker) :]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


@pytest.fixture(scope="session")
def natsim_process() -> Iterator[Natsim]:
    with tempfile.TemporaryDirectory(prefix="natsim-") as folder:
        simulator = Natsim(Path(folder))
        simulator.start()
        try:
            yield simulator
        finally:
            simulator.stop()


@pytest.fixture
def natsim(natsim_process: Natsim) -> Natsim:
    """The session's simulator, running and with its control state reset for this test."""
    natsim_process.start()
    natsim_process.reset()
    return natsim_process
