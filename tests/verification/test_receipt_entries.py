"""Reimbursement and book entries (报销/入账): partial claims never exceed the total, a party never
enters a receipt twice, a cancellation frees the amount, and red-offset receipts cannot be entered."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from issuance.models import Receipt
from issuance.red_offset import receipt_red_offset
from issuance.services import receipt_transition
from tests.issuance.conftest import error_of
from tests.support.api import SignedClient
from tests.verification.conftest import ACTOR, qr_url
from tests.verification.test_public_api import cancel_url, claim, detail, entries_url
from verification.models import ReceiptEntry, ReceiptLedger, ReimbursingParty
from verification.selectors import entries_claimed_total
from zhongtai.audit.models import AuditEvent


def _ledger_matches_entries(receipt: Receipt) -> Decimal:
    ledger = ReceiptLedger.objects.get(receipt=receipt)
    assert ledger.claimed_amount == entries_claimed_total(receipt=receipt)
    assert ledger.active_entries == ReceiptEntry.objects.filter(receipt=receipt, status="active").count()
    return ledger.claimed_amount


def test_a_receipt_is_claimed_in_parts_by_several_parties(
    insurance_api: SignedClient, insurer_api: SignedClient, employer_api: SignedClient, receipt: Receipt
) -> None:
    # given the medical insurance pays 30.00 and the insurer 25.50 of a 55.50 receipt
    assert insurance_api.post(entries_url(receipt), claim(receipt, "30.00")).status_code == 201
    last = insurer_api.post(entries_url(receipt), claim(receipt, "25.50"))
    assert last.status_code == 201 and last.json()["remainingAmount"] == "0.00"
    # when an employer then books even one fen of it
    response = employer_api.post(entries_url(receipt), claim(receipt, "0.01", kind="book_entry"))
    # then it is refused, naming who claimed it and when, first claim first
    body = error_of(response, 409, "ENTRY_EXCEEDS_REMAINING")
    assert [c["partyName"] for c in body["extra"]["claimedBy"]] == ["湖南省医疗保障局", "中国人寿湖南分公司"]
    assert "湖南省医疗保障局已于" in body["message"] and "中国人寿湖南分公司已于" in body["message"]
    assert body["extra"]["remainingAmount"] == "0.00" and body["extra"]["requestedAmount"] == "0.01"
    assert _ledger_matches_entries(receipt) == Decimal("55.50")


def test_an_amount_above_what_remains_is_refused(
    insurance_api: SignedClient, insurer_api: SignedClient, receipt: Receipt
) -> None:
    assert insurance_api.post(entries_url(receipt), claim(receipt, "50.00")).status_code == 201
    body = error_of(insurer_api.post(entries_url(receipt), claim(receipt, "5.51")), 409, "ENTRY_EXCEEDS_REMAINING")
    assert body["extra"]["remainingAmount"] == "5.50"
    assert body["extra"]["claimedBy"][0]["amount"] == "50.00"
    # exactly what remains is accepted
    assert insurer_api.post(entries_url(receipt), claim(receipt, "5.50")).status_code == 201


def test_an_amount_above_the_total_is_refused(insurer_api: SignedClient, receipt: Receipt) -> None:
    body = error_of(insurer_api.post(entries_url(receipt), claim(receipt, "55.51")), 409, "ENTRY_EXCEEDS_REMAINING")
    assert body["extra"]["claimedBy"] == [] and "超过票据金额 55.50 元" in body["message"]


def test_the_same_party_is_refused_a_second_entry_naming_the_first(
    insurer_api: SignedClient, insurer: ReimbursingParty, receipt: Receipt
) -> None:
    # given the insurer reimbursed 20.00 of the receipt
    first = insurer_api.post(entries_url(receipt), claim(receipt, "20.00")).json()["entry"]
    # when it tries to enter the same receipt again (even for what remains)
    response = insurer_api.post(entries_url(receipt), claim(receipt, "10.00", reference="LP-2"))
    # then it is refused, naming its first entry
    body = error_of(response, 409, "ENTRY_DUPLICATE")
    assert body["extra"]["entryId"] == first["entryId"]
    assert body["extra"]["amount"] == "20.00" and body["extra"]["reference"] == "LP-2026-0001"
    assert f"记录编号 {first['entryId']}" in body["message"] and "20.00 元" in body["message"]
    assert ReceiptEntry.objects.filter(party=insurer).count() == 1


def test_the_database_refuses_a_second_active_entry_of_one_party(insurer: ReimbursingParty, receipt: Receipt) -> None:
    # the partial unique constraint holds even for a write that skipped the service
    values = {"receipt": receipt, "party": insurer, "kind": "reimbursement", "entry_date": receipt.issue_date}
    ReceiptEntry.objects.create(**values, amount=Decimal("1.00"), entered_at=receipt.issued_at, entered_by="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceiptEntry.objects.create(**values, amount=Decimal("2.00"), entered_at=receipt.issued_at, entered_by="t")


def test_the_database_refuses_a_ledger_claimed_beyond_its_total(receipt: Receipt) -> None:
    ReceiptLedger.objects.create(receipt=receipt, total_amount=receipt.total_amount)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceiptLedger.objects.filter(receipt=receipt).update(claimed_amount=Decimal("55.51"))


def test_cancelling_frees_the_amount_and_allows_a_new_entry(
    insurer_api: SignedClient, employer_api: SignedClient, receipt: Receipt
) -> None:
    # given the insurer claimed the whole receipt
    entry_id = insurer_api.post(entries_url(receipt), claim(receipt, "55.50")).json()["entry"]["entryId"]
    error_of(employer_api.post(entries_url(receipt), claim(receipt, "55.50")), 409, "ENTRY_EXCEEDS_REMAINING")
    # when it cancels its entry
    assert insurer_api.post(cancel_url(receipt, entry_id), {"reason": "理赔撤回"}).status_code == 200
    # then the amount is free again: the employer may book it, and the insurer may enter anew
    assert employer_api.post(entries_url(receipt), claim(receipt, "50.00", kind="book_entry")).status_code == 201
    assert insurer_api.post(entries_url(receipt), claim(receipt, "5.50")).status_code == 201
    assert _ledger_matches_entries(receipt) == Decimal("55.50")
    assert ReceiptEntry.objects.filter(receipt=receipt, status="cancelled").count() == 1


def test_entries_and_cancellations_are_audited(insurer_api: SignedClient, receipt: Receipt) -> None:
    entry_id = insurer_api.post(entries_url(receipt), claim(receipt, "10.00")).json()["entry"]["entryId"]
    insurer_api.post(cancel_url(receipt, entry_id), {"reason": "误操作"})
    events = AuditEvent.objects.filter(object_type="receipt_entry", object_id=str(entry_id)).order_by("id")
    assert [(e.action, e.actor) for e in events] == [
        ("receipt_entry.create", insurer_api.app_id),
        ("receipt_entry.cancel", insurer_api.app_id),
    ]
    assert events[0].unit_code == receipt.unit.code and events[0].data["amount"] == "10.00"
    assert events[1].data["reason"] == "误操作"


def test_a_red_offset_receipt_cannot_be_entered(insurer_api: SignedClient, receipt: Receipt) -> None:
    # given a receipt red-offset (refunded), and its red receipt
    red, _ = receipt_red_offset(receipt=receipt, reason="退费", actor=ACTOR, source=Receipt.Source.API)
    # then neither can be entered
    body = error_of(insurer_api.post(entries_url(receipt), claim(receipt, "10.00")), 409, "ENTRY_RECEIPT_RED_OFFSET")
    assert body["extra"]["status"] == "red_offset"
    assert not ReceiptEntry.objects.exists()
    assert red.is_red


def test_a_sandbox_receipt_cannot_be_entered(insurer_api: SignedClient, sandbox_receipt: Receipt) -> None:
    error_of(insurer_api.post(entries_url(sandbox_receipt), claim(sandbox_receipt, "10.00")), 404, "NO_SUCH_RECEIPT")


def test_a_paper_converted_receipt_may_still_be_entered(insurer_api: SignedClient, receipt: Receipt) -> None:
    receipt_transition(receipt=receipt, target="paper_converted", actor=ACTOR)
    assert insurer_api.post(entries_url(receipt), claim(receipt, "10.00")).status_code == 201


def test_the_public_page_and_the_api_count_verifications_together(
    client: Any, insurer_api: SignedClient, receipt: Receipt
) -> None:
    client.get(qr_url(receipt))
    assert insurer_api.get(detail(receipt)).json()["verificationCount"] == 2
