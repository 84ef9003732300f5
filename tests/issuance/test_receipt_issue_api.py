from __future__ import annotations

from typing import Any

from issuance.models import Receipt
from tests.conftest import nontax_payload, outpatient_payload

ISSUE = "/api/v1/receipts/issue"


def test_issue_creates_a_numbered_receipt(api: Any) -> None:
    # given a signed request of an interface unit / when it issues
    response = api.post(ISSUE, nontax_payload())
    # then the receipt is numbered and totals are in capitals
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["receiptCode"].startswith("430101")
    assert body["receiptNumber"] == "0000000001"
    assert len(body["checkCode"]) == 6
    assert body["totalAmount"] == "55.50"
    assert body["totalAmountUpper"] == "伍拾伍元伍角整"
    assert [i["amount"] for i in body["items"]] == ["20.00", "35.50"]


def test_medical_receipt_with_split(api: Any) -> None:
    response = api.post(ISSUE, outpatient_payload())
    assert response.status_code == 201, response.json()
    assert response.json()["ext"]["fundPay"] == "15.00"


def test_same_bus_no_same_body_returns_original(api: Any) -> None:
    first = api.post(ISSUE, nontax_payload())
    again = api.post(ISSUE, nontax_payload())
    assert again.status_code == 200
    assert again.json()["receiptNumber"] == first.json()["receiptNumber"]
    assert Receipt.objects.count() == 1
