"""receipt.red_offset reaches a real local receiver: signed, retried, given up, requeued; and the bureau's alert."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from issuance.models import Receipt
from tests.support.api import SignedClient
from tests.zhongtai.webhooks.conftest import Receiver, enter, red_offset, register
from verification.models import ReimbursingParty
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.webhooks.models import DeliveryStatus, RedOffsetAlert, WebhookDelivery
from zhongtai.webhooks.outbox import delivery_attempt, delivery_requeue
from zhongtai.webhooks.tasks import webhooks_sweep_task

DOCS = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


def documented_verifier() -> Any:
    """The receiver snippet of docs/webhooks.md ("Verifying a call"), run as a receiver would."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Verifying a call", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOCS), "exec"), namespace)
    return namespace["verify_erec_webhook"]


def _due_now() -> None:
    """Let the backoff pass (the retry delay is tested apart): every queued delivery is due."""
    WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED).update(next_attempt_at=timezone.now())


def _entered_then_red_offset(
    receipt: Receipt, *, api: SignedClient, party_api: SignedClient, url: str, capture: Any, amount: str = "55.50"
) -> str:
    """The party registers ``url`` and enters the receipt, then the unit red-offsets it with the
    after-commit work run; returns the party's signing secret."""
    secret = register(party_api, url)["secret"]
    enter(party_api, receipt, amount)
    with capture(execute=True):
        assert red_offset(api, receipt).status_code == 201
    return secret


def test_entered_receipt_red_offset_calls_the_party_back(
    receipt: Receipt,
    api: SignedClient,
    insurance_api: SignedClient,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a party that registered a callback address and entered the receipt
    secret = register(insurance_api, receiver.url)["secret"]
    entry = enter(insurance_api, receipt, "30.00", reference="LP-2026-001")["entry"]
    # when the unit red-offsets the receipt through its API
    with django_capture_on_commit_callbacks(execute=True):
        response = red_offset(api, receipt, reason="患者退费")
    assert response.status_code == 201
    red = response.json()
    # then the receiver got one signed call, which the documented snippet accepts
    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    event = documented_verifier()(secret, call.headers, call.body)
    assert call.path == "/hooks/erec"
    assert event["type"] == "receipt.red_offset" and event["sandbox"] is False
    assert call.headers["X-Erec-Event-Id"] == event["id"] and call.headers["X-Erec-Attempt"] == "1"
    data = event["data"]
    assert (data["receiptCode"], data["receiptNumber"]) == (receipt.receipt_code, receipt.number_text)
    assert (data["redReceiptCode"], data["redReceiptNumber"]) == (red["receiptCode"], red["receiptNumber"])
    assert data["reason"] == "患者退费"
    assert datetime.datetime.fromisoformat(data["redOffsetAt"]).tzinfo is not None
    assert [(e["entryId"], e["amount"], e["reference"]) for e in data["entries"]] == [
        (entry["entryId"], "30.00", "LP-2026-001")
    ]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.last_status_code == 200
    assert AuditEvent.objects.filter(action="webhook.delivered", object_id=str(delivery.pk)).exists()


def test_the_documented_snippet_refuses_a_tampered_or_stale_call(
    receipt: Receipt,
    api: SignedClient,
    insurance_api: SignedClient,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    secret = _entered_then_red_offset(
        receipt,
        api=api,
        party_api=insurance_api,
        url=receiver.url,
        capture=django_capture_on_commit_callbacks,
        amount="10.00",
    )
    call = receiver.calls[0]
    verify = documented_verifier()
    with pytest.raises(ValueError, match="bad signature"):
        verify(secret, call.headers, call.body.replace(b"10.00", b"99.00"))
    with pytest.raises(ValueError, match="bad signature"):
        verify("whsec_wrong", call.headers, call.body)
    with pytest.raises(ValueError, match="tolerance"):
        verify(secret, call.headers, call.body, now=int(call.headers["X-Erec-Timestamp"]) + 3600)


def test_receiver_errors_are_retried_with_the_same_event_id(
    receipt: Receipt,
    api: SignedClient,
    insurance_api: SignedClient,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a receiver that fails twice before it works
    receiver.answer_with(500, 503)
    secret = _entered_then_red_offset(
        receipt, api=api, party_api=insurance_api, url=receiver.url, capture=django_capture_on_commit_callbacks
    )
    delivery = WebhookDelivery.objects.get()
    delivery.refresh_from_db()
    # the first attempt failed and was put back with a backoff
    assert delivery.status == DeliveryStatus.QUEUED and delivery.attempts == 1
    assert delivery.last_status_code == 500 and "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() + datetime.timedelta(seconds=20)
    # not due yet: a worker that gets it early leaves it alone
    assert delivery_attempt(delivery_id=delivery.pk) == "skipped"
    _due_now()
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.QUEUED
    _due_now()
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED
    # then the receiver saw the same event three times, each validly signed
    assert len(receiver.calls) == 3
    ids = {call.headers["X-Erec-Event-Id"] for call in receiver.calls}
    assert ids == {str(delivery.event_id)}
    assert [call.headers["X-Erec-Attempt"] for call in receiver.calls] == ["1", "2", "3"]
    assert len({call.body for call in receiver.calls}) == 1
    verify = documented_verifier()
    for call in receiver.calls:
        verify(secret, call.headers, call.body)
    # and a delivered call is never sent again
    assert delivery_attempt(delivery_id=delivery.pk) == "skipped"


@override_settings(EREC_WEBHOOK_MAX_ATTEMPTS=3)
def test_dead_after_the_last_attempt_then_requeued(
    receipt: Receipt,
    api: SignedClient,
    insurance_api: SignedClient,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    receiver.answer_with(500, 500, 404)
    _entered_then_red_offset(
        receipt, api=api, party_api=insurance_api, url=receiver.url, capture=django_capture_on_commit_callbacks
    )
    delivery = WebhookDelivery.objects.get()
    _due_now()
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.QUEUED
    _due_now()
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DEAD
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.last_status_code == 404
    assert AuditEvent.objects.filter(action="webhook.dead", object_id=str(delivery.pk)).exists()
    # the sweeper leaves a dead delivery alone
    assert webhooks_sweep_task.apply().get()["deliveriesDispatched"] == 0
    # when an operator requeues it, it is sent again (at once, eager) and arrives
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_requeue(delivery=delivery, actor=Actor.user("province_admin")) is True
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    requeued = AuditEvent.objects.get(action="webhook.requeue")
    assert requeued.actor == "province_admin"
    assert len(receiver.calls) == 4
    # a delivered one cannot be requeued
    assert delivery_requeue(delivery=delivery, actor=Actor.user("province_admin")) is False


def test_unreachable_receiver_is_a_failed_attempt(
    receipt: Receipt,
    api: SignedClient,
    insurance_api: SignedClient,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # A port nobody listens on: the receiver's port once it is shut down is not reliable, so port 9.
    _entered_then_red_offset(
        receipt,
        api=api,
        party_api=insurance_api,
        url="http://127.0.0.1:9/hooks",
        capture=django_capture_on_commit_callbacks,
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.QUEUED and delivery.attempts == 1
    assert "无法连接" in delivery.last_error and delivery.last_status_code is None


def test_sweeper_dispatches_due_deliveries(
    receipt: Receipt,
    api: SignedClient,
    insurance_api: SignedClient,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a delivery whose hand-over to the workers was lost (on_commit never ran)
    register(insurance_api, receiver.url)
    enter(insurance_api, receipt, "55.50")
    red_offset(api, receipt)
    assert WebhookDelivery.objects.get().status == DeliveryStatus.QUEUED and not receiver.calls
    # when the sweeper runs, it is sent
    assert webhooks_sweep_task.apply().get()["deliveriesDispatched"] == 1
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED
    assert len(receiver.calls) == 1


def test_only_parties_with_an_active_entry_are_called(
    receipt: Receipt,
    api: SignedClient,
    insurance_api: SignedClient,
    employer_api: SignedClient,
    insurance: ReimbursingParty,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given two parties with addresses and entries, one of which was cancelled
    register(insurance_api, receiver.url + "?party=insurance")
    register(employer_api, receiver.url + "?party=employer")
    enter(insurance_api, receipt, "20.00")
    cancelled = enter(employer_api, receipt, "30.00")["entry"]
    response = employer_api.post(
        f"/api/v1/public/receipts/{receipt.receipt_code}/{receipt.number_text}/entries/{cancelled['entryId']}/cancel",
        {"reason": "录入错误"},
    )
    assert response.status_code == 200
    # when the receipt is red-offset
    with django_capture_on_commit_callbacks(execute=True):
        red_offset(api, receipt)
    # then only the party whose entry stands is called, and the alert names only its entry
    assert [call.path for call in receiver.calls] == ["/hooks/erec?party=insurance"]
    alert = RedOffsetAlert.objects.get()
    assert [e["partyName"] for e in alert.entries] == [insurance.name]
    assert alert.claimed_amount == Decimal("20.00")


def test_disabled_address_gets_nothing(
    receipt: Receipt,
    api: SignedClient,
    insurance_api: SignedClient,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    register(insurance_api, receiver.url)
    insurance_api.request("DELETE", "/api/v1/public/webhook")
    enter(insurance_api, receipt, "55.50")
    with django_capture_on_commit_callbacks(execute=True):
        red_offset(api, receipt)
    assert not WebhookDelivery.objects.exists() and not receiver.calls
    # the bureau is still told
    assert RedOffsetAlert.objects.count() == 1


def test_alert_only_for_a_reimbursed_receipt(
    receipt: Receipt, api: SignedClient, insurance_api: SignedClient, django_capture_on_commit_callbacks: Any
) -> None:
    # given a receipt nobody entered: no alert, no call
    register(insurance_api, "https://hooks.example.com/erec")
    with django_capture_on_commit_callbacks(execute=True):
        assert red_offset(api, receipt).status_code == 201
    assert not RedOffsetAlert.objects.exists() and not WebhookDelivery.objects.exists()
    assert not AuditEvent.objects.filter(action="red_offset_alert.create").exists()


def test_alert_snapshot_and_audit_for_a_reimbursed_receipt(
    receipt: Receipt,
    api: SignedClient,
    insurance_api: SignedClient,
    employer_api: SignedClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    enter(insurance_api, receipt, "25.50", reference="YB-1")
    enter(employer_api, receipt, "30.00", reference="CW-1")
    response = red_offset(api, receipt, reason="重复收费")
    red = Receipt.objects.get(receipt_code=response.json()["receiptCode"], number=int(response.json()["receiptNumber"]))
    alert = RedOffsetAlert.objects.get()
    assert (alert.receipt_id, alert.red_receipt_id) == (receipt.pk, red.pk)
    assert alert.region_code == "430102" and alert.state == RedOffsetAlert.State.OPEN
    assert alert.reason == "重复收费" and alert.claimed_amount == Decimal("55.50")
    assert [(e["amount"], e["reference"]) for e in alert.entries] == [("25.50", "YB-1"), ("30.00", "CW-1")]
    audit = AuditEvent.objects.get(action="red_offset_alert.create")
    assert audit.region_code == "430102" and audit.object_id == str(alert.pk)
    assert json.loads(json.dumps(audit.data))["entries"] == 2
    # the snapshot stays what it was when the parties change their entries later: they cannot
    # (a red-offset receipt takes no entry changes), and the alert is never rewritten
    assert alert.entries[0]["partyName"] == "湖南省医疗保障局"


def test_red_offset_rolls_back_with_its_alert_and_calls(
    receipt: Receipt, insurance_api: SignedClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same transaction: if anything after the notify fails, neither the alert nor a call remains."""
    import issuance.red_offset as red_offset_module
    from issuance.red_offset import receipt_red_offset

    register(insurance_api, "https://hooks.example.com/erec")
    enter(insurance_api, receipt, "55.50")

    def broken_audit(**kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(red_offset_module, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        receipt_red_offset(receipt=receipt, reason="退费", actor=Actor.system("tests"), source=Receipt.Source.API)
    assert not RedOffsetAlert.objects.exists() and not WebhookDelivery.objects.exists()
