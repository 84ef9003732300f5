"""receipt_send: only signed, non-sandbox receipts go out, to a valid recipient, a few times a day."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from issuance.layout.verify_url import verify_url
from issuance.models import Receipt, SignStatus
from tests.zhongtai.messaging.conftest import PHONE, issue_for
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.messaging.models import Channel, MessageStatus, OutgoingMessage
from zhongtai.messaging.services import receipt_send


def _refusal(code: str, **kwargs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        receipt_send(**{"actor": Actor.user("cashier"), **kwargs})
    assert caught.value.code == code, caught.value
    assert caught.value.message
    return caught.value


def test_a_signed_receipt_is_sent_by_sms_with_its_facts_and_verification_link(
    signed_receipt: Receipt, send: Any
) -> None:
    # given a signed receipt of the networked unit (console SMS provider: the embedded default)
    # when the cashier sends it by SMS
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    # then the message was sent in-process after commit, by the console provider, and says so
    assert message.status == MessageStatus.SENT and message.sent_at is not None
    assert message.provider == "console" and message.log_only
    assert message.provider_label == "仅记录（未接入短信网关）"
    assert (message.attempts, message.unit_id, message.receipt_id) == (1, signed_receipt.unit_id, signed_receipt.pk)
    # and the text names the unit, the kind, code, number, total and the verification link
    link = verify_url(
        receipt_code=signed_receipt.receipt_code,
        number=signed_receipt.number,
        check_code=signed_receipt.check_code,
        issue_date=signed_receipt.issue_date,
        amount=signed_receipt.total_amount,
    )
    for fact in (
        "长沙市芙蓉区不动产登记中心",
        "非税收入统一票据",
        signed_receipt.receipt_code,
        signed_receipt.number_text,
        "55.50元",
        link,
    ):
        assert fact in message.body, fact
    assert message.subject == "" and message.attachment_name == ""
    # and the request and the delivery are in the audit trail, the phone number masked
    actions = list(
        AuditEvent.objects.filter(object_type="outgoing_message", object_id=str(message.pk))
        .order_by("id")
        .values_list("action", "actor", "data")
    )
    assert [(action, actor) for action, actor, _ in actions] == [
        ("message.queue", "cashier"),
        ("message.sent", "messaging"),
    ]
    assert all(data["recipient"] == "138****8000" for _, _, data in actions)


def test_the_recipient_is_normalised_and_the_email_carries_subject_and_attachment_name(
    signed_receipt: Receipt, send: Any
) -> None:
    sms = send(receipt=signed_receipt, channel="sms", recipient="+86 138-0013-8000")
    assert sms.recipient == PHONE and sms.recipient_masked == "138****8000"
    email = send(receipt=signed_receipt, channel="email", recipient="  Zhang.San@Example.COM ")
    assert email.recipient == "Zhang.San@example.com" and email.recipient_masked == "Z***@example.com"
    assert email.attachment_name == f"{signed_receipt.receipt_code}-{signed_receipt.number_text}.pdf"
    assert signed_receipt.receipt_code in email.subject and "查验" in email.body


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        ("sms", "12800138000"),  # second digit 2
        ("sms", "1380013800"),  # ten digits
        ("sms", "138001380001"),  # twelve digits
        ("sms", "0731-84567890"),  # a landline
        ("sms", "zhangsan@example.com"),
        ("email", "zhangsan"),
        ("email", "zhangsan@"),
        ("email", PHONE),
        ("email", ""),
    ],
)
def test_a_malformed_recipient_is_refused(signed_receipt: Receipt, channel: str, recipient: str) -> None:
    error = _refusal("RECIPIENT_INVALID", receipt=signed_receipt, channel=channel, recipient=recipient)
    assert error.status_code == 400
    assert not OutgoingMessage.objects.exists()


def test_an_unknown_channel_is_refused(signed_receipt: Receipt) -> None:
    _refusal("CHANNEL_UNKNOWN", receipt=signed_receipt, channel="wechat", recipient=PHONE)
    assert not OutgoingMessage.objects.exists()


def test_an_unsigned_receipt_is_refused(networked_unit: Any, django_capture_on_commit_callbacks: Any) -> None:
    # given a receipt the pipeline could not sign (no CA, no certificate)
    receipt = issue_for(networked_unit, django_capture_on_commit_callbacks, bus_no="UNSIGNED1")
    assert receipt.sign_status != SignStatus.SIGNED
    # when it is sent / then it is refused with 409 and nothing is queued
    error = _refusal("RECEIPT_NOT_SIGNED", receipt=receipt, channel="sms", recipient=PHONE)
    assert error.status_code == 409 and error.extra == {"signStatus": receipt.sign_status}
    assert not OutgoingMessage.objects.exists()
    assert not AuditEvent.objects.filter(action="message.queue").exists()


def test_a_sandbox_receipt_is_never_sent(signed_receipt: Receipt) -> None:
    # given a signed receipt of the sandbox (联调测试)
    Receipt.objects.filter(pk=signed_receipt.pk).update(sandbox=True)
    signed_receipt.refresh_from_db()
    # then it is refused: test data must not reach a payer
    error = _refusal("RECEIPT_SANDBOX", receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert error.status_code == 409
    assert not OutgoingMessage.objects.exists()


def test_at_most_five_messages_per_receipt_and_day(signed_receipt: Receipt, send: Any, settings: Any) -> None:
    # given five messages today for one receipt, one of them failed
    assert settings.EREC_MESSAGES_PER_RECEIPT_PER_DAY == 5
    for _ in range(4):
        send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    failed = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    OutgoingMessage.objects.filter(pk=failed.pk).update(status=MessageStatus.FAILED, sent_at=None)
    # when a sixth is asked for / then it is refused with 429, saying how many were sent
    error = _refusal("SEND_LIMIT_REACHED", receipt=signed_receipt, channel="email", recipient="a@example.com")
    assert error.status_code == 429 and error.extra == {"limit": 5, "sentToday": 5}
    assert "5" in error.message
    assert OutgoingMessage.objects.count() == 5


def test_yesterdays_messages_do_not_count_and_the_limit_comes_from_settings(
    signed_receipt: Receipt, send: Any, settings: Any
) -> None:
    # given a limit of 2, and two messages sent before today's midnight (Asia/Shanghai)
    settings.EREC_MESSAGES_PER_RECEIPT_PER_DAY = 2
    first, second = (send(receipt=signed_receipt, channel="sms", recipient=PHONE) for _ in range(2))
    midnight = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time.min))
    OutgoingMessage.objects.filter(pk__in=[first.pk, second.pk]).update(
        created_at=midnight - datetime.timedelta(seconds=1)
    )
    # then two more go out today, and the third of today is refused
    send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    _refusal("SEND_LIMIT_REACHED", receipt=signed_receipt, channel="sms", recipient=PHONE)


def test_the_limit_is_per_receipt(
    networked_unit: Any, networked_pki: Any, django_capture_on_commit_callbacks: Any, send: Any, settings: Any
) -> None:
    settings.EREC_MESSAGES_PER_RECEIPT_PER_DAY = 1
    first = issue_for(networked_unit, django_capture_on_commit_callbacks, bus_no="PER1")
    second = issue_for(networked_unit, django_capture_on_commit_callbacks, bus_no="PER2")
    send(receipt=first, channel="sms", recipient=PHONE)
    assert send(receipt=second, channel="sms", recipient=PHONE).status == MessageStatus.SENT
    _refusal("SEND_LIMIT_REACHED", receipt=first, channel="sms", recipient=PHONE)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_cannot_pass_the_limit_together(signed_receipt: Receipt, settings: Any) -> None:
    # given a limit of one message a day, and four cashiers' requests arriving at once
    settings.EREC_MESSAGES_PER_RECEIPT_PER_DAY = 1
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def request() -> None:
        try:
            barrier.wait()
            receipt_send(receipt=signed_receipt, channel="sms", recipient=PHONE, actor=Actor.user("cashier"))
            outcomes.append("queued")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then the receipt row lock lets exactly one through
    assert sorted(outcomes) == ["SEND_LIMIT_REACHED"] * 3 + ["queued"]
    assert OutgoingMessage.objects.filter(receipt=signed_receipt).count() == 1


def test_nothing_is_sent_when_the_request_rolls_back(
    signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    # given a send inside a transaction that is then rolled back
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        receipt_send(receipt=signed_receipt, channel="sms", recipient=PHONE, actor=Actor.user("cashier"))
        raise RuntimeError("the request failed after asking for the message")
    # then there is no message, no audit row, and no hand-over to the workers
    assert not OutgoingMessage.objects.exists()
    assert not AuditEvent.objects.filter(object_type="outgoing_message").exists()
    assert callbacks == []


def test_a_queued_message_is_handed_over_only_after_commit(
    signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    # when the message is requested and the transaction has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = receipt_send(receipt=signed_receipt, channel=Channel.SMS, recipient=PHONE, actor=Actor.user("c"))
    # then the row is queued, not sent, and one hand-over waits for the commit
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and message.attempts == 0
    assert len(callbacks) == 1
    # and running it (the commit) sends the message
    callbacks[0]()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
