"""Simultaneous requests on PostgreSQL: one paper copy per receipt, one range per paper number."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from issuance.jobs import receipt_step_run_now
from issuance.models import Receipt, ReceiptJob, SignStatus
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.services import paper_stock_receive, receipt_paper_convert
from issuance.states import ReceiptStatus
from tests.issuance.paper.conftest import ACTOR, PAPER_CODE, issue_for
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _signed(unit: Unit, bus_no: str) -> Receipt:
    receipt = issue_for(unit, bus_no)
    receipt_step_run_now(receipt=receipt, step=ReceiptJob.Step.SIGN)  # a no-op if a worker already signed it
    receipt.refresh_from_db()
    assert receipt.sign_status == SignStatus.SIGNED
    return receipt


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads (own database connections) released at the same moment."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except ApplicationError as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_simultaneous_conversions_of_one_receipt_make_one_paper_copy(unit: Unit, pki: dict[str, Any]) -> None:
    # given a signed receipt and paper stock
    receipt = _signed(unit, "RACE0001")
    paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=1, end_number=10, actor=ACTOR)
    # when four requests convert it at the same moment (each with its own copy of the receipt)
    copies = [Receipt.objects.get(pk=receipt.pk) for _ in range(4)]
    results = _race([lambda r=r: receipt_paper_convert(receipt=r, actor=ACTOR) for r in copies])
    # then exactly one succeeds; the others are told it is already converted
    uses = [r for r in results if isinstance(r, PaperUse)]
    refusals = [r for r in results if isinstance(r, ApplicationError)]
    assert len(uses) == 1, results
    assert [e.code for e in refusals] == ["PAPER_ALREADY_CONVERTED"] * 3
    assert PaperUse.objects.filter(receipt=receipt).count() == 1
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.PAPER_CONVERTED


def test_simultaneous_conversions_of_different_receipts_get_different_numbers(unit: Unit, pki: dict[str, Any]) -> None:
    receipts = [_signed(unit, f"RACE1{n:03d}") for n in range(4)]
    paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=1, end_number=10, actor=ACTOR)
    results = _race([lambda r=r: receipt_paper_convert(receipt=r, actor=ACTOR) for r in receipts])
    assert all(isinstance(r, PaperUse) for r in results), results
    assert sorted(u.paper_number for u in results) == [1, 2, 3, 4]


def test_simultaneous_overlapping_ranges_are_recorded_once(unit: Unit, other_unit: Unit) -> None:
    # when two units record overlapping ranges of one paper code at the same moment
    results = _race(
        [
            lambda: paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=1, end_number=100, actor=ACTOR),
            lambda: paper_stock_receive(
                unit=other_unit, paper_code=PAPER_CODE, start_number=50, end_number=150, actor=ACTOR
            ),
        ]
    )
    # then one range is stored and the other refused as an overlap
    assert sum(isinstance(r, PaperStock) for r in results) == 1, results
    assert [r.code for r in results if isinstance(r, ApplicationError)] == ["PAPER_STOCK_OVERLAP"]
    assert PaperStock.objects.count() == 1
