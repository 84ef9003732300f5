"""Structure of an issuance request: INVALID_INPUT with field paths, MALFORMED_BODY, 415.

Structural problems are found before any business rule and answered 400 with every
field error at once in ``extra.fields``, keyed by JSON path.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from issuance.models import Receipt
from issuance.payload import MAX_ITEMS, parse_issue_input
from tests.conftest import nontax_payload
from tests.issuance.conftest import ISSUE, error_of, fields_of


def item(**changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"itemCode": "F0002", "quantity": "1", "standard": "10.00", "amount": "10.00"}
    line.update(changes)
    return line


# --- field paths ------------------------------------------------------------------------


def test_bad_amount_on_the_second_item_is_reported_at_its_path(api: Any) -> None:
    payload = nontax_payload()
    payload["items"][1]["amount"] = "abc"
    assert fields_of(api.post(ISSUE, payload)) == {"items[1].amount": "应为数字。"}


@pytest.mark.parametrize("payer_type", [3, 0, "1", True, 1.0, None, [1]])
def test_payer_type_other_than_the_integers_1_or_2_is_refused(api: Any, payer_type: Any) -> None:
    payload = nontax_payload(payer={"type": payer_type, "name": "张三"})
    assert list(fields_of(api.post(ISSUE, payload))) == ["payer.type"]


def test_payer_type_2_for_an_organisation_is_accepted(api: Any) -> None:
    response = api.post(ISSUE, nontax_payload(payer={"type": 2, "name": "某公司"}))
    assert response.status_code == 201
    assert response.json()["payer"]["type"] == 2


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"fooBar": 1}, "fooBar"),
        ({"payer": {"type": 1, "name": "张三", "idNo": "1"}}, "payer.idNo"),
        ({"items": [item(price="10.00")]}, "items[0].price"),
    ],
)
def test_unknown_field_is_refused_at_its_path(api: Any, change: dict[str, Any], path: str) -> None:
    payload = nontax_payload(totalAmount="10.00", items=[item()]) | change
    assert fields_of(api.post(ISSUE, payload)) == {path: "未知字段。"}


def test_every_field_error_is_reported_at_once(api: Any) -> None:
    payload = {"busNo": "B 1", "kindCode": "01", "payer": {"type": 9}, "items": [item(quantity="x")], "x": 1}
    assert set(fields_of(api.post(ISSUE, payload))) == {
        "busNo",
        "kindCode",
        "payer.type",
        "payer.name",
        "items[0].quantity",
        "totalAmount",
        "x",
    }


@pytest.mark.parametrize("missing", ["busNo", "kindCode", "payer", "items", "totalAmount"])
def test_required_top_level_field_is_refused_when_missing(api: Any, missing: str) -> None:
    payload = nontax_payload()
    del payload[missing]
    assert missing in fields_of(api.post(ISSUE, payload))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("busNo", "BUS 0001"),
        ("busNo", "B" * 65),
        ("busNo", "   "),
        ("busNo", 12345),
        ("kindCode", "101"),
        ("kindCode", "01a1"),
        ("issuingPointCode", "MZ 01"),
        ("busDate", "2025-02-30"),
        ("busDate", "2025/01/01"),
        ("busDate", 20250101),
        ("remark", "第一行\u0007"),
        ("remark", "备" * 501),
        ("payMode", "x" * 21),
        ("ext", ["visitNumber"]),
        ("items", []),
        ("items", {"itemCode": "F0001"}),
        ("payer", "张三"),
    ],
)
def test_malformed_top_level_field_is_refused_at_its_path(api: Any, field: str, value: Any) -> None:
    assert field in fields_of(api.post(ISSUE, nontax_payload(**{field: value})))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"phone": "12345"}, "payer.phone"),
        ({"email": "not-an-email"}, "payer.email"),
        ({"name": ""}, "payer.name"),
        ({"name": "张" * 101}, "payer.name"),
        ({"code": "x" * 41}, "payer.code"),
    ],
)
def test_malformed_payer_field_is_refused_at_its_path(api: Any, change: dict[str, Any], path: str) -> None:
    payer = {"type": 1, "name": "张三"} | change
    assert list(fields_of(api.post(ISSUE, nontax_payload(payer=payer)))) == [path]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"quantity": "0"}, "items[0].quantity"),
        ({"quantity": "-1"}, "items[0].quantity"),
        ({"quantity": "1.00001"}, "items[0].quantity"),
        ({"standard": "-10.00"}, "items[0].standard"),
        ({"standard": "10.00001"}, "items[0].standard"),
        ({"amount": "-10.00"}, "items[0].amount"),
        ({"amount": "1000000000000.00"}, "items[0].amount"),
        ({"itemCode": ""}, "items[0].itemCode"),
        ({"itemCode": "F 0001"}, "items[0].itemCode"),
        ({"remark": "r" * 201}, "items[0].remark"),
    ],
)
def test_malformed_item_field_is_refused_at_its_path(api: Any, change: dict[str, Any], path: str) -> None:
    payload = nontax_payload(items=[item(**change)], totalAmount="10.00")
    assert path in fields_of(api.post(ISSUE, payload))


def test_item_that_is_not_an_object_is_refused_at_its_index(api: Any) -> None:
    payload = nontax_payload(items=[item(), "F0001"], totalAmount="10.00")
    assert fields_of(api.post(ISSUE, payload)) == {"items[1]": "应为 JSON 对象。"}


def test_more_items_than_allowed_are_refused(api: Any) -> None:
    payload = nontax_payload(items=[item()] * (MAX_ITEMS + 1), totalAmount="2010.00")
    assert list(fields_of(api.post(ISSUE, payload))) == ["items"]


@pytest.mark.parametrize("total", ["0", "0.00", "-1.00"])
def test_total_must_be_positive(api: Any, total: str) -> None:
    assert list(fields_of(api.post(ISSUE, nontax_payload(totalAmount=total)))) == ["totalAmount"]


# --- numbers ----------------------------------------------------------------------------------------


def test_json_numbers_are_parsed_exactly(api: Any) -> None:
    # given amounts as JSON numbers whose float sum is inexact (10.1 + 20.2 != 30.3 in binary)
    raw = (
        b'{"busNo": "NUM1", "kindCode": "0101", "payer": {"type": 1, "name": "\\u5f20"},'
        b' "items": [{"itemCode": "F0002", "quantity": 1, "standard": 10.1, "amount": 10.1},'
        b' {"itemCode": "F0002", "quantity": 1, "standard": 20.2, "amount": 20.2}],'
        b' "totalAmount": 30.3}'
    )
    response = api.post(ISSUE, raw=raw)
    # then they add up exactly and are stored in fen
    assert response.status_code == 201, response.json()
    assert response.json()["totalAmount"] == "30.30"
    assert Receipt.objects.get().total_amount == Decimal("30.30")


def test_amount_given_as_the_json_number_12_5_is_twelve_yuan_fifty(api: Any) -> None:
    raw = json.dumps(nontax_payload(items=[item(standard="12.5", amount="12.5")], totalAmount="12.5"))
    raw = raw.replace('"12.5"', "12.5")
    response = api.post(ISSUE, raw=raw.encode())
    assert response.status_code == 201, response.json()
    assert response.json()["totalAmount"] == "12.50"
    assert response.json()["totalAmountUpper"] == "壹拾贰元伍角整"


@pytest.mark.parametrize("number", ["12.345", "0.001", "12.5000001"])
def test_json_number_with_more_than_two_decimals_is_refused_for_money(api: Any, number: str) -> None:
    raw = json.dumps(nontax_payload(totalAmount="TOTAL")).replace('"TOTAL"', number)
    assert fields_of(api.post(ISSUE, raw=raw.encode())) == {"totalAmount": "最多 2 位小数。"}


def test_trailing_zeros_beyond_two_decimals_are_accepted(api: Any) -> None:
    raw = json.dumps(nontax_payload(totalAmount="TOTAL")).replace('"TOTAL"', "55.5000")
    assert api.post(ISSUE, raw=raw.encode()).status_code == 201


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_a_malformed_body(api: Any, constant: str) -> None:
    raw = json.dumps(nontax_payload(totalAmount="TOTAL")).replace('"TOTAL"', constant)
    error_of(api.post(ISSUE, raw=raw.encode()), 400, "MALFORMED_BODY")


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf", "1_000.00", "１２.５０", "12,50", "0x10", ""])
def test_amount_string_that_is_not_a_plain_decimal_is_refused(api: Any, text: str) -> None:
    assert "totalAmount" in fields_of(api.post(ISSUE, nontax_payload(totalAmount=text)))


@pytest.mark.parametrize("value", [True, False, [], {}])
def test_booleans_and_containers_are_not_numbers(api: Any, value: Any) -> None:
    payload = nontax_payload(items=[item(quantity=value)], totalAmount="10.00")
    assert "items[0].quantity" in fields_of(api.post(ISSUE, payload))


# --- the body as a whole ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null"])
def test_body_that_is_not_a_json_object_is_invalid_input(api: Any, raw: bytes) -> None:
    assert fields_of(api.post(ISSUE, raw=raw)) == {"": "请求体应为 JSON 对象。"}


@pytest.mark.parametrize("raw", [b"{", b"{'busNo': 'x'}", b'{"a": 1,}', b'{"a": "\xff"}'])
def test_malformed_json_is_a_malformed_body(api: Any, raw: bytes) -> None:
    error_of(api.post(ISSUE, raw=raw), 400, "MALFORMED_BODY")


@pytest.mark.parametrize("at", ["a field name", "the payer name"])
def test_lone_surrogate_escape_is_a_malformed_body(api: Any, at: str) -> None:
    # given the JSON escape \\ud800: valid JSON syntax, but no character (cannot be stored or echoed)
    payload = nontax_payload(payer={"type": 1, "name": "PLACEHOLDER" if at == "the payer name" else "张三"})
    if at == "a field name":
        payload["PLACEHOLDER"] = 1
    raw = json.dumps(payload).replace('"PLACEHOLDER"', '"\\ud800"')
    error_of(api.post(ISSUE, raw=raw.encode()), 400, "MALFORMED_BODY")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_body_that_is_not_json_is_an_unsupported_media_type(api: Any, content_type: str) -> None:
    raw = json.dumps(nontax_payload()).encode()
    response = api.post(ISSUE, raw=raw, headers={"Content-Type": content_type})
    error_of(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert not Receipt.objects.exists()


def test_json_with_a_charset_parameter_is_accepted(api: Any) -> None:
    raw = json.dumps(nontax_payload(), ensure_ascii=False).encode()
    response = api.post(ISSUE, raw=raw, headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 201, response.json()


# --- the parser on its own --------------------------------------------------------------------------


def test_parser_keeps_amounts_as_exact_decimals() -> None:
    data, errors = parse_issue_input(nontax_payload(), require_bus_no=True)
    assert not errors and data is not None
    assert [i.amount for i in data.items] == [Decimal("20.00"), Decimal("35.50")]
    assert data.total_amount == Decimal("55.50")
    assert data.items[0].quantity == Decimal("2")


def test_parser_strips_surrounding_whitespace_of_text_fields() -> None:
    data, _ = parse_issue_input(nontax_payload(payer={"type": 1, "name": "  张三 "}), require_bus_no=True)
    assert data is not None and data.payer.name == "张三"


def test_parser_needs_no_bus_no_when_not_required() -> None:
    payload = nontax_payload()
    del payload["busNo"]
    data, errors = parse_issue_input(payload, require_bus_no=False)
    assert not errors and data is not None and data.bus_no is None


def test_parser_requires_a_bus_no_for_the_interface() -> None:
    payload = nontax_payload()
    del payload["busNo"]
    data, errors = parse_issue_input(payload, require_bus_no=True)
    assert data is None
    assert errors.fields == {"busNo": "该字段为必填项。"}
