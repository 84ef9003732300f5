"""Cross-province lookup, the status derived from the stored events, and the daily reconciliation."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest

from issuance.models import Receipt
from tests.natsim.conftest import issued_event, status_event
from tests.support.natsim import Natsim

NOT_FOUND = {"found": False, "code": "NOT_FOUND", "message": "查无此票"}


def lookup(sim: Natsim, code: str, number: int, **query: str) -> tuple[int, Any]:
    from urllib.parse import urlencode

    return sim.request("GET", f"/v1/receipts/{code}/{number}", query=urlencode(query))


@pytest.fixture
def stored(sim: Natsim, signed: Receipt, pki: dict[str, Any]) -> Receipt:
    _status, body = sim.post_events([issued_event(signed, pki)])
    assert body["results"][0]["status"] == "accepted"
    return signed


def test_a_stored_receipt_is_found_with_its_check_code(sim: Natsim, stored: Receipt) -> None:
    status, body = lookup(sim, stored.receipt_code, stored.number, checkCode=stored.check_code)

    assert status == 200, body
    assert body["found"] is True and body["genuine"] is True
    assert (body["province"], body["receiptCode"], body["number"]) == ("430000", stored.receipt_code, stored.number)
    assert body["totalAmount"] == f"{stored.total_amount:.2f}"
    assert body["issueDate"] == stored.issue_date.isoformat()
    assert (body["status"], body["statuses"]) == ("normal", ["normal"])
    assert (
        hashlib.sha256(__import__("base64").b64decode(body["dataFile"])).hexdigest()
        == hashlib.sha256(stored.datafile.open("rb").read()).hexdigest()
    )


def test_the_optional_date_and_amount_narrow_the_lookup(sim: Natsim, stored: Receipt) -> None:
    right = {
        "checkCode": stored.check_code,
        "issueDate": stored.issue_date.isoformat(),
        "totalAmount": f"{stored.total_amount:.2f}",
    }

    assert lookup(sim, stored.receipt_code, stored.number, **right)[0] == 200
    assert lookup(sim, stored.receipt_code, stored.number, **{**right, "issueDate": "2001-01-01"}) == (404, NOT_FOUND)
    wrong_amount = f"{stored.total_amount + Decimal('1'):.2f}"
    assert lookup(sim, stored.receipt_code, stored.number, **{**right, "totalAmount": wrong_amount}) == (404, NOT_FOUND)


def test_a_wrong_check_code_and_a_missing_receipt_get_the_same_answer(sim: Natsim, stored: Receipt) -> None:
    wrong = "000000" if stored.check_code != "000000" else "111111"

    wrong_code = lookup(sim, stored.receipt_code, stored.number, checkCode=wrong)
    missing = lookup(sim, stored.receipt_code, stored.number + 1, checkCode=stored.check_code)

    assert wrong_code == missing == (404, NOT_FOUND)


@pytest.mark.parametrize(
    ("code", "number", "query"),
    [
        ("4301012", "1", {"checkCode": "abcdef"}),
        ("43010126", "0", {"checkCode": "abcdef"}),
        ("43010126", "1", {}),
        ("43010126", "1", {"checkCode": "xyz"}),
        ("43010126", "1", {"checkCode": "abcdef", "issueDate": "2026-02-30"}),
        ("43010126", "1", {"checkCode": "abcdef", "totalAmount": "1.5"}),
        ("43010126", "1", {"checkCode": "abcdef", "other": "1"}),
    ],
)
def test_a_malformed_lookup_is_a_400(sim: Natsim, code: str, number: str, query: dict[str, str]) -> None:
    from urllib.parse import urlencode

    status, body = sim.request("GET", f"/v1/receipts/{code}/{number}", query=urlencode(query))

    assert (status, body["code"]) == (400, "INVALID_QUERY")
    assert body["message"]


@pytest.mark.parametrize(
    ("events", "status", "statuses"),
    [
        ([], "normal", ["normal"]),
        (["red_offset"], "red_offset", ["red_offset"]),
        (["paper_converted"], "paper_converted", ["paper_converted"]),
        (["paper_converted", "paper_recovered"], "normal", ["normal"]),
        (["entered"], "reimbursed", ["reimbursed"]),
        (["entered", "entry_cancelled"], "normal", ["normal"]),
        (["entered", "entered", "entry_cancelled"], "reimbursed", ["reimbursed"]),
        (["entered", "paper_converted"], "paper_converted", ["paper_converted", "reimbursed"]),
        (["paper_converted", "entered"], "reimbursed", ["paper_converted", "reimbursed"]),
        (["entered", "red_offset"], "red_offset", ["red_offset", "reimbursed"]),
    ],
)
def test_the_status_is_derived_from_the_stored_events(
    sim: Natsim, stored: Receipt, events: list[str], status: str, statuses: list[str]
) -> None:
    code, number = stored.receipt_code, stored.number
    batch = [status_event(code, number, seq, kind) for seq, kind in enumerate(events, start=2)]
    if batch:
        answer = sim.post_events(batch)[1]
        assert {result["status"] for result in answer["results"]} == {"accepted"}

    body = lookup(sim, code, number, checkCode=stored.check_code)[1]

    assert (body["status"], body["statuses"]) == (status, statuses)


def test_reconciliation_matches_a_hand_computation(sim: Natsim, stored: Receipt, pki: dict[str, Any]) -> None:
    day = stored.issue_date.isoformat()
    content = stored.datafile.open("rb").read()
    line = f"{stored.receipt_code}{stored.number:010d}:{hashlib.sha256(content).hexdigest()}\n"

    status, body = sim.request("GET", "/v1/reconciliation", query=f"date={day}")

    assert status == 200
    assert body == {
        "date": day,
        "province": "430000",
        "count": 1,
        "blueCount": 1,
        "redCount": 0,
        "amount": f"{stored.total_amount:.2f}",
        "digest": hashlib.sha256(line.encode()).hexdigest(),
    }
    listed = sim.request("GET", "/v1/reconciliation/receipts", query=f"date={day}")[1]
    assert listed["receipts"] == [
        {
            "receiptCode": stored.receipt_code,
            "number": stored.number,
            "dataFileSha256": hashlib.sha256(content).hexdigest(),
        }
    ]


def test_reconciliation_of_an_empty_day_is_the_digest_of_nothing(sim: Natsim) -> None:
    body = sim.request("GET", "/v1/reconciliation", query="date=2001-01-01")[1]

    assert (body["count"], body["amount"], body["digest"]) == (0, "0.00", hashlib.sha256(b"").hexdigest())


def test_reconciliation_counts_only_the_calling_province(sim: Natsim, stored: Receipt, tmp_path: Any) -> None:
    # given the demo receipts of Hubei and Guangdong stored in the same simulator
    from natsim.seed import seed_foreign

    foreign = seed_foreign(data_dir=sim.data_dir, count=6, out=__import__("io").StringIO())
    day = foreign[0]["issueDate"]

    body = sim.request("GET", "/v1/reconciliation", query=f"date={day}")[1]

    assert body["province"] == "430000"
    assert body["count"] == (1 if stored.issue_date.isoformat() == day else 0)


@pytest.mark.parametrize("query", ["", "date=20261127", "date=2026-13-01", "date=2026-11-27&x=1"])
def test_reconciliation_needs_a_valid_date(sim: Natsim, query: str) -> None:
    status, body = sim.request("GET", "/v1/reconciliation", query=query)

    assert (status, body["code"]) == (400, "INVALID_QUERY")
