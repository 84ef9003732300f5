"""Issuing in the browser: the form goes through the same parser, rules and service as the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from issuance.models import Receipt, SignStatus
from qianduan.issuing import catalogue_for, catalogue_search, new_form_token, pinyin_initials

pytestmark = pytest.mark.django_db

ISSUE = "/portal/issue/"
CHECK = "/portal/issue/check/"
ITEMS = "/portal/issue/items/"


def form_data(token: str | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "token": token or new_form_token(),
        "kind": "0101",
        "point": "CK01",
        "payer_type": "1",
        "payer_name": "张三",
        "payer_phone": "13800138000",
        "item_code": ["F0001", "F0002", "F0001"],
        "item_qty": ["2", "1", "1"],
        "item_std": ["", "30.00", ""],
        "item_remark": ["", "笔试", ""],
        "action": "issue",
    }
    data.update(overrides)
    return data


@pytest.fixture
def cashier_client(cashier: Any, networked_pki: Any) -> Client:
    client = Client()
    client.force_login(cashier)
    return client


def test_pinyin_initials_of_fee_item_names() -> None:
    assert pinyin_initials("证书工本费") == "zsgbf"
    assert pinyin_initials("考试考务费") == "kskwf"


def test_search_by_code_initials_and_name(networked_unit: Any, kind_nontax: Any) -> None:
    catalogue = catalogue_for(unit=networked_unit, kind=kind_nontax)
    assert [i.code for i in catalogue_search(catalogue, "F0002")] == ["F0002"]
    assert [i.code for i in catalogue_search(catalogue, "zsg")] == ["F0001"]
    assert [i.code for i in catalogue_search(catalogue, "考务")] == ["F0002"]
    assert catalogue_search(catalogue, "nothing-like-this") == []


def test_suggestions_come_from_the_units_allowed_items_only(
    cashier_client: Client, fee_medical: Any, kind_nontax: Any
) -> None:
    # given C0105 exists but the networked unit may not charge it
    response = cashier_client.get(ITEMS, {"kind": "0101", "q": "C01"})
    assert response.status_code == 200
    assert "C0105" not in response.content.decode()
    response = cashier_client.get(ITEMS, {"kind": "0101", "q": "gbf"})
    assert 'data-code="F0001"' in response.content.decode()
    assert 'data-std="10.00"' in response.content.decode()


def test_the_form_shows_the_units_kinds_and_points(cashier_client: Client) -> None:
    response = cashier_client.get(ISSUE)
    page = response.content.decode()
    assert response.status_code == 200
    assert "非税收入统一票据" in page
    assert "一号收费窗口" in page and "二号收费窗口" in page
    assert 'name="token"' in page


def test_live_check_computes_amounts_total_and_capitals(cashier_client: Client) -> None:
    response = cashier_client.post(CHECK, form_data(action=""))
    page = response.content.decode()
    assert response.status_code == 200
    # 2 x 10.00 + 1 x 30.00 + 1 x 10.00
    assert '<div class="figure" id="total">60.00</div>' in page
    assert "陆拾元整" in page
    assert 'id="check-ok"' in page
    assert not Receipt.objects.exists()  # the check writes nothing


def test_live_check_reports_a_price_outside_the_standard_on_its_line(cashier_client: Client) -> None:
    response = cashier_client.post(CHECK, form_data(item_std=["", "80.00", ""], action=""))
    page = response.content.decode()
    assert "第 2 行" in page and "超出收费标准" in page
    assert 'id="check-ok"' not in page


def test_issue_creates_a_signed_receipt_with_three_items(cashier_client: Client, networked_unit: Any) -> None:
    response = cashier_client.post(ISSUE, form_data())
    receipt = Receipt.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/receipts/{receipt.receipt_code}/{receipt.number_text}/"
    assert receipt.unit == networked_unit
    assert receipt.source == Receipt.Source.PORTAL
    assert receipt.issued_by == "cashier"
    assert receipt.total_amount == Decimal("60.00")
    assert receipt.items.count() == 3
    assert receipt.issuing_point.code == "CK01"
    assert receipt.sign_status == SignStatus.SIGNED


def test_a_resent_form_issues_once(cashier_client: Client) -> None:
    data = form_data()
    first = cashier_client.post(ISSUE, data)
    second = cashier_client.post(ISSUE, data)
    assert Receipt.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_preview_shows_the_receipt_and_writes_nothing(cashier_client: Client) -> None:
    response = cashier_client.post(ISSUE, form_data(action="preview"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="preview"' in page and "陆拾元整" in page
    assert not Receipt.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"payer_name": ""}, "必填"),
        ({"payer_phone": "12345"}, "手机或电话号码格式不正确"),
        ({"item_code": ["", "", ""]}, "请至少添加一个收费项目"),
        ({"item_qty": ["abc", "1", "1"]}, "第 1 行"),
        ({"point": "ZZ99"}, "开票点 ZZ99 不存在或已停用"),
        ({"token": "forged"}, "表单已过期"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_issued(
    cashier_client: Client, overrides: dict[str, Any], message: str
) -> None:
    data = form_data(**overrides)
    if overrides.get("token") == "forged":
        data["token"] = "forged"
    response = cashier_client.post(ISSUE, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Receipt.objects.exists()


def test_a_fee_item_of_another_unit_is_refused(cashier_client: Client, fee_medical: Any) -> None:
    response = cashier_client.post(ISSUE, form_data(item_code=["C0105", "F0002", "F0001"]))
    assert response.status_code == 422
    assert not Receipt.objects.exists()


def test_an_auditor_and_bureau_staff_cannot_issue(auditor: Any, city_staff: Any) -> None:
    for user in (auditor, city_staff):
        client = Client()
        client.force_login(user)
        assert client.get(ISSUE).status_code == 403
        assert client.post(ISSUE, form_data()).status_code == 403
    assert not Receipt.objects.exists()


def test_a_visitor_is_sent_to_the_sign_in_page(client: Client, networked_unit: Any) -> None:
    response = client.get(ISSUE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"] or "login" in response["Location"]


def test_the_wrong_method_is_refused(cashier_client: Client) -> None:
    assert cashier_client.put(ISSUE).status_code == 405
    assert cashier_client.get(CHECK).status_code == 405
    assert cashier_client.post(ITEMS).status_code == 405
