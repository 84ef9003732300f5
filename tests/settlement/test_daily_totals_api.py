"""GET /api/v1/reconciliation/daily: a unit's counts and amounts of one day, by kind."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from issuance.models import Receipt, SignStatus
from issuance.red_offset import receipt_red_offset
from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import BATCH, DAILY, error_of, fields_of
from zhongtai.audit.services import Actor

BUS_DAY = "2025-03-01"


def red_offset_of(receipt: Receipt) -> Receipt:
    """The red receipt of ``receipt``, made by the red-offset service (signing is not under test here)."""
    Receipt.objects.filter(pk=receipt.pk).update(sign_status=SignStatus.SIGNED)
    receipt.refresh_from_db()
    red, _ = receipt_red_offset(receipt=receipt, reason="退费", actor=Actor.system("tests"), source="api")
    return red


@pytest.fixture
def day_of_receipts(api: Any) -> None:
    """Today: two non-tax receipts (55.50 each, one dated BUS_DAY) and one outpatient (25.00)."""
    receipts = [nontax_payload("N1"), nontax_payload("N2", busDate=BUS_DAY), outpatient_payload("M1")]
    assert api.post(BATCH, {"receipts": receipts}).json()["created"] == 3


def today() -> str:
    return timezone.localdate().isoformat()


def totals(api: Any, query: str) -> dict[str, Any]:
    response = api.get(f"{DAILY}?{query}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_daily_totals_count_and_sum_each_kind_by_issue_date(api: Any, unit: Any, day_of_receipts: None) -> None:
    body = totals(api, f"date={today()}")
    assert (body["date"], body["basis"], body["unitCode"]) == (today(), "issue", unit.code)
    assert body["kinds"] == [
        {
            "kindCode": "0101",
            "kindName": "非税收入统一票据",
            "count": 2,
            "amount": "111.00",
            "redCount": 0,
            "redAmount": "0.00",
        },
        {
            "kindCode": "0601",
            "kindName": "医疗门诊收费票据",
            "count": 1,
            "amount": "25.00",
            "redCount": 0,
            "redAmount": "0.00",
        },
    ]
    assert body["total"] == {"count": 3, "amount": "136.00", "redCount": 0, "redAmount": "0.00", "netAmount": "136.00"}


def test_daily_totals_by_business_date_count_the_receipts_of_that_business_day(api: Any, day_of_receipts: None) -> None:
    body = totals(api, f"date={BUS_DAY}&basis=business")
    assert body["basis"] == "business"
    assert [(k["kindCode"], k["count"], k["amount"]) for k in body["kinds"]] == [("0101", 1, "55.50")]


def test_daily_totals_by_issue_date_ignore_the_business_date(api: Any, day_of_receipts: None) -> None:
    body = totals(api, f"date={BUS_DAY}&basis=issue")
    assert body["kinds"] == []
    assert body["total"] == {"count": 0, "amount": "0.00", "redCount": 0, "redAmount": "0.00", "netAmount": "0.00"}


def test_daily_totals_count_red_receipts_apart_with_negative_amounts(api: Any, day_of_receipts: None) -> None:
    # given one of today's non-tax receipts was red-offset
    original = Receipt.objects.get(bus_no="N1")
    red_offset_of(original)
    # then the red receipt is counted apart and the net amount is reduced
    body = totals(api, f"date={today()}")
    nontax = body["kinds"][0]
    assert (nontax["count"], nontax["amount"], nontax["redCount"], nontax["redAmount"]) == (2, "111.00", 1, "-55.50")
    assert body["total"]["netAmount"] == "80.50"


def test_daily_totals_add_amounts_exactly(api: Any) -> None:
    # given amounts that do not add up exactly in binary floating point (0.10 + 0.20)
    line = {"itemCode": "F0002", "quantity": "0.01", "standard": "10.00", "amount": "0.10"}
    receipts = [
        nontax_payload("A", items=[line], totalAmount="0.10"),
        nontax_payload("B", items=[line | {"quantity": "0.02", "amount": "0.20"}], totalAmount="0.20"),
    ]
    assert api.post(BATCH, {"receipts": receipts}).json()["created"] == 2
    assert totals(api, f"date={today()}")["total"]["amount"] == "0.30"
    assert Receipt.objects.count() == 2
    assert sum(r.total_amount for r in Receipt.objects.all()) == Decimal("0.30")


def test_daily_totals_do_not_include_another_units_receipts(other_api: Any, day_of_receipts: None) -> None:
    body = totals(other_api, f"date={today()}")
    assert body["kinds"] == []
    assert body["total"]["count"] == 0


def test_read_only_credential_may_read_daily_totals(read_only_api: Any, day_of_receipts: None) -> None:
    assert totals(read_only_api, f"date={today()}")["total"]["count"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "date"),
        ("date=", "date"),
        ("date=2025-3-1", "date"),
        ("date=2025-02-29", "date"),
        ("date=yesterday", "date"),
        ("date=2025-03-01&basis=payment", "basis"),
        ("date=2025-03-01&basis=ISSUE", "basis"),
    ],
)
def test_malformed_daily_totals_parameter_is_invalid_input(api: Any, query: str, field: str) -> None:
    assert set(fields_of(api.get(f"{DAILY}?{query}"))) == {field}


def test_daily_totals_refuse_post_with_405(api: Any) -> None:
    error_of(api.post(f"{DAILY}?date={BUS_DAY}", {}), 405, "METHOD_NOT_ALLOWED")


def test_daily_totals_need_a_signature(unit: Any) -> None:
    error_of(Client().get(f"{DAILY}?date={BUS_DAY}"), 401, "AUTH_REQUIRED")
