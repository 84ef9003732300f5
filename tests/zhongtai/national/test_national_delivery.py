"""Delivery to a real simulator: every failure mode ends with each event stored exactly once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from issuance.models import Receipt
from tests.conftest import nontax_payload
from tests.support.natsim import Natsim
from tests.zhongtai.national.conftest import drain, issue, sign, time_passes
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit
from zhongtai.national.models import EventType, NationalEvent
from zhongtai.national.outbox import events_deliver, events_sweep
from zhongtai.national.services import event_record, event_requeue

pytestmark = pytest.mark.integration


def _states() -> Counter[str]:
    return Counter(NationalEvent.objects.values_list("state", flat=True))


def _stored(natsim: Natsim) -> Counter[tuple[str, int, int]]:
    return Counter((e["receiptCode"], e["number"], e["seq"]) for e in natsim.events())


def _ours() -> set[tuple[str, int, int]]:
    rows = NationalEvent.objects.values_list("receipt__receipt_code", "receipt__number", "seq")
    return set(rows)


def _assert_each_stored_once(natsim: Natsim) -> None:
    stored = _stored(natsim)
    assert set(stored) == _ours()
    assert set(stored.values()) == {1}, "an event is stored more than once"
    assert _states() == Counter({NationalEvent.State.DELIVERED: len(stored)})


def test_an_issued_receipt_is_delivered_after_its_signing_commits(
    national: Natsim, api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a receipt issued through the API (signed in the request, in-process delivery after commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/receipts/issue", nontax_payload("NATAPI1"))
    assert response.status_code == 201, response.json()
    receipt = Receipt.objects.get(bus_no="NATAPI1")
    # then its issued event is delivered and the simulator holds it once
    event = NationalEvent.objects.get(receipt=receipt)
    assert (event.state, event.attempts, event.last_code) == (NationalEvent.State.DELIVERED, 1, "ACCEPTED")
    assert event.delivered_at is not None
    [stored] = national.events(receipt_code=receipt.receipt_code, number=receipt.number)
    assert stored["type"] == "issued"
    assert stored["offered"] == 1
    assert stored["data"]["checkCode"] == receipt.check_code
    assert stored["data"]["totalAmount"] == "55.50"


def test_status_events_are_delivered_in_order_in_one_request(national: Natsim, unit: Unit, pki: Any) -> None:
    [receipt] = sign(issue(unit, 1))
    with transaction.atomic():
        event_record(receipt=receipt, type=EventType.PAPER_CONVERTED, data={"paperNumber": "430000260000000001"})
        event_record(receipt=receipt, type=EventType.PAPER_RECOVERED, data={"paperNumber": "430000260000000001"})
    events_sweep()
    assert [e["type"] for e in national.events(receipt_code=receipt.receipt_code, number=receipt.number)] == [
        "issued",
        "paper_converted",
        "paper_recovered",
    ]
    assert national.stats()["counters"]["eventRequests"] == 1
    _assert_each_stored_once(national)


def test_a_repeat_whose_first_answer_was_lost_ends_as_duplicate(national: Natsim, unit: Unit, pki: Any) -> None:
    # given a simulator that stores every request and then loses its answer
    receipts = sign(issue(unit, 3))
    national.control(failRate=1.0, failMode="drop_answer")
    events_sweep()
    # then our side saw a failure: every event is pending again with one attempt, and the simulator has them
    assert _states() == Counter({NationalEvent.State.PENDING: 3})
    assert set(NationalEvent.objects.values_list("attempts", "last_code")) == {(1, "INJECTED_LOST_ANSWER")}
    assert len(_stored(national)) == 3
    # when the platform answers again and the retries are due
    national.reset()
    time_passes()
    events_sweep()
    # then the repeat is a duplicate, recorded as delivered, and stored once (offered twice)
    assert set(NationalEvent.objects.values_list("state", "attempts", "last_code")) == {
        (NationalEvent.State.DELIVERED, 2, "DUPLICATE")
    }
    assert {e["offered"] for e in national.events()} == {2}
    assert len(receipts) == 3
    _assert_each_stored_once(national)


@pytest.mark.parametrize("mode", ["error", "drop_answer"])
def test_half_of_the_requests_failing_ends_with_every_event_stored_once(
    national: Natsim, unit: Unit, pki: Any, settings: Any, mode: str
) -> None:
    settings.EREC_NATIONAL_MAX_ATTEMPTS = 30
    receipts = sign(issue(unit, 12))
    with transaction.atomic():
        for receipt in receipts[:4]:
            event_record(receipt=receipt, type=EventType.PAPER_CONVERTED, data={"paperNumber": "430000260000000001"})
    national.control(failRate=0.5, failMode=mode, seed=7)
    # one event per request, so that failures fall on some events and not on others
    for event_id in NationalEvent.objects.order_by("receipt_id", "seq").values_list("pk", flat=True):
        events_deliver(event_ids=[event_id])
    assert national.stats()["counters"]["failuresInjected"] > 0
    drain()
    _assert_each_stored_once(national)


def test_timeouts_are_failed_attempts_and_end_stored_once(
    national: Natsim, unit: Unit, pki: Any, settings: Any
) -> None:
    settings.EREC_NATIONAL_TIMEOUT = 1
    settings.EREC_NATIONAL_MAX_ATTEMPTS = 30
    sign(issue(unit, 3))
    national.control(failRate=1.0, failMode="timeout", timeoutSeconds=3)
    events_sweep()
    assert set(NationalEvent.objects.values_list("state", "attempts", "last_code")) == {
        (NationalEvent.State.PENDING, 1, "TIMEOUT")
    }
    national.control(failRate=0.5, seed=3)
    drain()
    _assert_each_stored_once(national)


def test_the_platform_down_is_a_failed_attempt(national: Natsim, unit: Unit, pki: Any) -> None:
    sign(issue(unit, 2))
    national.stop()
    try:
        events_sweep()
        assert set(NationalEvent.objects.values_list("state", "attempts", "last_code")) == {
            (NationalEvent.State.PENDING, 1, "CONNECTION")
        }
    finally:
        national.start()
    drain()
    _assert_each_stored_once(national)


def test_a_seq_gap_answer_is_retried(national: Natsim, unit: Unit, pki: Any) -> None:
    # given a receipt whose issued event was delivered, and a simulator that then forgot it
    [receipt] = sign(issue(unit, 1))
    events_sweep()
    national.purge()
    with transaction.atomic():
        later = event_record(receipt=receipt, type=EventType.PAPER_CONVERTED, data={"paperNumber": "1"})
    assert later is not None
    # when the later event is sent
    events_deliver(event_ids=[later.pk])
    # then the answer "retry SEQ_GAP" is a failed attempt, pending again after a backoff
    later.refresh_from_db()
    assert (later.state, later.attempts, later.last_code) == (NationalEvent.State.PENDING, 1, "SEQ_GAP")
    # and once the earlier event is there again, the retry succeeds
    NationalEvent.objects.filter(receipt=receipt, seq=1).update(state=NationalEvent.State.PENDING, delivered_at=None)
    drain()
    _assert_each_stored_once(national)


def test_a_rejected_event_is_dead_at_once_and_an_operator_requeues_it(
    national: Natsim, unit: Unit, pki: dict[str, Any]
) -> None:
    # given a simulator that trusts another root than the one that signed our receipts
    from zhongtai.signing import x509 as certs

    other_root = certs.der_to_pem(bytes(pki["seal_cert"].der))  # any certificate but our root
    national.register_province(national.province, national.secret, other_root)
    [receipt] = sign(issue(unit, 1))
    events_sweep()
    event = NationalEvent.objects.get(receipt=receipt)
    # then the event is a dead letter after one attempt, with the receiver's code, audited
    assert (event.state, event.attempts) == (NationalEvent.State.DEAD, 1)
    assert event.last_code == "SIGNATURE_INVALID"
    assert AuditEvent.objects.filter(action="national_event.dead", object_id=str(event.pk)).exists()
    # and the sweeper leaves it alone
    time_passes()
    assert events_sweep() == 0
    # when the cause is fixed and an operator requeues it
    national.register_pki(pki)
    assert event_requeue(event_id=event.pk, actor=Actor.user("province_admin")) is True
    events_sweep()
    event.refresh_from_db()
    assert (event.state, event.attempts, event.last_code) == (NationalEvent.State.DELIVERED, 1, "ACCEPTED")
    audit = AuditEvent.objects.get(action="national_event.requeue")
    assert audit.actor == "province_admin"
    assert audit.data["lastCode"] == "SIGNATURE_INVALID"
    # and only a dead letter can be requeued
    assert event_requeue(event_id=event.pk, actor=Actor.user("province_admin")) is False
    _assert_each_stored_once(national)


def test_the_last_attempt_makes_a_dead_letter(national: Natsim, unit: Unit, pki: Any, settings: Any) -> None:
    settings.EREC_NATIONAL_MAX_ATTEMPTS = 2
    sign(issue(unit, 1))
    national.control(failRate=1.0, failMode="error")
    events_sweep()
    time_passes()
    events_sweep()
    event = NationalEvent.objects.get()
    assert (event.state, event.attempts) == (NationalEvent.State.DEAD, 2)
    assert event.last_error.startswith("全国平台暂时不可用")


def test_a_later_event_waits_while_an_earlier_one_is_dead(national: Natsim, unit: Unit, pki: Any) -> None:
    [receipt] = sign(issue(unit, 1))
    NationalEvent.objects.filter(receipt=receipt).update(state=NationalEvent.State.DEAD, attempts=1)
    with transaction.atomic():
        later = event_record(receipt=receipt, type=EventType.PAPER_CONVERTED, data={"paperNumber": "1"})
    assert later is not None
    assert events_sweep() == 0
    later.refresh_from_db()
    assert (later.state, later.attempts) == (NationalEvent.State.PENDING, 0)
    assert national.stats()["counters"]["eventRequests"] == 0


def test_a_hundred_and_some_events_go_in_requests_of_at_most_a_hundred(national: Natsim, unit: Unit, pki: Any) -> None:
    sign(issue(unit, 120))
    events_sweep()
    assert national.stats()["counters"]["eventRequests"] == 2
    _assert_each_stored_once(national)


def test_in_process_delivery_tries_once_and_never_loops(
    national: Natsim, api: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given the embedded default (tasks run in the calling process) and a national platform that always fails
    settings.CELERY_TASK_ALWAYS_EAGER = True
    national.control(failRate=1.0, failMode="error")
    # when a receipt is issued and signed in the request
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/receipts/issue", nontax_payload("NATEAGER"))
    assert response.status_code == 201
    # then its event was tried exactly once and waits for its backoff: nothing re-sent it in process
    event = NationalEvent.objects.get()
    assert (event.state, event.attempts, event.last_code) == (NationalEvent.State.PENDING, 1, "INJECTED_FAILURE")
    assert national.stats()["counters"]["eventRequests"] == 1
    # and a sweep before the backoff is over sends nothing
    assert events_sweep() == 0
    assert national.stats()["counters"]["eventRequests"] == 1
