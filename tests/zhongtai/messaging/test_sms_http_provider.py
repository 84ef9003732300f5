"""The generic SMS gateway provider, against a real HTTP server on a loopback port."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from typing import Any

import pytest

from issuance.models import Receipt
from tests.zhongtai.messaging.conftest import PHONE, SECRET, Answer, Gateway
from zhongtai.audit.models import AuditEvent
from zhongtai.messaging.models import MessageStatus, OutgoingMessage
from zhongtai.messaging.providers import SIGNATURE_HEADER, HttpSmsProvider, TransientSendError


def test_the_gateway_receives_signed_json_and_its_message_id_is_stored(
    signed_receipt: Receipt, send: Any, gateway: Gateway
) -> None:
    # given a gateway that accepts and answers with its own id
    gateway.script(Answer(200, b'{"code": 0, "messageId": "GW-20261127-77"}'))
    # when a receipt is sent by SMS
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    # then the gateway got one POST with phone, text and our stable message id, as UTF-8 JSON
    assert len(gateway.received) == 1
    request = gateway.received[0]
    assert request.path == "/sms/send"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.json == {"phone": PHONE, "text": message.body, "messageId": str(message.key)}
    # and the signature header is the HMAC-SHA256 of the exact body with the shared secret
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers[SIGNATURE_HEADER], expected)
    wrong = hmac.new(b"another secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] != wrong
    # and the message is sent through "http" with the gateway's id, not labelled log-only
    assert (message.status, message.provider, message.provider_message_id) == ("sent", "http", "GW-20261127-77")
    assert not message.log_only and message.provider_label == "短信网关"


def test_an_accepting_answer_without_an_id_still_counts_as_sent(
    signed_receipt: Receipt, send: Any, gateway: Gateway
) -> None:
    gateway.script(Answer(202, b"queued"))
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert (message.status, message.provider_message_id) == ("sent", "")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_4xx_answer_fails_the_message_at_once(
    signed_receipt: Receipt, send: Any, gateway: Gateway, status: int
) -> None:
    # given a gateway that refuses the message
    gateway.script(Answer(status, '{"error": "号码无效"}'.encode()))
    # when it is sent / then it is tried once and marked failed with the gateway's reason
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert len(gateway.received) == 1
    assert (message.status, message.attempts, message.sent_at) == (MessageStatus.FAILED, 1, None)
    assert f"HTTP {status}" in message.last_error and "号码无效" in message.last_error
    assert AuditEvent.objects.filter(action="message.fail", object_id=str(message.pk)).count() == 1


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_5xx_or_429_answer_is_retried_later(
    signed_receipt: Receipt, send: Any, gateway: Gateway, status: int
) -> None:
    # given a gateway that is temporarily down
    gateway.script(Answer(status, b"busy"))
    # when it is sent / then the message goes back to the queue with a delay, not failed
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert f"HTTP {status}" in message.last_error
    assert message.next_attempt_at > message.created_at
    assert not AuditEvent.objects.filter(action__in=["message.sent", "message.fail"]).exists()


def test_a_timeout_is_transient(signed_receipt: Receipt, gateway: Gateway, settings: Any) -> None:
    # given a gateway slower than the timeout
    settings.EREC_SMS_TIMEOUT_SECONDS = 1
    gateway.script(Answer(200, delay=2.5))
    message = OutgoingMessage(recipient=PHONE, body="测试", channel="sms")
    # when the provider sends / then it reports a failure worth retrying
    with pytest.raises(TransientSendError, match="超时"):
        HttpSmsProvider().send(message)


def test_a_refused_connection_is_transient(db: Any) -> None:
    # given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = HttpSmsProvider(url=f"http://127.0.0.1:{port}/sms", secret="s", timeout=2)
    with pytest.raises(TransientSendError):
        provider.send(OutgoingMessage(recipient=PHONE, body="测试", channel="sms"))


def test_a_redirect_is_not_followed(signed_receipt: Receipt, send: Any, gateway: Gateway) -> None:
    # given a gateway that answers with a redirect elsewhere
    gateway.script(Answer(302, b"", headers={"Location": "http://127.0.0.1:9/elsewhere"}))
    # then the signed body goes nowhere else and the message fails (a misconfigured URL)
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert len(gateway.received) == 1
    assert message.status == MessageStatus.FAILED and "HTTP 302" in message.last_error


def test_the_body_is_sent_as_written(signed_receipt: Receipt, send: Any, gateway: Gateway) -> None:
    # Chinese text travels as UTF-8, not as \\u escapes, so the gateway signs what it reads
    send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    body = gateway.received[0].body
    assert "不动产登记中心".encode() in body
    assert json.loads(body)["text"].startswith("长沙市芙蓉区不动产登记中心为您开具了")
