"""Two parties claim the last remaining amount of a receipt at the same moment (PostgreSQL, real row locks)."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from issuance.jobs import receipt_step_run_now
from issuance.models import Receipt, ReceiptJob, SignStatus
from tests.conftest import nontax_payload
from tests.issuance.conftest import issue_direct
from tests.verification.conftest import ACTOR
from verification.models import ReceiptEntry, ReceiptLedger, ReimbursingParty
from verification.services import entry_record
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _claim(party: ReimbursingParty, receipt_id: int, amount: Decimal, start: threading.Barrier) -> dict[str, Any]:
    """One party's claim, in its own thread and therefore on its own database connection."""
    try:
        receipt = Receipt.objects.get(pk=receipt_id)
        start.wait(timeout=10)
        outcome = entry_record(
            party=party,
            receipt=receipt,
            kind=ReceiptEntry.Kind.REIMBURSEMENT,
            amount=amount,
            entry_date=receipt.issue_date,
            reference=f"RACE-{party.pk}",
            actor=Actor.api_client(f"race-{party.pk}"),
        )
        return {"party": party.name, "entry": outcome.entry.pk, "error": None}
    except ApplicationError as exc:
        return {"party": party.name, "entry": None, "error": exc}
    finally:
        connection.close()


@pytest.mark.parametrize("round_", range(3))
def test_two_parties_claiming_the_last_amount_at_once_get_one_success_and_one_named_refusal(
    unit: Any,
    pki: Any,
    insurance: ReimbursingParty,
    insurer: ReimbursingParty,
    employer: ReimbursingParty,
    round_: int,
) -> None:
    # given a signed 55.50 receipt of which the medical insurance already paid 40.00
    receipt = issue_direct(unit, nontax_payload(f"RACE-{round_}"))
    receipt_step_run_now(receipt=receipt, step=ReceiptJob.Step.SIGN)
    receipt.refresh_from_db()
    assert receipt.sign_status == SignStatus.SIGNED
    entry_record(
        party=insurance,
        receipt=receipt,
        kind=ReceiptEntry.Kind.REIMBURSEMENT,
        amount=Decimal("40.00"),
        entry_date=receipt.issue_date,
        reference="YB-1",
        actor=ACTOR,
    )
    # when the insurer and the employer both claim the last 15.50 at the same moment
    start = threading.Barrier(2)
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda p=party: results.append(_claim(p, receipt.pk, Decimal("15.50"), start)))
        for party in (insurer, employer)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then exactly one succeeds
    assert len(results) == 2
    won = [r for r in results if r["error"] is None]
    lost = [r for r in results if r["error"] is not None]
    assert len(won) == 1 and len(lost) == 1, results
    # and the other is refused with a message and extra naming who claimed first, and when
    error = lost[0]["error"]
    assert error.code == "ENTRY_EXCEEDS_REMAINING" and error.status_code == 409
    winner = ReceiptEntry.objects.select_related("party").get(pk=won[0]["entry"])
    assert winner.party.name == won[0]["party"]
    assert winner.party.name in error.message and "已于" in error.message
    assert [c["partyName"] for c in error.extra["claimedBy"]] == [insurance.name, winner.party.name]
    assert error.extra["claimedBy"][1]["enteredAt"] == timezone.localtime(winner.entered_at).isoformat()
    # and the receipt is claimed exactly once in full
    ledger = ReceiptLedger.objects.get(receipt=receipt)
    assert ledger.claimed_amount == Decimal("55.50") == receipt.total_amount
    assert ReceiptEntry.objects.filter(receipt=receipt, status="active").count() == 2
