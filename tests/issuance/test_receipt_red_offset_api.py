"""POST /api/v1/receipts/{code}/{number}/red-offset: 冲红 through the standard interface."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from lxml import etree

from issuance.models import Receipt
from issuance.red_offset import REASON_MAX_LENGTH
from issuance.services import receipt_transition
from issuance.states import ReceiptStatus
from issuance.verifier import receipt_file_verify, trust_from_database
from tests.conftest import nontax_payload
from tests.issuance.conftest import DAILY, ISSUE, detail_url, error_of, fields_of
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit

REASON = "患者退费"


def red_offset_url(receipt: Receipt | dict[str, Any]) -> str:
    if isinstance(receipt, dict):
        return f"/api/v1/receipts/{receipt['receiptCode']}/{receipt['receiptNumber']}/red-offset"
    return f"/api/v1/receipts/{receipt.receipt_code}/{receipt.number_text}/red-offset"


@pytest.fixture
def original(api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """A signed receipt of 55.50, as the issuance answered it."""
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(ISSUE, nontax_payload("HIS1"))
    assert response.status_code == 201
    body = response.json()
    assert body["signStatus"] == "signed"
    return body


def post_red_offset(api: Any, original: dict[str, Any], capture: Any, **body: Any) -> Any:
    with capture(execute=True):
        return api.post(red_offset_url(original), {"reason": REASON, **body})


def test_the_url_is_named_receipt_red_offset() -> None:
    assert reverse("receipt-red-offset", args=["43010126", "0000000001"]) == (
        "/api/v1/receipts/43010126/0000000001/red-offset"
    )


def test_red_offset_answers_201_with_the_signed_red_receipt(
    api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # when the unit red-offsets its receipt
    response = post_red_offset(api, original, django_capture_on_commit_callbacks, busNo="TF1")
    # then it gets the red receipt, signed in the request, in the issuance's representation
    assert response.status_code == 201, response.json()
    red = response.json()
    assert (red["isRed"], red["status"], red["signStatus"], red["busNo"]) == (True, "issued", "signed", "TF1")
    assert red["relatedReceipt"] == {"receiptCode": original["receiptCode"], "receiptNumber": original["receiptNumber"]}
    assert (red["totalAmount"], red["totalAmountUpper"]) == ("-55.50", "负伍拾伍元伍角整")
    assert [(i["quantity"], i["standard"], i["amount"]) for i in red["items"]] == [
        ("-2", "10.00", "-20.00"),
        ("-1", "35.50", "-35.50"),
    ]
    assert red["receiptNumber"] == f"{int(original['receiptNumber']) + 1:010d}"
    assert REASON in red["remark"] and original["receiptNumber"] in red["remark"]
    assert (red["payer"], red["issuingPointCode"], red["sandbox"]) == (original["payer"], "MZ01", False)
    # and the original now reads 已冲红
    after = api.get(detail_url(original["receiptCode"], original["receiptNumber"])).json()
    assert (after["status"], after["statusLabel"]) == ("red_offset", "已冲红")


def test_the_red_receipts_files_verify_and_point_at_the_original(
    api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    red = post_red_offset(api, original, django_capture_on_commit_callbacks).json()
    xml = api.get(detail_url(red["receiptCode"], red["receiptNumber"]) + "/datafile").content
    pdf = api.get(detail_url(red["receiptCode"], red["receiptNumber"]) + "/layout-file").content
    ext = etree.fromstring(xml).find("EInvoiceData/Main/MainExt")
    assert ext is not None
    assert (ext.findtext("RelatedInvoiceCode"), ext.findtext("RelatedInvoiceNumber")) == (
        original["receiptCode"],
        original["receiptNumber"],
    )
    for content in (xml, pdf):
        verdict = receipt_file_verify(content=content, trust=trust_from_database())
        assert verdict.valid, [check.reason for check in verdict.failures]


def test_the_daily_reconciliation_counts_the_red_receipt(
    api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    post_red_offset(api, original, django_capture_on_commit_callbacks)
    total = api.get(f"{DAILY}?date={original['issueDate']}").json()["total"]
    assert total == {"count": 1, "amount": "55.50", "redCount": 1, "redAmount": "-55.50", "netAmount": "0.00"}


def test_the_same_bus_no_again_answers_200_with_the_same_red_receipt(
    api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    first = post_red_offset(api, original, django_capture_on_commit_callbacks, busNo="TF1")
    again = post_red_offset(api, original, django_capture_on_commit_callbacks, busNo="TF1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Receipt.objects.filter(is_red=True).count() == 1
    # and the refund's busNo finds the red receipt
    assert api.get("/api/v1/receipts/by-bus-no/TF1").json()["receiptNumber"] == first.json()["receiptNumber"]


def test_a_bus_no_that_names_something_else_is_a_conflict(
    api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    body = error_of(
        post_red_offset(api, original, django_capture_on_commit_callbacks, busNo="HIS1"), 409, "BUS_NO_CONFLICT"
    )
    assert body["extra"]["receiptNumber"] == original["receiptNumber"]
    # and an issuance cannot take the busNo of a refund either
    post_red_offset(api, original, django_capture_on_commit_callbacks, busNo="TF1")
    error_of(api.post(ISSUE, nontax_payload("TF1")), 409, "BUS_NO_CONFLICT")


def test_a_second_red_offset_is_a_409(
    api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    post_red_offset(api, original, django_capture_on_commit_callbacks)
    body = error_of(
        post_red_offset(api, original, django_capture_on_commit_callbacks), 409, "RECEIPT_ALREADY_RED_OFFSET"
    )
    assert body["extra"]["redReceipt"]["receiptNumber"] == f"{int(original['receiptNumber']) + 1:010d}"


def test_a_receipt_exchanged_for_paper_is_a_409_that_says_what_to_do(
    api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    receipt = Receipt.objects.get(bus_no="HIS1")
    receipt_transition(receipt=receipt, target=ReceiptStatus.PAPER_CONVERTED, actor=Actor.system("tests"))
    body = error_of(
        post_red_offset(api, original, django_capture_on_commit_callbacks), 409, "RECEIPT_PAPER_OUTSTANDING"
    )
    assert body["message"] == "该票据已换开纸质票据，须先收回并作废纸质票据后才能冲红。"


def test_a_red_receipt_is_a_422(api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    red = post_red_offset(api, original, django_capture_on_commit_callbacks).json()
    error_of(post_red_offset(api, red, django_capture_on_commit_callbacks), 422, "RECEIPT_IS_RED")


def test_an_unsigned_original_is_a_409(api: Any, django_capture_on_commit_callbacks: Any) -> None:
    # given a receipt the platform could not sign (the unit has no certificate)
    with django_capture_on_commit_callbacks(execute=True):
        original = api.post(ISSUE, nontax_payload("HIS2")).json()
    body = error_of(post_red_offset(api, original, django_capture_on_commit_callbacks), 409, "NOT_SIGNED_YET")
    assert body["extra"]["signStatus"] != "signed"


@pytest.mark.parametrize("reason", ["", "  ", "退" * (REASON_MAX_LENGTH + 1)], ids=["empty", "blank", "too long"])
def test_an_empty_or_over_long_reason_is_a_422(
    api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any, reason: str
) -> None:
    response = post_red_offset(api, original, django_capture_on_commit_callbacks, reason=reason)
    error_of(response, 422, "RED_OFFSET_REASON_INVALID")
    assert not Receipt.objects.filter(is_red=True).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"busNo": "TF1"}, "reason"),
        ({"reason": 12}, "reason"),
        ({"reason": None}, "reason"),
        ({"reason": REASON, "busNo": "退费 1"}, "busNo"),
        ({"reason": REASON, "busNo": "x" * 65}, "busNo"),
        ({"reason": REASON, "busNo": 7}, "busNo"),
        ({"reason": REASON, "amount": "-55.50"}, "amount"),
    ],
)
def test_malformed_input_is_invalid_input(api: Any, original: dict[str, Any], body: dict[str, Any], field: str) -> None:
    assert set(fields_of(api.post(red_offset_url(original), body))) == {field}
    assert not Receipt.objects.filter(is_red=True).exists()


def test_a_body_that_is_not_an_object_is_invalid_input(api: Any, original: dict[str, Any]) -> None:
    assert set(fields_of(api.post(red_offset_url(original), [REASON]))) == {""}


def test_an_empty_bus_no_counts_as_left_out(
    api: Any, original: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    response = post_red_offset(api, original, django_capture_on_commit_callbacks, busNo="")
    assert response.status_code == 201
    assert response.json()["busNo"] is None


@pytest.mark.parametrize(
    ("code", "number", "field"), [("4301012", "0000000001", "receiptCode"), ("43010126", "1", "receiptNumber")]
)
def test_a_malformed_code_or_number_is_invalid_input(
    api: Any, original: dict[str, Any], code: str, number: str, field: str
) -> None:
    url = red_offset_url({"receiptCode": code, "receiptNumber": number})
    assert set(fields_of(api.post(url, {"reason": REASON}))) == {field}


def test_a_receipt_that_does_not_exist_is_a_404(api: Any, original: dict[str, Any]) -> None:
    url = red_offset_url({"receiptCode": original["receiptCode"], "receiptNumber": "0000009999"})
    error_of(api.post(url, {"reason": REASON}), 404, "RECEIPT_NOT_FOUND")


def test_another_units_receipt_is_a_404(other_api: Any, original: dict[str, Any]) -> None:
    error_of(other_api.post(red_offset_url(original), {"reason": REASON}), 404, "RECEIPT_NOT_FOUND")
    assert Receipt.objects.get(bus_no="HIS1").status == ReceiptStatus.ISSUED


def test_a_read_only_credential_is_a_403(read_only_api: Any, original: dict[str, Any]) -> None:
    error_of(read_only_api.post(red_offset_url(original), {"reason": REASON}), 403, "SCOPE_READ_ONLY")
    assert not Receipt.objects.filter(is_red=True).exists()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_refused(api: Any, original: dict[str, Any], method: str) -> None:
    error_of(api.request(method, red_offset_url(original)), 405, "METHOD_NOT_ALLOWED")


def test_an_unsigned_request_is_refused(unit: Unit, original: dict[str, Any]) -> None:
    error_of(
        Client().post(red_offset_url(original), {"reason": REASON}, content_type="application/json"),
        401,
        "AUTH_REQUIRED",
    )
