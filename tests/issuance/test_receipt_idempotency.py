"""busNo is the idempotency key of a unit: the same request again returns the same receipt.

The request is compared by meaning (a digest of the parsed request), so key order,
whitespace and number formatting do not matter; other content under the same busNo
is a conflict that names the receipt the busNo already has.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from issuance.models import Receipt
from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import BATCH, ISSUE, error_of
from zhongtai.audit.models import AuditEvent


def reordered(value: Any) -> Any:
    """The same JSON with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


def test_same_bus_no_and_body_again_returns_the_same_receipt_with_200(api: Any) -> None:
    # given a receipt issued for BUS0001
    first = api.post(ISSUE, nontax_payload())
    assert first.status_code == 201
    # when the same request is sent again
    again = api.post(ISSUE, nontax_payload())
    # then 200 with the very same receipt, and still only one receipt exists
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Receipt.objects.count() == 1


def test_repeat_with_keys_in_another_order_is_the_same_request(api: Any) -> None:
    first = api.post(ISSUE, nontax_payload()).json()
    again = api.post(ISSUE, raw=json.dumps(reordered(nontax_payload())).encode())
    assert again.status_code == 200
    assert again.json()["receiptNumber"] == first["receiptNumber"]


def test_repeat_with_other_whitespace_is_the_same_request(api: Any) -> None:
    first = api.post(ISSUE, nontax_payload()).json()
    pretty = json.dumps(nontax_payload(), indent=4, ensure_ascii=False).encode()
    again = api.post(ISSUE, raw=pretty)
    assert again.status_code == 200
    assert again.json()["checkCode"] == first["checkCode"]


def test_repeat_with_amounts_written_differently_is_the_same_request(api: Any) -> None:
    # given 35.50 and 55.50 as strings the first time
    first = api.post(ISSUE, nontax_payload()).json()
    # when retried with 35.5 and 55.5 as JSON numbers and the quantity as "2.0000"
    payload = nontax_payload()
    payload["items"][0]["quantity"] = "2.0000"
    raw = json.dumps(payload).replace('"35.50"', "35.5").replace('"55.50"', "55.5")
    again = api.post(ISSUE, raw=raw.encode())
    # then it is the same request
    assert again.status_code == 200, again.json()
    assert again.json()["receiptNumber"] == first["receiptNumber"]


@pytest.mark.parametrize(
    "changes",
    [
        {"fundPay": 15, "personalAccountPay": "5.0", "personalCashPay": " 5 "},
        {"fundPay": "15.0000"},
        {"department": " 内科 "},
        {"selfPay": None, "selfExpense": ""},
    ],
    ids=["amounts", "trailing-zeros", "padded-text", "empty-values"],
)
def test_repeat_with_ext_written_differently_is_the_same_request(api: Any, changes: dict[str, Any]) -> None:
    # given an outpatient receipt
    first = api.post(ISSUE, outpatient_payload()).json()
    # when retried with ext values that are stored the same but written differently
    payload = outpatient_payload()
    payload["ext"] = payload["ext"] | changes
    again = api.post(ISSUE, payload)
    # then it is the same request
    assert again.status_code == 200, again.json()
    assert again.json()["receiptNumber"] == first["receiptNumber"]


def test_repeat_with_another_ext_amount_is_a_conflict(api: Any) -> None:
    api.post(ISSUE, outpatient_payload())
    payload = outpatient_payload()
    payload["ext"] = payload["ext"] | {"fundPay": "10.00", "personalCashPay": "10.00"}
    error_of(api.post(ISSUE, payload), 409, "BUS_NO_CONFLICT")


def test_repeat_with_other_content_is_a_conflict_naming_the_original(api: Any) -> None:
    # given BUS0001 was issued for 55.50
    first = api.post(ISSUE, nontax_payload()).json()
    # when BUS0001 comes again for another payer
    response = api.post(ISSUE, nontax_payload(payer={"type": 1, "name": "王五"}))
    # then 409 BUS_NO_CONFLICT naming the receipt BUS0001 already has
    body = error_of(response, 409, "BUS_NO_CONFLICT")
    assert body["extra"] == {
        "busNo": "BUS0001",
        "receiptCode": first["receiptCode"],
        "receiptNumber": first["receiptNumber"],
    }
    assert Receipt.objects.get().payer_name == "张三"


def test_repeat_with_only_the_remark_changed_is_a_conflict(api: Any) -> None:
    api.post(ISSUE, nontax_payload())
    error_of(api.post(ISSUE, nontax_payload(remark="补开")), 409, "BUS_NO_CONFLICT")


def test_bus_no_belongs_to_a_unit_another_unit_gets_its_own_receipt(api: Any, other_api: Any) -> None:
    # given unit A issued BUS0001
    mine = api.post(ISSUE, nontax_payload()).json()
    # when unit B issues its own BUS0001 (its own point-less request)
    payload = nontax_payload(items=[{"itemCode": "F0001", "quantity": "1", "standard": "10.00", "amount": "10.00"}])
    payload.update(totalAmount="10.00")
    del payload["issuingPointCode"]
    response = other_api.post(ISSUE, payload)
    # then B gets a new receipt, with the next number
    assert response.status_code == 201, response.json()
    theirs = response.json()
    assert theirs["unitCode"] != mine["unitCode"]
    assert int(theirs["receiptNumber"]) == int(mine["receiptNumber"]) + 1
    assert Receipt.objects.filter(bus_no="BUS0001").count() == 2


def test_refused_request_consumes_no_number(api: Any) -> None:
    # given receipt 1 issued
    assert api.post(ISSUE, nontax_payload("B1")).json()["receiptNumber"] == "0000000001"
    # when a rule violation, a structural error and a conflict come in between
    assert api.post(ISSUE, nontax_payload("B2", totalAmount="1.00")).status_code == 422
    assert api.post(ISSUE, nontax_payload("B3", totalAmount="abc")).status_code == 400
    assert api.post(ISSUE, nontax_payload("B1", remark="x")).status_code == 409
    # then the next success takes number 2: no gap
    assert api.post(ISSUE, nontax_payload("B4")).json()["receiptNumber"] == "0000000002"


def test_bus_no_of_a_refused_request_stays_free(api: Any) -> None:
    api.post(ISSUE, nontax_payload(totalAmount="1.00"))
    assert api.post(ISSUE, nontax_payload()).status_code == 201


def test_repeat_writes_no_second_audit_row(api: Any) -> None:
    api.post(ISSUE, nontax_payload())
    api.post(ISSUE, nontax_payload())
    assert AuditEvent.objects.filter(action="receipt.issue").count() == 1


def test_issue_writes_one_audit_row_naming_the_receipt_and_the_caller(api: Any) -> None:
    body = api.post(ISSUE, nontax_payload()).json()
    event = AuditEvent.objects.get(action="receipt.issue")
    receipt = Receipt.objects.get()
    assert event.object_type == "receipt"
    assert event.object_id == str(receipt.pk)
    assert event.actor_type == AuditEvent.ActorType.API_CLIENT
    assert event.actor == api.app_id
    assert event.unit_code == receipt.unit.code
    assert event.data == {
        "receiptCode": body["receiptCode"],
        "number": body["receiptNumber"],
        "busNo": "BUS0001",
        "total": "55.50",
    }


def test_retry_is_answered_even_after_the_unit_expired(api: Any, unit: Any) -> None:
    # given a receipt issued while the unit was valid
    first = api.post(ISSUE, nontax_payload()).json()
    unit.valid_to = unit.valid_from
    unit.save()
    # when the charging system retries (its first answer was lost)
    again = api.post(ISSUE, nontax_payload())
    # then it learns the receipt it already has
    assert again.status_code == 200
    assert again.json()["receiptNumber"] == first["receiptNumber"]


def test_retry_is_answered_even_after_the_fee_standard_changed(api: Any, fee_fixed: Any) -> None:
    first = api.post(ISSUE, nontax_payload()).json()
    fee_fixed.standards.update(amount="12.00")
    again = api.post(ISSUE, nontax_payload())
    assert again.status_code == 200
    assert again.json()["checkCode"] == first["checkCode"]


def test_conflicting_retry_is_a_conflict_before_any_rule(api: Any) -> None:
    api.post(ISSUE, nontax_payload())
    # the other content also breaks a rule (total): the busNo answers first
    error_of(api.post(ISSUE, nontax_payload(totalAmount="1.00")), 409, "BUS_NO_CONFLICT")


def test_single_issue_then_batch_with_the_same_bus_no_is_existing(api: Any) -> None:
    first = api.post(ISSUE, nontax_payload()).json()
    result = api.post(BATCH, {"receipts": [nontax_payload()]}).json()["results"][0]
    assert result["result"] == "existing"
    assert result["receipt"]["receiptNumber"] == first["receiptNumber"]


def test_batch_then_single_issue_with_the_same_bus_no_is_the_same_receipt(api: Any) -> None:
    batch = api.post(BATCH, {"receipts": [nontax_payload()]}).json()["results"][0]
    again = api.post(ISSUE, nontax_payload())
    assert again.status_code == 200
    assert again.json()["receiptNumber"] == batch["receipt"]["receiptNumber"]
