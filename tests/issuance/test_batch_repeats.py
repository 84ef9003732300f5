"""A busNo repeated inside one batch."""

from __future__ import annotations

from typing import Any

from issuance.models import Receipt
from tests.conftest import nontax_payload

BATCH = "/api/v1/receipts/batch"


def test_a_repeat_with_other_content_after_a_failed_first_is_issued_on_its_own(api: Any) -> None:
    # given a batch whose first request for busNo X breaks a rule and whose second is valid
    broken = nontax_payload("X1", totalAmount="1.00")
    valid = nontax_payload("X1")
    # when it is issued
    body = api.post(BATCH, {"receipts": [broken, valid]}).json()
    # then the first fails and the second gets its receipt
    assert [r["result"] for r in body["results"]] == ["failed", "created"]
    assert body["results"][0]["error"]["code"] == "TOTAL_MISMATCH"
    assert Receipt.objects.get(bus_no="X1").receipt_code == body["results"][1]["receipt"]["receiptCode"]


def test_a_repeat_with_the_same_content_as_a_failed_first_fails_the_same_way(api: Any) -> None:
    broken = nontax_payload("X2", totalAmount="1.00")
    body = api.post(BATCH, {"receipts": [broken, broken]}).json()
    assert [r["error"]["code"] for r in body["results"]] == ["TOTAL_MISMATCH", "TOTAL_MISMATCH"]
    assert not Receipt.objects.exists()
