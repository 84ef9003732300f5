"""Fixtures of the paper conversion tests: signed receipts and paper stock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from issuance.models import Receipt, SignStatus
from issuance.paper.models import PaperStock
from issuance.paper.services import paper_stock_receive
from issuance.payload import parse_issue_input
from issuance.services import receipt_issue
from tests.conftest import nontax_payload
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit

ACTOR = Actor.user("paper_tester")
PAPER_CODE = "43010125"
OTHER_CODE = "43010126"


def paper_url(receipt: Receipt, tail: str = "") -> str:
    return f"/api/v1/receipts/{receipt.receipt_code}/{receipt.number_text}/paper-conversion{tail}"


def void_url(paper_code: str, paper_number: int | str) -> str:
    number = paper_number if isinstance(paper_number, str) else f"{paper_number:010d}"
    return f"/api/v1/paper/{paper_code}/{number}/void"


STOCK_URL = "/api/v1/paper/stock"


def issue_for(
    unit: Unit, bus_no: str, *, issuing_point: str = "MZ01", source: str = Receipt.Source.API, **overrides: Any
) -> Receipt:
    """A non-tax receipt (``nontax_payload`` with ``overrides``) issued through the service."""
    payload = nontax_payload(bus_no, issuingPointCode=issuing_point, **overrides)
    data, errors = parse_issue_input(payload, require_bus_no=True)
    assert data is not None, errors.fields
    receipt, created = receipt_issue(unit=unit, data=data, actor=Actor.system("tests"), source=source)
    assert created
    return receipt


@pytest.fixture
def issue_signed(django_capture_on_commit_callbacks: Any) -> Callable[..., Receipt]:
    """``issue_signed(unit, bus_no)``: a receipt signed by the pipeline (needs the ``pki`` fixture)."""

    def issue(unit: Unit, bus_no: str, **kwargs: Any) -> Receipt:
        with django_capture_on_commit_callbacks(execute=True):
            receipt = issue_for(unit, bus_no, **kwargs)
        receipt.refresh_from_db()
        assert receipt.sign_status == SignStatus.SIGNED
        return receipt

    return issue


@pytest.fixture
def receipt(unit: Unit, pki: dict[str, Any], issue_signed: Callable[..., Receipt]) -> Receipt:
    """A signed non-tax receipt of the interface unit (55.50, payer 张三)."""
    return issue_signed(unit, "PAPER0001")


@pytest.fixture
def stock(unit: Unit) -> PaperStock:
    """Ten paper forms 43010125 / 0000000101-0000000110 held by the interface unit."""
    return paper_stock_receive(unit=unit, paper_code=PAPER_CODE, start_number=101, end_number=110, actor=ACTOR)
