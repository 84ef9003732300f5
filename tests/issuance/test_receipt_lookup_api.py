"""Lookup endpoints: by code and number, by busNo, and the list by business date.

Every read is scoped to the caller's unit: another unit's receipt does not exist for it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import (
    BATCH,
    ISSUE,
    LIST,
    by_bus_no_url,
    current_code,
    detail_url,
    error_of,
    fields_of,
    get_escaped,
)

BUS_DATE = "2025-03-01"


@pytest.fixture
def issued(api: Any) -> dict[str, Any]:
    """One receipt of the unit, as the issue call answered it."""
    response = api.post(ISSUE, nontax_payload())
    assert response.status_code == 201
    return response.json()


def issue_on(api: Any, bus_date: str, count: int, prefix: str = "D") -> None:
    receipts = [nontax_payload(f"{prefix}{i}", busDate=bus_date) for i in range(count)]
    assert api.post(BATCH, {"receipts": receipts}).json()["created"] == count


# --- by receipt code and number -----------------------------------------------------------------


def test_receipt_is_found_by_its_code_and_number(api: Any, issued: dict[str, Any]) -> None:
    response = api.get(detail_url(issued["receiptCode"], issued["receiptNumber"]))
    assert response.status_code == 200
    assert response.json() == issued


def test_found_receipt_shows_its_items_payer_payee_and_capitals(api: Any, issued: dict[str, Any]) -> None:
    body = api.get(detail_url(issued["receiptCode"], issued["receiptNumber"])).json()
    assert [(i["lineNo"], i["itemCode"], i["itemName"], i["unit"]) for i in body["items"]] == [
        (1, "F0001", "证书工本费", "本"),
        (2, "F0002", "考试考务费", "人·科"),
    ]
    assert [(i["quantity"], i["standard"], i["amount"]) for i in body["items"]] == [
        ("2", "10.00", "20.00"),
        ("1", "35.50", "35.50"),
    ]
    assert body["payer"] == {
        "type": 1,
        "name": "张三",
        "code": "",
        "phone": "13800138000",
        "email": "",
        "account": "",
        "bank": "",
    }
    assert body["payee"]["name"] == "长沙市芙蓉区人民医院"
    assert body["totalAmountUpper"] == "伍拾伍元伍角整"
    assert (body["status"], body["statusLabel"], body["isRed"]) == ("issued", "正常", False)
    assert body["relatedReceipt"] is None
    assert (body["regionCode"], body["issuingPointCode"]) == ("430102", "MZ01")


def test_medical_receipt_shows_its_kind_fields(api: Any) -> None:
    issued = api.post(ISSUE, outpatient_payload()).json()
    body = api.get(detail_url(issued["receiptCode"], issued["receiptNumber"])).json()
    assert body["kindCode"] == "0601"
    assert body["ext"]["visitNumber"] == "MZ20261126001"
    assert body["ext"]["personalCashPay"] == "5.00"


def test_another_units_receipt_is_not_found_by_code_and_number(other_api: Any, issued: dict[str, Any]) -> None:
    response = other_api.get(detail_url(issued["receiptCode"], issued["receiptNumber"]))
    error_of(response, 404, "RECEIPT_NOT_FOUND")


def test_unknown_number_is_not_found(api: Any, issued: dict[str, Any]) -> None:
    error_of(api.get(detail_url(issued["receiptCode"], "0000000002")), 404, "RECEIPT_NOT_FOUND")


def test_read_only_credential_may_look_up_by_code_and_number(read_only_api: Any, issued: dict[str, Any]) -> None:
    response = read_only_api.get(detail_url(issued["receiptCode"], issued["receiptNumber"]))
    assert response.status_code == 200
    assert response.json()["checkCode"] == issued["checkCode"]


@pytest.mark.parametrize(
    ("code", "number", "fields"),
    [
        ("4301", "0000000001", {"receiptCode"}),
        ("4301012a", "0000000001", {"receiptCode"}),
        (None, "1", {"receiptNumber"}),
        (None, "00000000001", {"receiptNumber"}),
        (None, quote("0000000001\n"), {"receiptNumber"}),
        (None, quote("٠٠٠٠٠٠٠٠٠١"), {"receiptNumber"}),  # Arabic-Indic digits are not a receipt number
        ("x", "y", {"receiptCode", "receiptNumber"}),
    ],
)
def test_malformed_code_or_number_is_invalid_input(
    api: Any, issued: dict[str, Any], code: str | None, number: str, fields: set[str]
) -> None:
    response = get_escaped(api, detail_url(code or issued["receiptCode"], number))
    assert set(fields_of(response)) == fields


def test_lookup_by_code_and_number_refuses_post_with_405(api: Any, issued: dict[str, Any]) -> None:
    error_of(api.post(detail_url(issued["receiptCode"], issued["receiptNumber"]), {}), 405, "METHOD_NOT_ALLOWED")


def test_lookup_by_code_and_number_needs_a_signature(issued: dict[str, Any]) -> None:
    response = Client().get(detail_url(issued["receiptCode"], issued["receiptNumber"]))
    error_of(response, 401, "AUTH_REQUIRED")


# --- by busNo ---------------------------------------------------------------------------------------


def test_receipt_is_found_by_its_bus_no(api: Any, issued: dict[str, Any]) -> None:
    response = api.get(by_bus_no_url("BUS0001"))
    assert response.status_code == 200
    assert response.json() == issued


def test_another_units_bus_no_is_not_found(other_api: Any, issued: dict[str, Any]) -> None:
    error_of(other_api.get(by_bus_no_url("BUS0001")), 404, "RECEIPT_NOT_FOUND")


def test_unknown_bus_no_is_not_found(api: Any, issued: dict[str, Any]) -> None:
    error_of(api.get(by_bus_no_url("BUS0002")), 404, "RECEIPT_NOT_FOUND")


def test_read_only_credential_may_look_up_by_bus_no(read_only_api: Any, issued: dict[str, Any]) -> None:
    assert read_only_api.get(by_bus_no_url("BUS0001")).json()["receiptNumber"] == issued["receiptNumber"]


@pytest.mark.parametrize("bus_no", ["a.b", "B" * 65, quote("中文"), quote("BUS0001\n"), quote("a b")])
def test_malformed_bus_no_is_invalid_input(api: Any, issued: dict[str, Any], bus_no: str) -> None:
    assert set(fields_of(get_escaped(api, by_bus_no_url(bus_no)))) == {"busNo"}


def test_lookup_by_bus_no_refuses_delete_with_405(api: Any, issued: dict[str, Any]) -> None:
    error_of(api.request("DELETE", by_bus_no_url("BUS0001")), 405, "METHOD_NOT_ALLOWED")


def test_lookup_by_bus_no_needs_a_signature(issued: dict[str, Any]) -> None:
    error_of(Client().get(by_bus_no_url("BUS0001")), 401, "AUTH_REQUIRED")


# --- list by business date ------------------------------------------------------------------------------


def test_list_shows_the_receipts_of_a_business_date_in_number_order(api: Any) -> None:
    # given two receipts on BUS_DATE, one medical, and one on another day
    issue_on(api, BUS_DATE, 1, "N")
    api.post(ISSUE, outpatient_payload(busDate=BUS_DATE))
    issue_on(api, "2025-03-02", 1, "X")
    # when listing BUS_DATE
    response = api.get(f"{LIST}?busDate={BUS_DATE}")
    # then only that day's receipts, ordered by code then number
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["page"], body["pageSize"]) == (2, 1, 100)
    assert [(r["receiptCode"], r["busNo"]) for r in body["results"]] == [
        (current_code("0101"), "N0"),
        (current_code("0601"), "MZ0001"),
    ]
    assert set(body["results"][0]) == {
        "receiptCode",
        "receiptNumber",
        "checkCode",
        "kindCode",
        "busNo",
        "busDate",
        "issueDate",
        "issuedAt",
        "status",
        "statusLabel",
        "isRed",
        "signStatus",
        "payerName",
        "totalAmount",
    }


def test_list_pages_through_the_receipts(api: Any) -> None:
    issue_on(api, BUS_DATE, 5)
    pages = [api.get(f"{LIST}?busDate={BUS_DATE}&pageSize=2&page={page}").json() for page in (1, 2, 3)]
    assert [p["count"] for p in pages] == [5, 5, 5]
    numbers = [[r["receiptNumber"] for r in p["results"]] for p in pages]
    assert numbers == [["0000000001", "0000000002"], ["0000000003", "0000000004"], ["0000000005"]]


def test_page_after_the_last_one_is_invalid_input(api: Any) -> None:
    issue_on(api, BUS_DATE, 2)
    assert fields_of(api.get(f"{LIST}?busDate={BUS_DATE}&pageSize=2&page=2")) == {"page": "页码超出范围。"}


def test_first_page_of_an_empty_day_is_empty(api: Any) -> None:
    body = api.get(f"{LIST}?busDate={BUS_DATE}").json()
    assert (body["count"], body["results"]) == (0, [])


def test_list_shows_no_receipts_of_another_unit(api: Any, other_api: Any) -> None:
    issue_on(api, BUS_DATE, 2)
    body = other_api.get(f"{LIST}?busDate={BUS_DATE}").json()
    assert (body["count"], body["results"]) == (0, [])


def test_read_only_credential_may_list(read_only_api: Any, api: Any) -> None:
    issue_on(api, BUS_DATE, 1)
    assert read_only_api.get(f"{LIST}?busDate={BUS_DATE}").json()["count"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "busDate"),
        ("busDate=", "busDate"),
        ("busDate=2025-3-1", "busDate"),
        ("busDate=2025-02-30", "busDate"),
        ("busDate=20250301", "busDate"),
        (f"busDate={BUS_DATE}&page=0", "page"),
        (f"busDate={BUS_DATE}&page=-1", "page"),
        (f"busDate={BUS_DATE}&page=abc", "page"),
        (f"busDate={BUS_DATE}&page=1.0", "page"),
        (f"busDate={BUS_DATE}&page=%C2%B2", "page"),  # "²" is a digit to str.isdigit(), not to int()
        (f"busDate={BUS_DATE}&page=%D9%A1", "page"),  # Arabic-Indic one
        (f"busDate={BUS_DATE}&pageSize=0", "pageSize"),
        (f"busDate={BUS_DATE}&pageSize=501", "pageSize"),
    ],
)
def test_malformed_list_parameter_is_invalid_input(api: Any, query: str, field: str) -> None:
    assert set(fields_of(api.get(f"{LIST}?{query}"))) == {field}


def test_largest_page_size_is_accepted(api: Any) -> None:
    assert api.get(f"{LIST}?busDate={BUS_DATE}&pageSize=500").json()["pageSize"] == 500


def test_list_refuses_post_with_405(api: Any) -> None:
    error_of(api.post(f"{LIST}?busDate={BUS_DATE}", {}), 405, "METHOD_NOT_ALLOWED")


def test_list_needs_a_signature(unit: Any) -> None:
    error_of(Client().get(f"{LIST}?busDate={BUS_DATE}"), 401, "AUTH_REQUIRED")
