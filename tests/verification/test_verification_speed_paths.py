"""What makes a verification fast stays correct: the one-statement counter (exact under concurrency, also
with its relaxed commit on PostgreSQL), the single receipt query (its state of trust and its entries
flag), the hand-built answer body (the serializer's, byte for byte), and the statement count."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from issuance.models import Receipt
from tests.support.api import SignedClient
from tests.verification.conftest import ACTOR
from verification.apis import PublicReceiptApi, answer_payload
from verification.foreign import foreign_answer_get
from verification.models import ReceiptEntry, ReimbursingParty, VerificationCounter
from verification.selectors import (
    _verdict_key,
    receipt_answer_get,
    receipt_find_by_elements,
    trust_generation,
)
from verification.services import entry_record, verification_count_increment
from zhongtai.national.client import ForeignReceipt
from zhongtai.signing.services import certificate_revoke


def _found(receipt: Receipt) -> Receipt:
    found = receipt_find_by_elements(
        receipt_code=receipt.receipt_code, number=receipt.number, check_code=receipt.check_code
    )
    assert found is not None
    return found


# --- the counter ----------------------------------------------------------------------------------


def test_the_counter_counts_from_one(receipt: Receipt) -> None:
    assert [verification_count_increment(receipt=receipt) for _ in range(3)] == [1, 2, 3]
    counter = VerificationCounter.objects.get(receipt=receipt)
    assert counter.count == 3 and counter.last_verified_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_counter_commits_each_increment(receipt: Receipt) -> None:
    # outside any transaction (as a request runs it): on PostgreSQL the relaxed, one-message commit
    assert not connection.in_atomic_block
    assert verification_count_increment(receipt=receipt) == 1
    assert verification_count_increment(receipt=receipt) == 2
    # then another connection sees both increments at once
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count FROM verification_verificationcounter WHERE receipt_id = %s", [receipt.pk])
            assert cursor.fetchone()[0] == 2
    finally:
        other.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_relaxed_commit_touches_only_the_increment(receipt: Receipt) -> None:
    verification_count_increment(receipt=receipt)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_checks_count_every_one(receipt: Receipt) -> None:
    # given 8 threads that each verify the receipt 25 times, all starting together on a receipt never checked
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    seen: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait()
            counts = [verification_count_increment(receipt=receipt) for _ in range(per_thread)]
            with lock:
                seen.extend(counts)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # then no increment was lost and each caller was told a different count
    assert VerificationCounter.objects.get(receipt=receipt).count == threads * per_thread
    assert sorted(seen) == list(range(1, threads * per_thread + 1))


# --- the receipt query ----------------------------------------------------------------------------


def test_the_found_receipt_carries_what_the_answer_needs(receipt: Receipt) -> None:
    found = _found(receipt)
    assert (found.kind.code, found.kind.name) == (receipt.kind.code, receipt.kind.name)
    assert (found.unit.name, found.unit.credit_code, found.unit.code) == (
        receipt.unit.name,
        receipt.unit.credit_code,
        receipt.unit.code,
    )
    assert (found.issue_date, found.total_amount, found.signed_at) == (
        receipt.issue_date,
        receipt.total_amount,
        receipt.signed_at,
    )
    assert found.trust_generation == trust_generation() and found.has_active_entries is False
    # and a column it does not read is loaded when asked for
    assert found.payee_name == receipt.payee_name


def test_the_verdict_key_changes_with_a_revocation(receipt: Receipt, pki: dict[str, Any]) -> None:
    before = _verdict_key(_found(receipt))
    certificate_revoke(certificate=pki["unit_cert"], reason="key_compromise", actor=ACTOR)
    after = _found(receipt)
    assert _verdict_key(after) != before and _verdict_key(after) == _verdict_key(after, trust_generation())


def test_the_entries_flag_follows_the_entries(receipt: Receipt, insurer: ReimbursingParty) -> None:
    entry_record(
        party=insurer,
        receipt=receipt,
        kind=ReceiptEntry.Kind.REIMBURSEMENT,
        amount=Decimal("5.00"),
        entry_date=receipt.issue_date,
        reference="",
        actor=ACTOR,
    )
    found = _found(receipt)
    assert found.has_active_entries is True
    entries = receipt_answer_get(receipt=found, verification_count=1).entries
    assert entries.reimbursed and entries.claimed_amount == Decimal("5.00")


def test_a_verification_runs_two_statements_on_postgresql(insurer_api: SignedClient, receipt: Receipt) -> None:
    url = f"/api/v1/public/receipts/{receipt.receipt_code}/{receipt.number_text}?checkCode={receipt.check_code}"
    insurer_api.get(url)  # the verdict is computed and cached once
    # when the receipt is verified again
    with CaptureQueriesContext(connection) as queries:
        assert insurer_api.get(url).status_code == 200
    # then: the credential, and the receipt (with trust and entries) counted in the same statement on
    # PostgreSQL (the counter apart elsewhere) — besides the nonce claim and the verdict, which are
    # Redis in production and tables in the SQLite pass
    elsewhere = ("erec_cache", "gateway_usednonce", "SAVEPOINT")
    statements = [q["sql"] for q in queries.captured_queries if not any(word in q["sql"] for word in elsewhere)]
    expected = 2 if connection.vendor == "postgresql" else 3
    assert len(statements) == expected, "\n".join(s[:90] for s in statements)


# --- the answer body ------------------------------------------------------------------------------


def _same_as_serializer(answer: Any) -> None:
    assert answer_payload(answer) == dict(PublicReceiptApi.OutputSerializer(answer).data)


def test_the_body_is_the_serializers_for_a_plain_receipt(receipt: Receipt) -> None:
    _same_as_serializer(receipt_answer_get(receipt=_found(receipt), verification_count=7))


def test_the_body_is_the_serializers_with_entries(
    receipt: Receipt, insurer: ReimbursingParty, insurance: ReimbursingParty
) -> None:
    for party, amount in ((insurer, "10.01"), (insurance, "0.49")):
        entry_record(
            party=party,
            receipt=receipt,
            kind=ReceiptEntry.Kind.BOOK_ENTRY,
            amount=Decimal(amount),
            entry_date=receipt.issue_date,
            reference="PZ",
            actor=ACTOR,
        )
    answer = receipt_answer_get(receipt=_found(receipt), verification_count=2, party=insurer)
    assert len(answer.entries.entries) == 2
    _same_as_serializer(answer)


def test_the_body_is_the_serializers_for_a_foreign_receipt(receipt: Receipt) -> None:
    # a foreign answer, built from a real data file of ours standing in for the national platform's
    with receipt.datafile.open("rb") as handle:
        content = handle.read()
    found = ForeignReceipt(
        province="420000",
        receipt_code=receipt.receipt_code,
        number=receipt.number,
        check_code=receipt.check_code,
        issue_date=receipt.issue_date,
        total_amount=receipt.total_amount,
        unit_code=receipt.unit.code,
        unit_name=receipt.unit.name,
        kind_code=receipt.kind.code,
        is_red=False,
        status="reimbursed",
        statuses=("reimbursed",),
        genuine=True,
        checked_at=receipt.signed_at,
        datafile=content,
    )
    answer = foreign_answer_get(found=found)
    assert answer.verdict.genuine and answer.entries.reimbursed and answer.entries.claimed_amount is None
    _same_as_serializer(answer)
