"""Fixtures and helpers of the issuance API tests.

The plain helpers (URLs, ``error_of``, ``violations_of``, ``issue_direct``) are also
imported by the API tests in tests/settlement and tests/zhongtai/gateway.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from django.utils import timezone

from issuance.models import Receipt
from issuance.payload import parse_issue_input
from issuance.services import receipt_issue
from tests.support.api import SignedClient, sign_headers
from tests.support.factories import FeeItemFactory, FeeStandardFactory, ReceiptKindFactory
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import FeeItem, FeeStandard, ReceiptKind, Unit

ISSUE = "/api/v1/receipts/issue"
BATCH = "/api/v1/receipts/batch"
LIST = "/api/v1/receipts"
DAILY = "/api/v1/reconciliation/daily"


def detail_url(receipt_code: str, number: str) -> str:
    return f"/api/v1/receipts/{receipt_code}/{number}"


def by_bus_no_url(bus_no: str) -> str:
    return f"/api/v1/receipts/by-bus-no/{bus_no}"


def get_escaped(api: SignedClient, url: str) -> Any:
    """GET a URL whose path holds percent-escapes, signed over the decoded path.

    The server verifies the path as Django decodes it (``request.path``), while
    SignedClient signs the path as written, so an escaped path must be signed decoded.
    """
    parts = urlsplit(url)
    path = unquote(parts.path)
    headers = sign_headers(app_id=api.app_id, secret=api.secret, method="GET", path=path, query=parts.query)
    return api.client.get(url, headers=headers)


def current_code(kind: str = "0101") -> str:
    """The receipt code a receipt of ``kind`` issued today gets: 43 + kind + 2-digit year."""
    return f"43{kind}{timezone.localdate().year % 100:02d}"


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert the one error shape with ``status`` and ``code``; return the body."""
    assert response.status_code == status, (response.status_code, response.content.decode())
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "extra"}, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


def fields_of(response: Any) -> dict[str, str]:
    """The field errors of an INVALID_INPUT answer."""
    return error_of(response, 400, "INVALID_INPUT")["extra"]["fields"]


def violations_of(response: Any) -> list[tuple[str, str]]:
    """(code, path) of every rule violation of a 422 answer, in order."""
    body = response.json()
    assert response.status_code == 422, (response.status_code, body)
    errors = body["extra"]["errors"]
    assert body["code"] == errors[0]["code"], "the first violation gives the response code"
    assert all(set(e) == {"code", "message", "path"} and e["message"] for e in errors)
    return [(e["code"], e["path"]) for e in errors]


def issue_direct(unit: Unit, payload: dict[str, Any]) -> Receipt:
    """Issue through the service (no HTTP), for tests that need a receipt to exist."""
    data, errors = parse_issue_input(payload, require_bus_no=False)
    assert data is not None, errors.fields
    receipt, created = receipt_issue(unit=unit, data=data, actor=Actor.system("tests"), source=Receipt.Source.API)
    assert created
    return receipt


def yesterday() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture
def kind_fine(unit: Unit, fee_fixed: FeeItem) -> ReceiptKind:
    """A kind whose receipts must name the payer's ID (罚款统一收据), allowed for ``unit``."""
    kind = ReceiptKindFactory(
        name="罚款统一收据",
        category_code="01",
        kind_code="05",
        specimen_code="FS0105",
        required_fields=["payer.code", "decisionNumber"],
    )
    unit.allowed_kinds.add(kind)
    return kind


@pytest.fixture
def fee_unpriced(unit: Unit) -> FeeItem:
    """A fee item allowed for ``unit`` that has no charging standard at all."""
    item = FeeItemFactory(code="F0009", name="无标准项目")
    unit.allowed_fee_items.add(item)
    return item


@pytest.fixture
def fee_expired(unit: Unit) -> FeeItem:
    """A fee item allowed for ``unit`` whose validity ended yesterday."""
    item = FeeItemFactory(code="F0010", name="已停征项目", valid_to=yesterday())
    FeeStandardFactory(fee_item=item, mode=FeeStandard.Mode.FIXED, amount=Decimal("10.00"))
    unit.allowed_fee_items.add(item)
    return item


@pytest.fixture
def fee_not_allowed(kind_nontax: ReceiptKind) -> FeeItem:
    """A fee item with a standard that ``unit`` was never allowed to charge."""
    item = FeeItemFactory(code="F0011", name="未授权项目")
    FeeStandardFactory(fee_item=item, mode=FeeStandard.Mode.FIXED, amount=Decimal("10.00"))
    return item
