"""The verification API counts each successful check exactly once, in the receipt's own statement on
PostgreSQL (a data-modifying CTE) and with two statements elsewhere: never for a wrong check code, a
missing, sandbox or unsigned receipt; exact under concurrency; the relaxed commit only for itself."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from issuance.models import Receipt
from tests.support.api import SignedClient
from tests.verification.conftest import wrong_check_code
from verification.models import VerificationCounter
from verification.services import receipt_verify_counted


def _url(receipt: Receipt, check_code: str | None = None) -> str:
    code = receipt.check_code if check_code is None else check_code
    return f"/api/v1/public/receipts/{receipt.receipt_code}/{receipt.number_text}?checkCode={code}"


def _counted(receipt: Receipt) -> int | None:
    return VerificationCounter.objects.filter(receipt=receipt).values_list("count", flat=True).first()


def test_each_successful_check_counts_once(insurer_api: SignedClient, receipt: Receipt) -> None:
    # given a receipt never verified; when it is verified three times (once with the check code in capitals)
    counts = [insurer_api.get(_url(receipt)).json()["verificationCount"] for _ in range(2)]
    counts.append(insurer_api.get(_url(receipt, receipt.check_code.upper())).json()["verificationCount"])
    # then each answer tells its own count and the counter holds three
    assert counts == [1, 2, 3]
    counter = VerificationCounter.objects.get(receipt=receipt)
    assert counter.count == 3 and counter.last_verified_at is not None


@pytest.mark.parametrize("case", ["wrong check code", "missing", "sandbox", "unsigned"])
def test_a_miss_counts_nothing(
    insurer_api: SignedClient, receipt: Receipt, sandbox_receipt: Receipt, unsigned_receipt: Receipt, case: str
) -> None:
    # given a receipt verified once
    assert insurer_api.get(_url(receipt)).status_code == 200
    url = {
        "wrong check code": _url(receipt, wrong_check_code(receipt)),
        "missing": f"/api/v1/public/receipts/{receipt.receipt_code}/0000099999?checkCode={receipt.check_code}",
        "sandbox": _url(sandbox_receipt),
        "unsigned": _url(unsigned_receipt),
    }[case]
    # when the miss is asked for
    assert insurer_api.get(url).status_code == 404
    # then no counter moved and none was created
    assert _counted(receipt) == 1
    assert _counted(sandbox_receipt) is None and _counted(unsigned_receipt) is None
    assert VerificationCounter.objects.count() == 1


def test_the_service_answers_none_for_a_wrong_check_code(receipt: Receipt) -> None:
    missed = receipt_verify_counted(
        receipt_code=receipt.receipt_code, number=receipt.number, check_code=wrong_check_code(receipt)
    )
    assert missed is None and _counted(receipt) is None
    found = receipt_verify_counted(
        receipt_code=receipt.receipt_code, number=receipt.number, check_code=receipt.check_code
    )
    assert found is not None and found[0].pk == receipt.pk and found[1] == 1


@pytest.mark.postgres
def test_on_postgresql_the_receipt_and_the_count_are_one_statement(receipt: Receipt) -> None:
    with CaptureQueriesContext(connection) as queries:
        found = receipt_verify_counted(
            receipt_code=receipt.receipt_code, number=receipt.number, check_code=receipt.check_code
        )
    assert found is not None and found[1] == 1
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 and statements[0].startswith("WITH a AS (")
    # inside a caller's transaction (the test's) the relaxed commit is left out: it would cover all of it
    assert "synchronous_commit" not in statements[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_relaxed_commit_covers_only_the_verification(receipt: Receipt) -> None:
    # given no caller's transaction (as a request runs it)
    assert not connection.in_atomic_block
    # when the receipt is verified twice
    counts = [
        receipt_verify_counted(receipt_code=receipt.receipt_code, number=receipt.number, check_code=receipt.check_code)
        for _ in range(2)
    ]
    assert [found[1] for found in counts if found is not None] == [1, 2]
    # then the session's setting is untouched and another connection sees both increments at once
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count FROM verification_verificationcounter WHERE receipt_id = %s", [receipt.pk])
            assert cursor.fetchone()[0] == 2
    finally:
        other.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_verifications_count_every_one(receipt: Receipt) -> None:
    # given 8 threads that each verify the receipt 25 times, all starting together on a receipt never
    # checked, with a wrong check code between successful checks
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    seen: list[int] = []
    lock = threading.Lock()
    elements = {"receipt_code": receipt.receipt_code, "number": receipt.number}

    def work() -> None:
        try:
            barrier.wait()
            counts = []
            for _ in range(per_thread):
                found = receipt_verify_counted(**elements, check_code=receipt.check_code)
                assert found is not None
                counts.append(found[1])
                assert receipt_verify_counted(**elements, check_code=wrong_check_code(receipt)) is None
            with lock:
                seen.extend(counts)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # then no increment was lost, none added by a miss, and each caller was told a different count
    assert _counted(receipt) == threads * per_thread
    assert sorted(seen) == list(range(1, threads * per_thread + 1))
