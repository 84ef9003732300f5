"""POST /api/v1/receipts/batch: each request of a batch succeeds or fails on its own."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from issuance.models import Receipt
from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import BATCH, current_code, error_of, fields_of
from zhongtai.audit.models import AuditEvent


def test_batch_issues_every_request_with_consecutive_numbers(api: Any) -> None:
    # given three valid requests
    receipts = [nontax_payload(f"B{i}") for i in range(3)]
    # when sent as one batch
    response = api.post(BATCH, {"receipts": receipts})
    # then all are created, in order, with consecutive numbers of the same code
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["total"], body["created"], body["existing"], body["failed"]) == (3, 3, 0, 0)
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert [r["busNo"] for r in body["results"]] == ["B0", "B1", "B2"]
    assert [r["result"] for r in body["results"]] == ["created"] * 3
    assert [r["receipt"]["receiptNumber"] for r in body["results"]] == ["0000000001", "0000000002", "0000000003"]
    assert {r["receipt"]["receiptCode"] for r in body["results"]} == {current_code("0101")}
    assert all(r["error"] is None for r in body["results"])


def test_batch_of_two_kinds_numbers_each_code_consecutively(api: Any) -> None:
    receipts = [nontax_payload("N1"), outpatient_payload("M1"), nontax_payload("N2"), outpatient_payload("M2")]
    results = api.post(BATCH, {"receipts": receipts}).json()["results"]
    numbers = [(r["receipt"]["receiptCode"], r["receipt"]["receiptNumber"]) for r in results]
    assert numbers == [
        (current_code("0101"), "0000000001"),
        (current_code("0601"), "0000000001"),
        (current_code("0101"), "0000000002"),
        (current_code("0601"), "0000000002"),
    ]


def test_batch_reports_valid_and_invalid_requests_one_by_one(api: Any) -> None:
    # given a valid request, a structurally broken one, a valid one and a rule violation
    receipts = [
        nontax_payload("OK1"),
        nontax_payload("BAD1", totalAmount="abc"),
        nontax_payload("OK2"),
        nontax_payload("BAD2", totalAmount="1.00"),
    ]
    # when sent as one batch
    body = api.post(BATCH, {"receipts": receipts}).json()
    # then each result stands for its own request
    assert (body["total"], body["created"], body["failed"]) == (4, 2, 2)
    ok1, bad1, ok2, bad2 = body["results"]
    assert (ok1["result"], ok1["busNo"], ok1["receipt"]["receiptNumber"]) == ("created", "OK1", "0000000001")
    assert (ok2["result"], ok2["busNo"], ok2["receipt"]["receiptNumber"]) == ("created", "OK2", "0000000002")
    assert (bad1["result"], bad1["busNo"], bad1["receipt"]) == ("failed", "BAD1", None)
    assert bad1["error"]["code"] == "INVALID_INPUT"
    assert bad1["error"]["extra"] == {"fields": {"totalAmount": "应为数字。"}}
    assert (bad2["result"], bad2["busNo"], bad2["receipt"]) == ("failed", "BAD2", None)
    assert bad2["error"]["code"] == "TOTAL_MISMATCH"
    assert [e["code"] for e in bad2["error"]["extra"]["errors"]] == ["TOTAL_MISMATCH"]
    assert set(Receipt.objects.values_list("bus_no", flat=True)) == {"OK1", "OK2"}


def test_batch_entry_that_is_not_an_object_fails_alone(api: Any) -> None:
    body = api.post(BATCH, {"receipts": [42, nontax_payload()]}).json()
    assert body["results"][0]["result"] == "failed"
    assert body["results"][0]["busNo"] is None
    assert body["results"][0]["error"]["extra"] == {"fields": {"": "请求体应为 JSON 对象。"}}
    assert body["results"][1]["result"] == "created"


def test_batch_of_only_invalid_requests_issues_nothing(api: Any) -> None:
    body = api.post(BATCH, {"receipts": [{"busNo": "X"}, nontax_payload(totalAmount="9.99")]}).json()
    assert (body["created"], body["failed"]) == (0, 2)
    assert not Receipt.objects.exists()


def test_bus_no_repeated_in_a_batch_with_the_same_body_gets_the_same_receipt(api: Any) -> None:
    body = api.post(BATCH, {"receipts": [nontax_payload(), nontax_payload()]}).json()
    first, repeat = body["results"]
    assert (first["result"], repeat["result"]) == ("created", "existing")
    assert repeat["receipt"] == first["receipt"]
    assert (body["created"], body["existing"]) == (1, 1)
    assert Receipt.objects.count() == 1


def test_bus_no_repeated_in_a_batch_with_another_body_is_a_conflict(api: Any) -> None:
    body = api.post(BATCH, {"receipts": [nontax_payload(), nontax_payload(remark="不同")]}).json()
    first, repeat = body["results"]
    assert first["result"] == "created"
    assert repeat["result"] == "failed"
    assert repeat["error"]["code"] == "BUS_NO_CONFLICT"
    assert repeat["error"]["extra"]["receiptNumber"] == first["receipt"]["receiptNumber"]


def test_bus_no_of_an_earlier_batch_answers_existing_or_conflict(api: Any) -> None:
    api.post(BATCH, {"receipts": [nontax_payload("A"), nontax_payload("B")]})
    body = api.post(BATCH, {"receipts": [nontax_payload("A"), nontax_payload("B", remark="x"), nontax_payload("C")]})
    assert [r["result"] for r in body.json()["results"]] == ["existing", "failed", "created"]
    assert body.json()["results"][1]["error"]["code"] == "BUS_NO_CONFLICT"
    assert body.json()["results"][2]["receipt"]["receiptNumber"] == "0000000003"


def test_batch_writes_one_audit_row_per_new_receipt(api: Any) -> None:
    api.post(BATCH, {"receipts": [nontax_payload("A"), nontax_payload("B"), nontax_payload("A")]})
    events = AuditEvent.objects.filter(action="receipt.issue")
    assert events.count() == 2
    assert set(events.values_list("object_id", flat=True)) == {
        str(pk) for pk in Receipt.objects.values_list("pk", flat=True)
    }


# --- refusals of the batch as a whole ------------------------------------------------------------


def test_empty_batch_is_refused(api: Any) -> None:
    error_of(api.post(BATCH, {"receipts": []}), 400, "BATCH_EMPTY")


@override_settings(EREC_BATCH_MAX=3)
def test_batch_larger_than_the_limit_is_refused_whole(api: Any) -> None:
    response = api.post(BATCH, {"receipts": [nontax_payload(f"B{i}") for i in range(4)]})
    body = error_of(response, 400, "BATCH_TOO_LARGE")
    assert body["extra"] == {"max": 3, "given": 4}
    assert not Receipt.objects.exists()


@override_settings(EREC_BATCH_MAX=3)
def test_batch_at_the_limit_is_accepted(api: Any) -> None:
    response = api.post(BATCH, {"receipts": [nontax_payload(f"B{i}") for i in range(3)]})
    assert response.json()["created"] == 3


@pytest.mark.parametrize(
    "body", [{"receipts": "x"}, {"receipts": {"busNo": "B"}}, {}, [nontax_payload()], {"items": []}]
)
def test_batch_without_a_receipts_array_is_invalid_input(api: Any, body: Any) -> None:
    assert fields_of(api.post(BATCH, body)) == {"receipts": "应为开票请求数组。"}


def test_malformed_batch_body_is_a_malformed_body(api: Any) -> None:
    error_of(api.post(BATCH, raw=b'{"receipts": ['), 400, "MALFORMED_BODY")


def test_batch_of_an_expired_unit_refuses_each_new_request_and_answers_known_ones(api: Any, unit: Any) -> None:
    # given A was issued while the unit was valid, and the unit has expired since
    api.post(BATCH, {"receipts": [nontax_payload("A")]})
    unit.valid_to = unit.valid_from
    unit.save()
    # when A (a retry) and B (new) come in one batch
    body = api.post(BATCH, {"receipts": [nontax_payload("A"), nontax_payload("B")]}).json()
    # then A is answered with its receipt and B refused with UNIT_EXPIRED
    retry, new = body["results"]
    assert (retry["result"], retry["receipt"]["receiptNumber"]) == ("existing", "0000000001")
    assert (new["result"], new["error"]["code"]) == ("failed", "UNIT_EXPIRED")
    assert Receipt.objects.count() == 1


# --- access ----------------------------------------------------------------------------------------


def test_read_only_credential_may_not_batch_issue(read_only_api: Any) -> None:
    error_of(read_only_api.post(BATCH, {"receipts": [nontax_payload()]}), 403, "SCOPE_READ_ONLY")
    assert not Receipt.objects.exists()


def test_batch_of_another_unit_has_its_own_bus_nos(api: Any, other_api: Any) -> None:
    api.post(BATCH, {"receipts": [nontax_payload()]})
    payload = nontax_payload(items=[{"itemCode": "F0001", "quantity": "1", "standard": "10.00", "amount": "10.00"}])
    payload.update(totalAmount="10.00")
    del payload["issuingPointCode"]
    result = other_api.post(BATCH, {"receipts": [payload]}).json()["results"][0]
    assert result["result"] == "created"


def test_batch_refuses_get_with_405(api: Any) -> None:
    error_of(api.get(BATCH), 405, "METHOD_NOT_ALLOWED")


def test_batch_without_signature_is_refused_with_401(unit: Any) -> None:
    response = Client().post(BATCH, {"receipts": [nontax_payload()]}, content_type="application/json")
    error_of(response, 401, "AUTH_REQUIRED")
