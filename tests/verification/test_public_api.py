"""The reimbursing parties' API, per endpoint: it works; another party's data is a 404; a read-only
credential gets 403; bad input gets the documented error; the wrong method is refused; and parties
authenticate exactly as interface units sign."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from issuance.models import Receipt
from tests.issuance.conftest import error_of, fields_of
from tests.support.api import SignedClient
from tests.support.parties import client_for
from tests.verification.conftest import ACTOR, wrong_check_code
from verification.models import PartyCredential, ReceiptEntry, ReimbursingParty
from verification.services import entry_record, party_credential_revoke, party_update


def detail(receipt: Receipt, check_code: str | None = None, tail: str = "") -> str:
    code = receipt.check_code if check_code is None else check_code
    return f"/api/v1/public/receipts/{receipt.receipt_code}/{receipt.number_text}{tail}?checkCode={code}"


def entries_url(receipt: Receipt) -> str:
    return f"/api/v1/public/receipts/{receipt.receipt_code}/{receipt.number_text}/entries"


def cancel_url(receipt: Receipt, entry_id: int | str) -> str:
    return f"{entries_url(receipt)}/{entry_id}/cancel"


def claim(receipt: Receipt, amount: str, **overrides: Any) -> dict[str, Any]:
    return {
        "checkCode": receipt.check_code,
        "kind": "reimbursement",
        "amount": amount,
        "entryDate": receipt.issue_date.isoformat(),
        "reference": "LP-2026-0001",
        **overrides,
    }


def _entered(party: ReimbursingParty, receipt: Receipt, amount: str) -> ReceiptEntry:
    return entry_record(
        party=party,
        receipt=receipt,
        kind=ReceiptEntry.Kind.BOOK_ENTRY,
        amount=Decimal(amount),
        entry_date=receipt.issue_date,
        reference="PZ-1",
        actor=ACTOR,
    ).entry


# --- GET /public/receipts/{code}/{number} -------------------------------------------------------


def test_a_party_verifies_a_receipt_it_holds(insurer_api: SignedClient, receipt: Receipt) -> None:
    response = insurer_api.get(detail(receipt))
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    assert body["genuine"] is True and body["failureReason"] == ""
    assert (body["receiptCode"], body["receiptNumber"], body["checkCode"]) == (
        receipt.receipt_code,
        receipt.number_text,
        receipt.check_code,
    )
    assert body["totalAmount"] == "55.50" and body["claimedAmount"] == "0.00" and body["remainingAmount"] == "55.50"
    assert body["status"] == "issued" and body["statusLabel"] == "正常" and body["reimbursed"] is False
    assert body["payerName"] == "张三" and body["unitName"] == receipt.unit.name
    assert body["verificationCount"] == 1 and body["entries"] == []
    assert {check["name"] for check in body["checks"]} >= {"unit_signature", "supervisor_signature"}
    assert all(check["ok"] is True for check in body["checks"])


def test_the_answer_shows_the_entries_and_which_are_mine(
    insurer_api: SignedClient, insurer: ReimbursingParty, insurance: ReimbursingParty, receipt: Receipt
) -> None:
    # given a receipt claimed in part by the medical insurance and by the insurer
    _entered(insurance, receipt, "30.00")
    mine = _entered(insurer, receipt, "20.00")
    body = insurer_api.get(detail(receipt)).json()
    # then the totals and both entries are shown; only the caller's own entry carries its id
    assert (body["claimedAmount"], body["remainingAmount"]) == ("50.00", "5.50")
    assert body["reimbursed"] is True and body["statusLabel"] == "已报销"
    rows = [(e["partyName"], e["amount"], e["mine"], e["entryId"]) for e in body["entries"]]
    assert rows == [(insurance.name, "30.00", False, None), (insurer.name, "20.00", True, mine.pk)]


@pytest.mark.parametrize("case", ["wrong check code", "missing", "sandbox", "unsigned"])
def test_every_miss_is_the_same_404(
    insurer_api: SignedClient, receipt: Receipt, sandbox_receipt: Receipt, unsigned_receipt: Receipt, case: str
) -> None:
    url = {
        "wrong check code": detail(receipt, wrong_check_code(receipt)),
        "missing": f"/api/v1/public/receipts/{receipt.receipt_code}/0000099999?checkCode={receipt.check_code}",
        "sandbox": detail(sandbox_receipt),
        "unsigned": detail(unsigned_receipt),
    }[case]
    body = error_of(insurer_api.get(url), 404, "NO_SUCH_RECEIPT")
    assert body == {"code": "NO_SUCH_RECEIPT", "message": "查无此票。", "extra": {}}


def test_the_check_code_is_required(insurer_api: SignedClient, receipt: Receipt) -> None:
    url = f"/api/v1/public/receipts/{receipt.receipt_code}/{receipt.number_text}"
    assert fields_of(insurer_api.get(url)) == {"checkCode": "请提供校验码（6 位十六进制）。"}
    assert set(fields_of(insurer_api.get(detail(receipt, "xyz")))) == {"checkCode"}
    assert set(fields_of(insurer_api.get("/api/v1/public/receipts/4301/12?checkCode=abcdef"))) == {
        "receiptCode",
        "receiptNumber",
    }


def test_verifying_is_a_get(insurer_api: SignedClient, receipt: Receipt) -> None:
    error_of(insurer_api.post(detail(receipt), {}), 405, "METHOD_NOT_ALLOWED")


def test_a_read_only_credential_may_verify(read_only_insurer_api: SignedClient, receipt: Receipt) -> None:
    assert read_only_insurer_api.get(detail(receipt)).status_code == 200


# --- GET …/datafile -----------------------------------------------------------------------------


def test_a_party_downloads_the_signed_data_file(insurer_api: SignedClient, receipt: Receipt) -> None:
    response = insurer_api.get(detail(receipt, tail="/datafile"))
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    receipt.refresh_from_db()
    assert response.content == receipt.datafile.read()


def test_the_data_file_needs_the_check_code(insurer_api: SignedClient, receipt: Receipt) -> None:
    error_of(insurer_api.get(detail(receipt, wrong_check_code(receipt), "/datafile")), 404, "NO_SUCH_RECEIPT")
    error_of(insurer_api.post(detail(receipt, tail="/datafile"), {}), 405, "METHOD_NOT_ALLOWED")


# --- POST …/entries -----------------------------------------------------------------------------


def test_a_party_records_an_entry(insurer_api: SignedClient, insurer: ReimbursingParty, receipt: Receipt) -> None:
    response = insurer_api.post(entries_url(receipt), claim(receipt, "20.00"))
    assert response.status_code == 201, response.content.decode()
    body = response.json()
    entry = ReceiptEntry.objects.get(receipt=receipt, party=insurer)
    assert body["entry"]["entryId"] == entry.pk
    assert body["entry"]["kind"] == "reimbursement" and body["entry"]["kindLabel"] == "报销"
    assert body["entry"]["amount"] == "20.00" and body["entry"]["status"] == "active"
    assert body["entry"]["reference"] == "LP-2026-0001"
    assert (body["totalAmount"], body["claimedAmount"], body["remainingAmount"]) == ("55.50", "20.00", "35.50")
    assert entry.amount == Decimal("20.00") and entry.entered_by == insurer_api.app_id


def test_amounts_are_exact_decimals(insurer_api: SignedClient, receipt: Receipt) -> None:
    # a JSON number is read as a Decimal, never a float: 0.1 + 0.2 is claimed exactly
    response = insurer_api.request(
        "POST",
        entries_url(receipt),
        raw=(
            f'{{"checkCode": "{receipt.check_code}", "kind": "book_entry", "amount": 0.30, '
            f'"entryDate": "{receipt.issue_date.isoformat()}"}}'
        ).encode(),
    )
    assert response.status_code == 201, response.content.decode()
    assert response.json()["remainingAmount"] == "55.20"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"kind": "refund"}, "kind"),
        ({"entryDate": "2026/01/01"}, "entryDate"),
        ({"checkCode": "xyz"}, "checkCode"),
        ({"reference": "x" * 65}, "reference"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_entries_are_invalid_input(
    insurer_api: SignedClient, receipt: Receipt, overrides: dict[str, Any], field: str
) -> None:
    assert field in fields_of(insurer_api.post(entries_url(receipt), {**claim(receipt, "10.00"), **overrides}))
    assert not ReceiptEntry.objects.exists()


def test_an_entry_needs_the_check_code(insurer_api: SignedClient, receipt: Receipt) -> None:
    response = insurer_api.post(entries_url(receipt), claim(receipt, "10.00", checkCode=wrong_check_code(receipt)))
    error_of(response, 404, "NO_SUCH_RECEIPT")


def test_a_read_only_credential_cannot_record(read_only_insurer_api: SignedClient, receipt: Receipt) -> None:
    error_of(read_only_insurer_api.post(entries_url(receipt), claim(receipt, "10.00")), 403, "SCOPE_READ_ONLY")
    assert not ReceiptEntry.objects.exists()


def test_entries_are_posted(insurer_api: SignedClient, receipt: Receipt) -> None:
    error_of(insurer_api.get(entries_url(receipt)), 405, "METHOD_NOT_ALLOWED")


def test_an_entry_date_outside_the_receipt_life_is_refused(insurer_api: SignedClient, receipt: Receipt) -> None:
    body = error_of(
        insurer_api.post(entries_url(receipt), claim(receipt, "10.00", entryDate="2020-01-01")),
        422,
        "ENTRY_DATE_INVALID",
    )
    assert body["extra"]["issueDate"] == receipt.issue_date.isoformat()
    error_of(
        insurer_api.post(entries_url(receipt), claim(receipt, "1.00", entryDate="2999-01-01")),
        422,
        "ENTRY_DATE_INVALID",
    )


# --- POST …/entries/{id}/cancel ----------------------------------------------------------------


def test_a_party_cancels_its_entry(insurer_api: SignedClient, insurer: ReimbursingParty, receipt: Receipt) -> None:
    entry = _entered(insurer, receipt, "55.50")
    response = insurer_api.post(cancel_url(receipt, entry.pk), {"reason": "重复报销，退回"})
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    assert body["entry"]["status"] == "cancelled" and body["entry"]["cancelReason"] == "重复报销，退回"
    assert body["entry"]["cancelledAt"] is not None
    assert (body["claimedAmount"], body["remainingAmount"]) == ("0.00", "55.50")


def test_another_party_cannot_cancel_my_entry(
    insurer: ReimbursingParty, employer_api: SignedClient, receipt: Receipt
) -> None:
    entry = _entered(insurer, receipt, "10.00")
    error_of(employer_api.post(cancel_url(receipt, entry.pk), {"reason": "误操作"}), 404, "ENTRY_NOT_FOUND")
    entry.refresh_from_db()
    assert entry.status == ReceiptEntry.Status.ACTIVE


def test_an_entry_is_cancelled_only_under_its_own_receipt(
    insurer_api: SignedClient, insurer: ReimbursingParty, receipt: Receipt, medical_receipt: Receipt
) -> None:
    entry = _entered(insurer, receipt, "10.00")
    error_of(insurer_api.post(cancel_url(medical_receipt, entry.pk), {"reason": "x"}), 404, "ENTRY_NOT_FOUND")


def test_a_read_only_credential_cannot_cancel(
    insurer: ReimbursingParty, read_only_insurer_api: SignedClient, receipt: Receipt
) -> None:
    entry = _entered(insurer, receipt, "10.00")
    error_of(read_only_insurer_api.post(cancel_url(receipt, entry.pk), {"reason": "x"}), 403, "SCOPE_READ_ONLY")


def test_bad_cancellations(insurer_api: SignedClient, insurer: ReimbursingParty, receipt: Receipt) -> None:
    entry = _entered(insurer, receipt, "10.00")
    assert set(fields_of(insurer_api.post(cancel_url(receipt, entry.pk), {"reason": ""}))) == {"reason"}
    assert set(fields_of(insurer_api.post(cancel_url(receipt, entry.pk), {}))) == {"reason"}
    assert set(fields_of(insurer_api.post(cancel_url(receipt, "abc"), {"reason": "x"}))) == {"entryId"}
    error_of(insurer_api.get(cancel_url(receipt, entry.pk)), 405, "METHOD_NOT_ALLOWED")
    # a second cancellation of the same entry is a conflict naming when it was cancelled
    assert insurer_api.post(cancel_url(receipt, entry.pk), {"reason": "误操作"}).status_code == 200
    body = error_of(
        insurer_api.post(cancel_url(receipt, entry.pk), {"reason": "误操作"}), 409, "ENTRY_ALREADY_CANCELLED"
    )
    assert body["extra"]["entryId"] == entry.pk


# --- GET /public/entries ------------------------------------------------------------------------


def test_a_party_lists_only_its_own_entries(
    insurer_api: SignedClient,
    insurer: ReimbursingParty,
    insurance: ReimbursingParty,
    receipt: Receipt,
    medical_receipt: Receipt,
) -> None:
    # given entries of the insurer on two receipts, and one of another party
    first = _entered(insurer, receipt, "10.00")
    second = _entered(insurer, medical_receipt, "25.00")
    _entered(insurance, receipt, "5.00")
    # then the insurer sees its two, oldest first; filters narrow them
    body = insurer_api.get("/api/v1/public/entries").json()
    assert body["count"] == 2 and [row["entryId"] for row in body["results"]] == [first.pk, second.pk]
    query = f"receiptCode={medical_receipt.receipt_code}&receiptNumber={medical_receipt.number_text}"
    assert [row["entryId"] for row in insurer_api.get(f"/api/v1/public/entries?{query}").json()["results"]] == [
        second.pk
    ]
    assert insurer_api.get("/api/v1/public/entries?since=2999-01-01").json()["count"] == 0
    assert insurer_api.get("/api/v1/public/entries?since=2020-01-01T00:00:00%2B08:00").json()["count"] == 2


def test_another_party_sees_none_of_mine(
    insurer: ReimbursingParty, employer_api: SignedClient, receipt: Receipt
) -> None:
    _entered(insurer, receipt, "10.00")
    assert employer_api.get("/api/v1/public/entries").json() == {"count": 0, "page": 1, "pageSize": 100, "results": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("receiptCode=4301", "receiptCode"),
        ("receiptNumber=12", "receiptNumber"),
        ("since=yesterday", "since"),
        ("since=2026-01-01T00:00:00", "since"),
        ("page=0", "page"),
        ("pageSize=501", "pageSize"),
    ],
)
def test_bad_list_queries(insurer_api: SignedClient, query: str, field: str) -> None:
    assert field in fields_of(insurer_api.get(f"/api/v1/public/entries?{query}"))


def test_the_list_is_a_get_that_read_only_credentials_may_use(
    insurer_api: SignedClient, read_only_insurer_api: SignedClient
) -> None:
    error_of(insurer_api.post("/api/v1/public/entries", {}), 405, "METHOD_NOT_ALLOWED")
    assert read_only_insurer_api.get("/api/v1/public/entries").status_code == 200


# --- authentication ----------------------------------------------------------------------------


def test_an_unsigned_request_is_refused(client: Any, receipt: Receipt) -> None:
    error_of(client.get(detail(receipt)), 401, "AUTH_REQUIRED")


def test_an_interface_unit_credential_does_not_open_the_public_api(api: SignedClient, receipt: Receipt) -> None:
    # an interface unit's valid credential is unknown here (and a party's unknown to the unit API)
    error_of(api.get(detail(receipt)), 401, "AUTH_UNKNOWN_APP")


def test_a_party_credential_does_not_open_the_unit_api(insurer_api: SignedClient, receipt: Receipt) -> None:
    error_of(insurer_api.get(f"/api/v1/receipts/{receipt.receipt_code}/{receipt.number_text}"), 401, "AUTH_UNKNOWN_APP")


def test_a_bad_signature_and_a_replayed_nonce_are_refused(insurer_api: SignedClient, receipt: Receipt) -> None:
    wrong = SignedClient(insurer_api.app_id, "not-the-secret")
    error_of(wrong.get(detail(receipt)), 401, "AUTH_BAD_SIGNATURE")
    nonce = "replay-nonce-0000000001"
    assert insurer_api.get(detail(receipt), nonce=nonce).status_code == 200
    response = insurer_api.get(detail(receipt), nonce=nonce)
    error_of(response, 401, "AUTH_NONCE_REPLAYED")
    assert response["WWW-Authenticate"] == "EREC-HMAC-SHA256"


def test_a_stale_timestamp_is_refused(insurer_api: SignedClient, receipt: Receipt) -> None:
    body = error_of(insurer_api.get(detail(receipt), timestamp=1_000_000_000), 401, "AUTH_STALE_TIMESTAMP")
    assert "serverTime" in body["extra"]


def test_a_revoked_credential_is_refused(insurer: ReimbursingParty, receipt: Receipt) -> None:
    client = client_for(insurer)
    party_credential_revoke(credential=PartyCredential.objects.get(app_id=client.app_id), actor=ACTOR)
    error_of(client.get(detail(receipt)), 401, "AUTH_CREDENTIAL_REVOKED")


def test_a_suspended_party_is_refused(insurer_api: SignedClient, insurer: ReimbursingParty, receipt: Receipt) -> None:
    party_update(party=insurer, changes={"status": ReimbursingParty.Status.SUSPENDED}, actor=ACTOR)
    error_of(insurer_api.get(detail(receipt)), 403, "PARTY_INACTIVE")
