"""Events are written in the transaction of the change they report, numbered per receipt, never for the sandbox."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core import checks
from django.db import IntegrityError, transaction
from django.utils import timezone

from issuance.models import Receipt
from issuance.paper.services import paper_stock_receive, paper_use_void, receipt_paper_convert
from issuance.red_offset import receipt_red_offset
from tests.zhongtai.national.conftest import issue, sign
from verification.models import ReimbursingParty
from verification.services import entry_cancel, entry_record
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit
from zhongtai.national.checks import national_configured_check
from zhongtai.national.models import EventType, NationalEvent
from zhongtai.national.outbox import events_claim, events_deliver, retry_delay
from zhongtai.national.services import event_record

ACTOR = Actor.system("tests")


def _events(receipt: Receipt) -> list[tuple[int, str]]:
    return list(NationalEvent.objects.filter(receipt=receipt).order_by("seq").values_list("seq", "type"))


def test_issuing_writes_the_issued_event_in_the_same_transaction(unit: Unit) -> None:
    # given a batch issued through the service
    receipts = issue(unit, 3)
    # then each receipt has exactly its issued event, seq 1, pending and not yet tried
    for receipt in receipts:
        assert _events(receipt) == [(1, EventType.ISSUED)]
    event = NationalEvent.objects.get(receipt=receipts[0])
    assert event.state == NationalEvent.State.PENDING
    assert event.attempts == 0
    assert event.occurred_at == receipts[0].issued_at
    assert event.data == {}


def test_a_rolled_back_issuance_leaves_no_event(unit: Unit) -> None:
    # given an issuance whose transaction is rolled back after the receipts were written
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        issue(unit, 2)
        assert NationalEvent.objects.count() == 2
        raise Abort
    # then neither receipts nor events exist
    assert not Receipt.objects.exists()
    assert not NationalEvent.objects.exists()


def test_sandbox_receipts_never_get_events(unit: Unit) -> None:
    receipts = issue(unit, 2, sandbox=True)
    assert all(receipt.sandbox for receipt in receipts)
    assert not NationalEvent.objects.exists()
    # and no status change of one writes any either
    with transaction.atomic():
        assert event_record(receipt=receipts[0], type=EventType.PAPER_CONVERTED, data={"paperNumber": "1"}) is None
    assert not NationalEvent.objects.exists()


def test_status_changes_follow_in_seq_order(unit: Unit, pki: dict[str, Any]) -> None:
    # given a signed receipt that is converted to paper, recovered, then red-offset
    [receipt] = sign(issue(unit, 1))
    paper_stock_receive(unit=unit, paper_code="43000026", start_number=1, end_number=10, actor=ACTOR)
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    paper_use_void(use=use, reason="recovered", actor=ACTOR)
    red, created = receipt_red_offset(receipt=receipt, reason="退费", actor=ACTOR, source=Receipt.Source.API)
    assert created
    # then the original's events are numbered 1, 2, 3 … in the order of the changes
    assert _events(receipt) == [
        (1, EventType.ISSUED),
        (2, EventType.PAPER_CONVERTED),
        (3, EventType.PAPER_RECOVERED),
        (4, EventType.RED_OFFSET),
    ]
    events = {event.seq: event for event in NationalEvent.objects.filter(receipt=receipt)}
    assert events[2].data == {"paperNumber": "430000260000000001"}
    assert events[3].data == {"paperNumber": "430000260000000001"}
    assert events[4].data == {"redCode": red.receipt_code, "redNumber": red.number}
    # and the red receipt has its own issued event
    assert _events(red) == [(1, EventType.ISSUED)]


def test_a_misprint_printed_again_reports_the_new_paper_number(unit: Unit, pki: dict[str, Any]) -> None:
    [receipt] = sign(issue(unit, 1))
    paper_stock_receive(unit=unit, paper_code="43000026", start_number=1, end_number=10, actor=ACTOR)
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    paper_use_void(use=use, reason="misprint", reprint=True, actor=ACTOR)
    assert [(t, e["paperNumber"][-2:]) for t, e in _typed_data(receipt)] == [
        (EventType.PAPER_CONVERTED, "01"),
        (EventType.PAPER_RECOVERED, "01"),
        (EventType.PAPER_CONVERTED, "02"),
    ]


def _typed_data(receipt: Receipt) -> list[tuple[str, dict[str, Any]]]:
    rows = NationalEvent.objects.filter(receipt=receipt, seq__gt=1).order_by("seq").values_list("type", "data")
    return list(rows)


def test_entries_and_their_cancellation_are_events(unit: Unit, pki: dict[str, Any]) -> None:
    [receipt] = sign(issue(unit, 1))
    party = ReimbursingParty.objects.create(
        name="湖南省医疗保障局", party_type="medical_insurance", credit_code="11430000MB1234567Q"
    )
    outcome = entry_record(
        party=party,
        receipt=receipt,
        kind="reimbursement",
        amount=Decimal("20.00"),
        entry_date=timezone.localdate(),
        reference="R1",
        actor=ACTOR,
    )
    entry_cancel(party=party, entry=outcome.entry, reason="录入错误", actor=ACTOR)
    data = {
        "partyCode": "11430000MB1234567Q",
        "partyName": "湖南省医疗保障局",
        "amount": "20.00",
        "entryDate": timezone.localdate().isoformat(),
    }
    assert _typed_data(receipt) == [(EventType.ENTERED, data), (EventType.ENTRY_CANCELLED, data)]


def test_a_receipt_older_than_the_outbox_gets_its_issued_event_first(unit: Unit) -> None:
    [receipt] = issue(unit, 1)
    NationalEvent.objects.all().delete()  # as if issued before the outbox existed
    with transaction.atomic():
        event_record(receipt=receipt, type=EventType.PAPER_CONVERTED, data={"paperNumber": "1"})
    assert _events(receipt) == [(1, EventType.ISSUED), (2, EventType.PAPER_CONVERTED)]


def test_the_database_refuses_a_second_event_with_the_same_seq(unit: Unit) -> None:
    [receipt] = issue(unit, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        NationalEvent.objects.create(
            receipt=receipt,
            seq=1,
            type=EventType.ISSUED,
            occurred_at=timezone.now(),
            available_at=timezone.now(),
        )


def test_the_issued_event_is_always_seq_one(unit: Unit) -> None:
    [receipt] = issue(unit, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        NationalEvent.objects.create(
            receipt=receipt, seq=2, type=EventType.ISSUED, occurred_at=timezone.now(), available_at=timezone.now()
        )


def test_backoff_doubles_from_the_base_up_to_an_hour(settings: Any) -> None:
    settings.EREC_NATIONAL_RETRY_SECONDS = 30
    assert [retry_delay(n).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_without_a_national_url_events_wait(unit: Unit, pki: dict[str, Any], settings: Any) -> None:
    settings.EREC_NATIONAL_URL = ""
    receipts = sign(issue(unit, 2))
    counts = events_deliver(event_ids=list(NationalEvent.objects.values_list("pk", flat=True)))
    assert counts == {"skipped": 2}
    assert set(NationalEvent.objects.values_list("state", "attempts")) == {(NationalEvent.State.PENDING, 0)}
    assert len(receipts) == 2


def test_events_of_an_unsigned_receipt_are_not_claimed_nor_counted(unit: Unit) -> None:
    # given a receipt not signed yet
    [receipt] = issue(unit, 1)
    event = NationalEvent.objects.get(receipt=receipt)
    # when a worker tries to claim its event
    assert events_claim(event_ids=[event.pk]) == []
    # then it waits as it was, no attempt counted
    event.refresh_from_db()
    assert (event.state, event.attempts) == (NationalEvent.State.PENDING, 0)


def test_a_later_event_is_not_claimed_before_the_earlier_ones(unit: Unit, pki: dict[str, Any]) -> None:
    [receipt] = sign(issue(unit, 1))
    with transaction.atomic():
        later = event_record(receipt=receipt, type=EventType.PAPER_CONVERTED, data={"paperNumber": "1"})
    assert later is not None
    first = NationalEvent.objects.get(receipt=receipt, seq=1)
    # alone, the later event is held back by its pending predecessor
    assert events_claim(event_ids=[later.pk]) == []
    # together, both are claimed, in order
    claimed = events_claim(event_ids=[later.pk, first.pk])
    assert [(c.seq, c.attempts) for c in claimed] == [(1, 1), (2, 1)]
    # and a second claim while the lease runs finds nothing
    assert events_claim(event_ids=[later.pk, first.pk]) == []


def test_an_expired_lease_is_claimed_again(unit: Unit, pki: dict[str, Any]) -> None:
    [receipt] = sign(issue(unit, 1))
    event = NationalEvent.objects.get(receipt=receipt)
    assert len(events_claim(event_ids=[event.pk])) == 1
    NationalEvent.objects.filter(pk=event.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    [again] = events_claim(event_ids=[event.pk])
    assert again.attempts == 2


def test_production_without_a_national_url_is_warned_about(settings: Any) -> None:
    settings.EREC_NATIONAL_URL = ""
    settings.SETTINGS_MODULE = "config.settings.production"
    [warning] = national_configured_check()
    assert isinstance(warning, checks.Warning)
    assert warning.id == "national.W001"
    settings.EREC_NATIONAL_URL = "http://127.0.0.1:8700"
    assert national_configured_check() == []
    settings.EREC_NATIONAL_URL = ""
    settings.SETTINGS_MODULE = "config.settings.base"
    assert national_configured_check() == []
