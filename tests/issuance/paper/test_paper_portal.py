"""The portal's paper pages: stock, converting and printing, voiding; each scoped to the user."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from issuance.models import Receipt
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.services import paper_stock_receive, receipt_paper_convert
from issuance.states import ReceiptStatus
from tests.issuance.paper.conftest import ACTOR, PAPER_CODE
from zhongtai.audit.models import AuditEvent
from zhongtai.masterdata.models import Unit

STOCK_PAGE = "/portal/paper/"
BLANK_VOID = "/portal/paper/blank-void/"


def convert_url(receipt: Receipt) -> str:
    return f"/portal/receipts/{receipt.receipt_code}/{receipt.number_text}/paper/"


def print_url(code: str, number: int) -> str:
    return f"/portal/paper/{code}/{number:010d}/print"


def void_url(code: str, number: int) -> str:
    return f"/portal/paper/{code}/{number:010d}/void"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def counter_receipt(
    networked_pki: dict[str, Any], networked_unit: Unit, issue_signed: Callable[..., Receipt]
) -> Receipt:
    """A signed receipt of the networked unit, issued at window CK01."""
    return issue_signed(networked_unit, "CK-0001", issuing_point="CK01", source=Receipt.Source.PORTAL)


@pytest.fixture
def counter_stock(networked_unit: Unit) -> PaperStock:
    return paper_stock_receive(unit=networked_unit, paper_code=PAPER_CODE, start_number=1, end_number=20, actor=ACTOR)


# --- convert and print --------------------------------------------------------------------


def test_a_cashier_converts_and_gets_the_print_page(
    cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock
) -> None:
    client = signed_in(cashier)
    # when the cashier presses 换开纸质票据 on the receipt page
    response = client.post(convert_url(counter_receipt))
    # then the receipt is converted on the first form and the browser opens its print page
    assert response.status_code == 302
    assert response["Location"] == print_url(PAPER_CODE, 1)
    counter_receipt.refresh_from_db()
    assert counter_receipt.status == ReceiptStatus.PAPER_CONVERTED
    assert AuditEvent.objects.get(action="receipt.paper_convert").actor == "cashier"
    pdf = client.get(response["Location"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("inline;")
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert f"No. {PAPER_CODE} 0000000001" in text and counter_receipt.check_code in text


def test_a_cashier_may_name_the_paper_number(cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock) -> None:
    response = signed_in(cashier).post(convert_url(counter_receipt), {"paper_code": PAPER_CODE, "paper_number": "7"})
    assert response["Location"] == print_url(PAPER_CODE, 7)


def test_a_refused_conversion_is_explained_on_the_receipt_page(
    cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock
) -> None:
    client = signed_in(cashier)
    client.post(convert_url(counter_receipt))
    # when it is converted a second time
    response = client.post(convert_url(counter_receipt), follow=True)
    # then the cashier is back on the receipt with the reason, in Chinese
    assert response.redirect_chain[0][0].startswith(f"/portal/receipts/{counter_receipt.receipt_code}/")
    assert any("不能重复换开" in m for m in messages_of(response))
    assert PaperUse.objects.count() == 1


def test_a_bad_paper_number_is_refused_with_a_chinese_message(
    cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock
) -> None:
    response = signed_in(cashier).post(
        convert_url(counter_receipt), {"paper_code": "123", "paper_number": "x"}, follow=True
    )
    shown = messages_of(response)
    assert "纸质票据代码应为 8 位数字。" in shown
    assert any("纸质票据号码应为 1 到 10 位数字" in m for m in shown)
    assert not PaperUse.objects.exists()


def test_another_units_cashier_finds_nothing(
    other_cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock
) -> None:
    receipt_paper_convert(receipt=counter_receipt, actor=ACTOR)
    client = signed_in(other_cashier)
    assert client.post(convert_url(counter_receipt)).status_code == 404
    assert client.get(print_url(PAPER_CODE, 1)).status_code == 404
    assert client.post(void_url(PAPER_CODE, 1), {"reason": "recovered"}).status_code == 404
    assert client.post(void_url(PAPER_CODE, 5), {"reason": "damaged", "note": "x"}).status_code == 404
    assert PaperUse.objects.get().state == PaperUse.State.PRINTED


def test_a_cashier_of_another_window_cannot_print_this_windows_copy(
    make_user: Any, networked_unit: Unit, counter_receipt: Receipt, counter_stock: PaperStock
) -> None:
    window2 = make_user(
        "w2", "cashier", unit=networked_unit, issuing_point=networked_unit.issuing_points.get(code="CK02")
    )
    receipt_paper_convert(receipt=counter_receipt, actor=ACTOR)
    client = signed_in(window2)
    assert client.get(print_url(PAPER_CODE, 1)).status_code == 404
    assert client.post(void_url(PAPER_CODE, 1), {"reason": "recovered"}).status_code == 404


def test_an_auditor_may_look_but_not_change(auditor: Any, counter_receipt: Receipt, counter_stock: PaperStock) -> None:
    receipt_paper_convert(receipt=counter_receipt, actor=ACTOR)
    client = signed_in(auditor)
    page = client.get(STOCK_PAGE)
    assert page.status_code == 200
    assert "0000000001" in page.content.decode()
    assert client.post(convert_url(counter_receipt)).status_code == 403
    assert client.get(print_url(PAPER_CODE, 1)).status_code == 403
    assert client.post(void_url(PAPER_CODE, 1), {"reason": "recovered"}).status_code == 403
    assert client.post(BLANK_VOID, {"paper_code": PAPER_CODE, "paper_number": "5", "note": "x"}).status_code == 403
    assert client.post(STOCK_PAGE, _receive(100, 110)).status_code == 403
    assert PaperUse.objects.count() == 1 and PaperStock.objects.count() == 1


def test_wrong_methods_are_refused(cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock) -> None:
    client = signed_in(cashier)
    assert client.get(convert_url(counter_receipt)).status_code == 405
    assert client.get(void_url(PAPER_CODE, 1)).status_code == 405
    assert client.get(BLANK_VOID).status_code == 405
    assert client.post(print_url(PAPER_CODE, 1)).status_code == 405
    assert client.put(STOCK_PAGE).status_code == 405


def test_posts_need_the_csrf_token(cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cashier)
    assert client.post(convert_url(counter_receipt)).status_code == 403
    assert not PaperUse.objects.exists()


def test_visitors_are_sent_to_sign_in(client: Client, counter_receipt: Receipt) -> None:
    response = client.get(STOCK_PAGE)
    assert response.status_code == 302 and "next=/portal/paper/" in response["Location"]


# --- void --------------------------------------------------------------------------------


def test_a_misprint_is_voided_and_printed_again(
    cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock
) -> None:
    receipt_paper_convert(receipt=counter_receipt, actor=ACTOR)
    client = signed_in(cashier)
    response = client.post(void_url(PAPER_CODE, 1), {"reason": "misprint", "reprint": "on", "note": "卡纸"})
    assert response.status_code == 302 and response["Location"] == print_url(PAPER_CODE, 2)
    assert PaperUse.objects.get(paper_number=1).void_reason == "misprint"
    assert PaperUse.objects.get(paper_number=2).replaces.paper_number == 1  # type: ignore[union-attr]


def test_a_recovered_copy_is_voided_and_the_receipt_is_normal_again(
    cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock
) -> None:
    receipt_paper_convert(receipt=counter_receipt, actor=ACTOR)
    # the reprint box is ticked by default: it only applies to a misprint
    response = signed_in(cashier).post(void_url(PAPER_CODE, 1), {"reason": "recovered", "reprint": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == STOCK_PAGE
    assert any("已恢复为正常状态" in m for m in messages_of(response))
    counter_receipt.refresh_from_db()
    assert counter_receipt.status == ReceiptStatus.ISSUED
    assert PaperUse.objects.count() == 1


def test_a_damaged_blank_is_voided_from_the_stock_page(cashier: Any, counter_stock: PaperStock) -> None:
    client = signed_in(cashier)
    response = client.post(
        BLANK_VOID, {"paper_code": PAPER_CODE, "paper_number": "0000000005", "note": "受潮"}, follow=True
    )
    assert any("空白纸质票据" in m for m in messages_of(response))
    use = PaperUse.objects.get()
    assert (use.paper_number, use.void_reason, use.void_note) == (5, "damaged", "受潮")
    # a number not in the unit's stock is explained, not voided
    response = client.post(BLANK_VOID, {"paper_code": PAPER_CODE, "paper_number": "99", "note": "x"}, follow=True)
    assert any("库存中没有" in m for m in messages_of(response))
    # and missing fields are named
    response = client.post(BLANK_VOID, {"paper_code": "", "paper_number": ""}, follow=True)
    assert {"请填写纸质票据代码。", "请填写纸质票据号码。", "请说明损毁情况。"} <= set(messages_of(response))
    assert PaperUse.objects.count() == 1


# --- stock page ---------------------------------------------------------------------------


def _receive(start: int, end: int, **extra: str) -> dict[str, str]:
    return {"paper_code": PAPER_CODE, "start_number": str(start), "end_number": str(end), "note": "", **extra}


def test_the_stock_page_shows_the_accounting_and_recent_uses(
    cashier: Any, counter_receipt: Receipt, counter_stock: PaperStock
) -> None:
    receipt_paper_convert(receipt=counter_receipt, actor=ACTOR)
    response = signed_in(cashier).get(STOCK_PAGE)
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["totals"].received == 20 and response.context["totals"].on_hand == 19
    assert response.context["outstanding"] == 1
    assert "0000000001" in page and "0000000020" in page
    assert counter_receipt.number_text in page
    assert print_url(PAPER_CODE, 1) in page and void_url(PAPER_CODE, 1) in page
    # a cashier may void but not record stock
    assert response.context["receive_form"] is None and "paper-receive-form" not in page


def test_a_unit_administrator_records_stock(unit_admin: Any, networked_unit: Unit) -> None:
    response = signed_in(unit_admin).post(STOCK_PAGE, _receive(1, 50, note="领用单 7 号"), follow=True)
    assert any("共 50 份" in m for m in messages_of(response))
    stock = PaperStock.objects.get()
    assert (stock.unit, stock.start_number, stock.end_number, stock.note, stock.recorded_by) == (
        networked_unit,
        1,
        50,
        "领用单 7 号",
        "unitadmin",
    )


def test_a_cashier_may_not_record_stock(cashier: Any) -> None:
    assert signed_in(cashier).post(STOCK_PAGE, _receive(1, 50)).status_code == 403
    assert not PaperStock.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (_receive(1, 50, paper_code="4301"), "paper_code", "纸质票据代码应为 8 位数字。"),
        (_receive(50, 1), "end_number", "终止号码不能小于起始号码。"),
        (_receive(0, 1), "start_number", "起始号码应为 1 到 10 位数字，且不能为 0。"),
        (_receive(1, 200_000), "end_number", "一次登记不能超过 100000 份，请核对起止号码。"),
        ({"paper_code": PAPER_CODE}, "start_number", "请填写起始号码。"),
    ],
    ids=["short-code", "reversed", "zero", "too-many", "missing"],
)
def test_the_stock_form_explains_bad_input(
    unit_admin: Any, networked_unit: Unit, data: dict[str, str], field: str, message: str
) -> None:
    response = signed_in(unit_admin).post(STOCK_PAGE, data)
    assert response.status_code == 200
    assert response.context["receive_form"].errors[field] == [message]
    assert message in response.content.decode()
    assert not PaperStock.objects.exists()


def test_an_overlapping_range_is_explained(unit_admin: Any, counter_stock: PaperStock) -> None:
    response = signed_in(unit_admin).post(STOCK_PAGE, _receive(15, 30))
    assert response.status_code == 200
    assert any("重叠" in m for m in messages_of(response))
    assert PaperStock.objects.count() == 1


def test_bureau_staff_record_stock_for_a_unit_of_their_region(
    county_staff: Any, networked_unit: Unit, other_unit: Unit
) -> None:
    client = signed_in(county_staff)
    # a unit of Furong district: recorded
    client.post(STOCK_PAGE, _receive(1, 10, unit_code=networked_unit.code))
    assert PaperStock.objects.get().unit == networked_unit
    # a unit of Changsha city proper is outside Furong's bureau: refused as unknown
    response = client.post(STOCK_PAGE, _receive(11, 20, unit_code=other_unit.code))
    assert response.context["receive_form"].errors["unit_code"] == ["没有这个用票单位，或该单位不在您的管辖范围内。"]
    assert PaperStock.objects.count() == 1
    # the page lists the stock with its unit, and can be narrowed to one unit
    page = client.get(STOCK_PAGE, {"unit": networked_unit.code}).content.decode()
    assert networked_unit.name in page and "0000000010" in page


def test_bureau_staff_see_only_their_regions_stock(
    county_staff: Any, city_staff: Any, networked_unit: Unit, other_unit: Unit
) -> None:
    paper_stock_receive(unit=networked_unit, paper_code=PAPER_CODE, start_number=1, end_number=10, actor=ACTOR)
    paper_stock_receive(unit=other_unit, paper_code=PAPER_CODE, start_number=11, end_number=30, actor=ACTOR)
    assert signed_in(county_staff).get(STOCK_PAGE).context["totals"].received == 10
    assert signed_in(city_staff).get(STOCK_PAGE).context["totals"].received == 30
