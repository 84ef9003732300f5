"""The outbox: claims, retries with backoff, failure after the last attempt, the sweeper."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from issuance.models import Receipt
from tests.zhongtai.messaging.conftest import PHONE, Answer, Gateway
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.messaging.models import MessageStatus, OutgoingMessage
from zhongtai.messaging.outbox import message_claim, message_deliver, messages_due, retry_delay
from zhongtai.messaging.services import receipt_send
from zhongtai.messaging.tasks import message_send_task, messages_sweep_task


def _make_due(message: OutgoingMessage) -> None:
    """Let the retry delay pass (the clock is the database's next_attempt_at)."""
    OutgoingMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))


def test_backoff_doubles_up_to_half_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 10, 20)] == [30, 60, 120, 240, 1800, 1800]


def test_a_transient_failure_is_retried_with_backoff_then_fails(
    signed_receipt: Receipt, send: Any, gateway: Gateway, settings: Any
) -> None:
    # given a gateway that keeps answering 503, and three attempts allowed
    settings.EREC_MESSAGE_MAX_ATTEMPTS = 3
    gateway.script(Answer(503, b"maintenance"))
    # when the message is sent, it goes back to the queue with a first delay of 30 s
    before = timezone.now()
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert message.next_attempt_at >= before + datetime.timedelta(seconds=30)
    # and the sweeper leaves it alone until the delay has passed
    assert messages_sweep_task() == 0
    assert len(gateway.received) == 1
    # when the delay passes, the sweeper retries it (60 s the next time) ...
    _make_due(message)
    assert messages_sweep_task() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 2)
    assert message.next_attempt_at >= timezone.now() + datetime.timedelta(seconds=55)
    # ... and the last attempt marks it failed, with the gateway's answer and an audit row
    _make_due(message)
    messages_sweep_task()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.sent_at) == (MessageStatus.FAILED, 3, None)
    assert "HTTP 503" in message.last_error and "maintenance" in message.last_error
    assert len(gateway.received) == 3
    assert AuditEvent.objects.filter(action="message.fail", object_id=str(message.pk)).count() == 1
    # and a failed message is never picked up again
    _make_due(message)
    assert messages_sweep_task() == 0 and len(gateway.received) == 3


def test_a_retry_that_succeeds_records_the_send(signed_receipt: Receipt, send: Any, gateway: Gateway) -> None:
    gateway.script(Answer(502, b"bad gateway"), Answer(200, b'{"messageId": "second-try"}'))
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert message.status == MessageStatus.QUEUED
    _make_due(message)
    assert message_send_task(message.pk) == MessageStatus.SENT
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 2, "second-try")
    assert message.last_error == ""
    # the gateway saw the same messageId both times, so it can drop a repeat
    assert gateway.received[0].json["messageId"] == gateway.received[1].json["messageId"] == str(message.key)


def test_a_sent_message_is_never_sent_twice(signed_receipt: Receipt, send: Any, gateway: Gateway) -> None:
    # given a message the gateway accepted
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert message.status == MessageStatus.SENT and len(gateway.received) == 1
    # when its task runs again (a duplicate delivery of the Celery message) and the sweeper runs
    assert message_send_task(message.pk) == "skipped"
    assert message_send_task.delay(message.pk).get() == "skipped"
    assert messages_sweep_task() == 0
    # then the gateway got it once, and the row is unchanged
    assert len(gateway.received) == 1
    again = OutgoingMessage.objects.get(pk=message.pk)
    assert (again.status, again.attempts, again.sent_at) == ("sent", 1, message.sent_at)
    assert AuditEvent.objects.filter(action="message.sent", object_id=str(message.pk)).count() == 1


def test_only_one_claim_wins(signed_receipt: Receipt, django_capture_on_commit_callbacks: Any) -> None:
    # given a queued message whose hand-over has not happened
    with django_capture_on_commit_callbacks(execute=False):
        message = receipt_send(receipt=signed_receipt, channel="sms", recipient=PHONE, actor=Actor.user("c"))
    # when two workers claim it / then the first takes it, the second gets nothing
    first = message_claim(message_id=message.pk)
    second = message_claim(message_id=message.pk)
    assert first is not None and first.status == MessageStatus.SENDING and first.attempts == 1
    assert second is None
    # and the holder's outcome is recorded; a deliver by the loser is skipped
    assert message_deliver(message_id=message.pk) == "skipped"


def test_a_dead_workers_claim_is_taken_over_after_its_lease(
    signed_receipt: Receipt, django_capture_on_commit_callbacks: Any, gateway: Gateway
) -> None:
    # given a message claimed by a worker that died before recording anything
    with django_capture_on_commit_callbacks(execute=False):
        message = receipt_send(receipt=signed_receipt, channel="sms", recipient=PHONE, actor=Actor.user("c"))
    assert message_claim(message_id=message.pk) is not None
    assert messages_due() == []
    # when its lease runs out / then the sweeper gives it to another worker, which sends it
    OutgoingMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    assert messages_due() == [message.pk]
    messages_sweep_task()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.lease_until) == ("sent", 2, None)
    assert len(gateway.received) == 1


def test_a_message_whose_workers_keep_dying_fails_after_the_last_attempt(
    signed_receipt: Receipt, django_capture_on_commit_callbacks: Any, gateway: Gateway, settings: Any
) -> None:
    settings.EREC_MESSAGE_MAX_ATTEMPTS = 2
    with django_capture_on_commit_callbacks(execute=False):
        message = receipt_send(receipt=signed_receipt, channel="sms", recipient=PHONE, actor=Actor.user("c"))
    OutgoingMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING, attempts=2)
    OutgoingMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    assert message_deliver(message_id=message.pk) == MessageStatus.FAILED
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "未返回结果" in message.last_error
    assert gateway.received == []


def test_the_sweeper_sends_a_message_whose_task_was_lost(
    signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    # given a committed message whose hand-over to the workers never happened (broker down)
    with django_capture_on_commit_callbacks(execute=False):
        message = receipt_send(receipt=signed_receipt, channel="sms", recipient=PHONE, actor=Actor.user("c"))
    assert messages_due() == [message.pk]
    # when beat runs the sweeper / then the message is sent
    assert messages_sweep_task() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert messages_due() == []


def test_a_misconfigured_provider_fails_the_message_without_retrying(
    signed_receipt: Receipt, send: Any, settings: Any
) -> None:
    settings.EREC_SMS_PROVIDER = "no_such_gateway"
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
    assert "no_such_gateway" in message.last_error


@pytest.mark.parametrize("status", [MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.FAILED])
def test_only_queued_and_due_messages_are_claimed(
    signed_receipt: Receipt, django_capture_on_commit_callbacks: Any, status: str
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        message = receipt_send(receipt=signed_receipt, channel="sms", recipient=PHONE, actor=Actor.user("c"))
    fields: dict[str, Any] = {"status": status, "lease_until": timezone.now() + datetime.timedelta(minutes=5)}
    if status == MessageStatus.SENT:
        fields.update(sent_at=timezone.now(), provider="console")
    OutgoingMessage.objects.filter(pk=message.pk).update(**fields)
    assert message_claim(message_id=message.pk) is None
    # a queued message is not claimed before its time either
    OutgoingMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.QUEUED, next_attempt_at=timezone.now() + datetime.timedelta(minutes=1)
    )
    assert message_claim(message_id=message.pk) is None
