"""Fixtures of the messaging tests: a signed receipt of the networked unit, and a real SMS gateway.

The gateway is a stdlib HTTP server on a loopback port, in a thread: the platform's
HTTP provider talks to it over real sockets; each test scripts its answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from issuance.models import Receipt, SignStatus
from issuance.payload import parse_issue_input
from issuance.services import receipt_issue
from tests.conftest import nontax_payload
from tests.support.receiver import Received
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit

PHONE = "13800138000"
EMAIL = "zhangsan@example.com"


def issue_for(unit: Unit, capture: Any, bus_no: str = "SEND0001", point: str = "CK01", **payer: Any) -> Receipt:
    """Issue a receipt through the service (at issuing point ``point``) and let the pipeline run after commit."""
    payload = nontax_payload(
        bus_no, issuingPointCode=point, payer={"type": 1, "name": "张三", "phone": PHONE, "email": EMAIL, **payer}
    )
    data, errors = parse_issue_input(payload, require_bus_no=False)
    assert data is not None, errors.fields
    with capture(execute=True):
        receipt, created = receipt_issue(
            unit=unit, data=data, actor=Actor.user("cashier"), source=Receipt.Source.PORTAL
        )
    assert created
    receipt.refresh_from_db()
    return receipt


@pytest.fixture
def signed_receipt(
    networked_unit: Unit, networked_pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> Receipt:
    """A receipt of the networked unit, signed (unit and 财政监制) and rendered."""
    receipt = issue_for(networked_unit, django_capture_on_commit_callbacks)
    assert receipt.sign_status == SignStatus.SIGNED and receipt.layout_file
    return receipt


@pytest.fixture
def send(django_capture_on_commit_callbacks: Any) -> Any:
    """``send(receipt=..., channel=..., recipient=..., actor=...)``: receipt_send with its after-commit work run."""
    from zhongtai.messaging.services import receipt_send

    def run(**kwargs: Any) -> Any:
        kwargs.setdefault("actor", Actor.user("cashier"))
        with django_capture_on_commit_callbacks(execute=True):
            message = receipt_send(**kwargs)
        message.refresh_from_db()
        return message

    return run


# --- a real SMS gateway on a loopback port ------------------------------------------------------


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"messageId": "gw-0001"}'
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class Gateway:
    """Records every request; answers with the scripted answers in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[Answer] = [Answer()]
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with gateway._lock:
                    gateway.received.append(Received(self.path, dict(self.headers.items()), body))
                    answer = gateway.answers.pop(0) if len(gateway.answers) > 1 else gateway.answers[0]
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def script(self, *answers: Answer) -> None:
        self.answers = list(answers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


SECRET = "sms-gateway-shared-secret"


@pytest.fixture
def gateway(settings: Any) -> Iterator[Gateway]:
    """A running gateway, with the platform configured to send SMS through it (``http`` provider)."""
    server = Gateway()
    settings.EREC_SMS_PROVIDER = "http"
    settings.EREC_SMS_URL = server.url
    settings.EREC_SMS_SECRET = SECRET
    settings.EREC_SMS_TIMEOUT_SECONDS = 2
    try:
        yield server
    finally:
        server.close()
