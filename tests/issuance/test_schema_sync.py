"""The OpenAPI description and the code that parses and answers stay in step.

Requests are parsed by issuance.payload while issuance.schemas documents them; the
answers are built by issuance.presenters. These tests fail when one moves alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from issuance import payload as parser
from issuance.models import Receipt
from issuance.presenters import receipt_detail, receipt_summary
from issuance.schemas import (
    BatchResultSerializer,
    IssueRequestSerializer,
    ItemInputSerializer,
    PayerSerializer,
    ReceiptDetailSerializer,
    ReceiptSummarySerializer,
)
from tests.conftest import nontax_payload
from tests.issuance.conftest import BATCH, ISSUE, fields_of, issue_direct
from zhongtai.masterdata.models import Unit

OPERATIONS = {
    "receipt_issue",
    "receipt_batch_issue",
    "receipt_get",
    "receipt_get_by_bus_no",
    "receipt_list_by_bus_date",
    "reconciliation_daily",
    "receipt_red_offset",
}


def required_fields(serializer: Any) -> set[str]:
    return {name for name, field in serializer.fields.items() if field.required}


# --- requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serializer", "accepted"),
    [
        (IssueRequestSerializer(), parser._TOP_FIELDS),
        (PayerSerializer(), parser._PAYER_FIELDS),
        (ItemInputSerializer(), parser._ITEM_FIELDS),
    ],
    ids=["request", "payer", "item"],
)
def test_documented_request_fields_are_the_accepted_fields(serializer: Any, accepted: set[str]) -> None:
    assert set(serializer.fields) == accepted


def test_documented_required_fields_are_required_by_the_parser(api: Any) -> None:
    # given an empty request, a payer and an item with nothing in them
    response = api.post(ISSUE, {"payer": {}, "items": [{}]})
    # then the parser asks for exactly the fields the schema marks required
    expected = (
        required_fields(IssueRequestSerializer()) - {"payer", "items"}
        | {f"payer.{name}" for name in required_fields(PayerSerializer())}
        | {f"items[0].{name}" for name in required_fields(ItemInputSerializer())}
    )
    assert set(fields_of(response)) == expected


@pytest.mark.parametrize(
    "optional", sorted(set(IssueRequestSerializer().fields) - required_fields(IssueRequestSerializer()))
)
def test_documented_optional_field_may_be_left_out(api: Any, optional: str) -> None:
    payload = nontax_payload()
    payload.pop(optional, None)
    assert api.post(ISSUE, payload).status_code == 201


# --- answers --------------------------------------------------------------------------------------


@pytest.fixture
def receipt(unit: Unit) -> Receipt:
    return issue_direct(unit, nontax_payload())


def test_documented_detail_fields_are_the_fields_answered(receipt: Receipt) -> None:
    body = receipt_detail(receipt)
    assert set(body) == set(ReceiptDetailSerializer().fields)
    assert set(body["payer"]) == set(PayerSerializer().fields)
    assert set(body["items"][0]) == set(ReceiptDetailSerializer().fields["items"].child.fields)


def test_documented_summary_fields_are_the_fields_answered(receipt: Receipt) -> None:
    assert set(receipt_summary(receipt)) == set(ReceiptSummarySerializer().fields)


def test_documented_batch_result_fields_are_the_fields_answered(api: Any) -> None:
    results = api.post(BATCH, {"receipts": [nontax_payload(), {}]}).json()["results"]
    assert {frozenset(r) for r in results} == {frozenset(BatchResultSerializer().fields)}


# --- the served schema and docs ---------------------------------------------------------------------


@pytest.fixture
def schema(db: Any) -> dict[str, Any]:
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_served_without_authentication(db: Any) -> None:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert b"openapi:" in response.content


def test_schema_lists_every_operation(schema: dict[str, Any]) -> None:
    operation_ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert operation_ids >= OPERATIONS


def test_schema_places_operations_under_api_v1(schema: dict[str, Any]) -> None:
    assert set(schema["paths"]) >= {
        "/api/v1/receipts/issue",
        "/api/v1/receipts/batch",
        "/api/v1/receipts",
        "/api/v1/receipts/by-bus-no/{bus_no}",
        "/api/v1/receipts/{receipt_code}/{number}",
        "/api/v1/receipts/{receipt_code}/{number}/red-offset",
        "/api/v1/reconciliation/daily",
    }


def test_schema_documents_the_issue_request_fields(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    request_schema = next(v for k, v in components.items() if k.startswith("IssueRequest"))
    assert set(request_schema["properties"]) == parser._TOP_FIELDS


def test_schema_declares_the_signature_security_scheme(schema: dict[str, Any]) -> None:
    assert "HmacSignature" in schema["components"]["securitySchemes"]


def test_api_docs_page_renders_without_authentication(db: Any) -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()
    assert b"/api/schema/" in response.content
