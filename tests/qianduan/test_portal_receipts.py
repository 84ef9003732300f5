"""Receipt lists, the receipt page, its files and the Excel export, each scoped to the user."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from issuance.models import Receipt, SignStatus

pytestmark = pytest.mark.django_db

LIST = "/portal/receipts/"
EXPORT = "/portal/receipts/export/"


def page_of(receipt: Receipt, suffix: str = "") -> str:
    return f"/portal/receipts/{receipt.receipt_code}/{receipt.number_text}/{suffix}"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_receipts_are_signed_for_the_portal_tests(portal_receipts: dict[str, Receipt]) -> None:
    assert {r.sign_status for r in portal_receipts.values()} == {SignStatus.SIGNED}


def test_a_cashier_lists_only_their_units_receipts(cashier: Any, portal_receipts: dict[str, Receipt]) -> None:
    page = signed_in(cashier).get(LIST).content.decode()
    assert portal_receipts["mine"].number_text in page
    assert "湖南星城建设有限公司" in page
    assert "李四" not in page


def test_a_cashier_bound_to_a_window_sees_that_window_only(
    make_user: Any, networked_unit: Any, portal_receipts: dict[str, Receipt]
) -> None:
    window2 = make_user(
        "w2", "cashier", unit=networked_unit, issuing_point=networked_unit.issuing_points.get(code="CK02")
    )
    page = signed_in(window2).get(LIST).content.decode()
    assert "湖南星城建设有限公司" in page
    assert signed_in(window2).get(page_of(portal_receipts["mine"])).status_code == 404


def test_city_staff_list_every_unit_in_their_region(city_staff: Any, portal_receipts: dict[str, Receipt]) -> None:
    page = signed_in(city_staff).get(LIST).content.decode()
    assert "李四" in page and "湖南星城建设有限公司" in page


def test_filters_narrow_the_list(cashier: Any, portal_receipts: dict[str, Receipt]) -> None:
    client = signed_in(cashier)
    page = client.get(LIST, {"payer": "星城"}).content.decode()
    assert "湖南星城建设有限公司" in page and "张三" not in page
    mine = portal_receipts["mine"]
    page = client.get(LIST, {"number": f"{mine.receipt_code}{mine.number_text}"}).content.decode()
    assert "共 1 张" in page
    page = client.get(LIST, {"amount_min": "100"}).content.decode()
    assert "没有符合条件的票据" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "截止日期不能早于起始日期"),
        ({"date_from": "2024-01-01", "date_to": "2026-01-01"}, "查询区间不能超过一年"),
        ({"date_from": "not-a-date"}, "有效的日期"),
        ({"number": "12ab"}, "只能包含数字"),
        ({"amount_min": "9", "amount_max": "1"}, "金额上限不能小于下限"),
        ({"status": "bogus"}, "选择一个有效的选项"),
    ],
)
def test_bad_filters_are_explained_and_list_nothing(
    cashier: Any, portal_receipts: dict[str, Receipt], query: dict[str, str], message: str
) -> None:
    page = signed_in(cashier).get(LIST, query).content.decode()
    assert message in page
    assert "共 0 张" in page


def test_export_writes_the_filtered_list_to_excel(cashier: Any, portal_receipts: dict[str, Receipt]) -> None:
    response = signed_in(cashier).get(EXPORT, {"payer": "张三"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("票据代码", "票据号码", "校验码")
    assert len(rows) == 2
    assert rows[1][1] == portal_receipts["mine"].number_text
    assert Decimal(str(rows[1][9])) == Decimal("55.50")


def test_the_receipt_page_shows_items_and_history(cashier: Any, portal_receipts: dict[str, Receipt]) -> None:
    page = signed_in(cashier).get(page_of(portal_receipts["mine"])).content.decode()
    assert "证书工本费" in page
    assert "伍拾伍元伍角整" in page
    assert "开具" in page and "签章" in page  # the history


def test_another_units_receipt_is_not_found(other_cashier: Any, portal_receipts: dict[str, Receipt]) -> None:
    client = signed_in(other_cashier)
    mine = portal_receipts["mine"]
    for suffix in ("", "pdf/", "xml/"):
        assert client.get(page_of(mine, suffix)).status_code == 404
    assert client.get(page_of(mine, "x").replace("/x", "/abc/")).status_code == 404


def test_the_pdf_and_xml_download(cashier: Any, portal_receipts: dict[str, Receipt]) -> None:
    client = signed_in(cashier)
    pdf = client.get(page_of(portal_receipts["mine"], "pdf/"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"].startswith("attachment")
    assert client.get(page_of(portal_receipts["mine"], "pdf/") + "?inline=1")["Content-Disposition"].startswith(
        "inline"
    )
    xml = client.get(page_of(portal_receipts["mine"], "xml/"))
    assert xml.status_code == 200 and b"<EInvoice" in xml.content


def test_an_auditor_may_look_but_not_export_outside_scope_or_act(
    auditor: Any, portal_receipts: dict[str, Receipt]
) -> None:
    client = signed_in(auditor)
    assert client.get(page_of(portal_receipts["mine"])).status_code == 200
    response = client.post(page_of(portal_receipts["mine"], "red-offset/"), {"reason": "退费", "confirm": "1"})
    assert response.status_code == 403


def test_the_wrong_method_is_refused(cashier: Any, portal_receipts: dict[str, Receipt]) -> None:
    client = signed_in(cashier)
    assert client.post(LIST).status_code == 405
    assert client.post(page_of(portal_receipts["mine"])).status_code == 405
    assert client.get(page_of(portal_receipts["mine"], "red-offset/")).status_code == 405
