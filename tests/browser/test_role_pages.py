"""Each role reaches its pages in a real Chromium, signing in through the real form.

These journeys also take the screenshots of the user guide (docs/user-guide/): run them with
EREC_SCREENSHOTS_DIR=docs/user-guide/images (``make screenshots``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from issuance.models import Receipt
from issuance.paper.services import paper_stock_receive
from tests.conftest import nontax_payload
from tests.issuance.conftest import issue_direct
from tests.support.browser import screenshot
from zhongtai.accounts import totp
from zhongtai.accounts.services import totp_provision
from zhongtai.audit.services import Actor

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
PASSWORD = "Test@2026pass"  # the persona password of tests/conftest.py


def sign_in(page: Page, username: str, code: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    if code is not None:
        expect(page.locator("h1")).to_have_text("输入动态口令")
        screenshot(page, "sign-in-totp")
        page.get_by_label("动态口令").fill(code)
        page.get_by_role("button", name="验证并登录").click()
    page.wait_for_url("**/portal/")


@pytest.fixture
def signed_receipt(networked_pki: Any, networked_unit: Any, django_capture_on_commit_callbacks: Any) -> Receipt:
    with django_capture_on_commit_callbacks(execute=True):
        receipt = issue_direct(networked_unit, nontax_payload("TOUR-1", issuingPointCode="CK01"))
    receipt.refresh_from_db()
    return receipt


def test_bureau_staff_sign_in_with_totp_and_reach_the_workbench(
    page: Page, console_errors: list[str], city_staff: Any, unit: Any
) -> None:
    secret = totp.secret_generate()
    totp_provision(user=city_staff, secret=secret, actor=Actor.system("tests"), now=timezone.now())
    page.goto("/accounts/login/")
    screenshot(page, "sign-in")
    sign_in(page, "changsha_staff", totp.totp(secret, timezone.now()))
    expect(page.locator("header .who")).to_contain_text("财政部门工作人员")
    page.goto("/workbench/rollout/")
    expect(page.locator("h1")).to_contain_text("推广进度")
    screenshot(page, "bureau-rollout-dashboard")
    page.goto("/workbench/import/")
    expect(page.locator("h1")).to_have_text("单位基础信息归集（Excel 导入）")
    screenshot(page, "bureau-unit-import")
    page.goto("/admin/")
    expect(page.locator("#site-name")).to_contain_text("财政电子票据管理系统")
    screenshot(page, "bureau-admin")
    page.goto("/admin/masterdata/unit/")
    expect(page.locator("#result_list")).to_contain_text("长沙市芙蓉区人民医院")
    assert console_errors == [], "\n".join(console_errors)


def test_a_cashier_converts_to_paper_and_sends_a_receipt(
    page: Page, console_errors: list[str], cashier: Any, signed_receipt: Receipt, networked_unit: Any
) -> None:
    paper_stock_receive(
        unit=networked_unit, paper_code="43010199", start_number=1, end_number=100, actor=Actor.system("tests")
    )
    sign_in(page, "cashier")
    screenshot(page, "cashier-dashboard")
    page.goto("/portal/receipts/")
    expect(page.locator("#receipt-table")).to_contain_text(signed_receipt.number_text)
    screenshot(page, "cashier-receipt-list")
    page.goto(f"/portal/receipts/{signed_receipt.receipt_code}/{signed_receipt.number_text}/")
    # send by SMS to the payer (the console provider of the embedded default records it)
    send = page.locator("form[hx-post*='/send/']")
    send.get_by_role("button", name="发送").click()
    expect(page.get_by_test_id("send-result")).to_contain_text("138****8000")
    # convert to paper on the next paper number and print it
    with page.expect_navigation():
        page.get_by_role("button", name="换开纸质票据").click()
    signed_receipt.refresh_from_db()
    assert signed_receipt.status == "paper_converted"
    page.goto("/portal/paper/")
    expect(page.locator("main")).to_contain_text("43010199")
    screenshot(page, "cashier-paper-stock")
    page.goto("/portal/messages/")
    expect(page.locator("main")).to_contain_text("138****8000")
    screenshot(page, "cashier-messages")
    assert console_errors == [], "\n".join(console_errors)


def test_a_unit_administrator_manages_the_units_cashiers(
    page: Page, browser_login: Callable[[Any], None], console_errors: list[str], unit_admin: Any
) -> None:
    browser_login(unit_admin)
    page.goto("/accounts/unit-users/")
    expect(page.locator("h1")).to_contain_text("本单位用户")
    screenshot(page, "unit-admin-users")
    page.goto("/accounts/security/")
    screenshot(page, "account-security")
    assert console_errors == [], "\n".join(console_errors)


def test_an_auditor_sees_receipts_but_no_issuing(
    page: Page, browser_login: Callable[[Any], None], auditor: Any, signed_receipt: Receipt
) -> None:
    browser_login(auditor)
    page.goto("/portal/receipts/")
    expect(page.locator("#receipt-table")).to_contain_text(signed_receipt.number_text)
    assert page.locator("nav").get_by_role("link", name="开具票据").count() == 0
    response = page.goto("/portal/issue/")
    assert response is not None and response.status == 403
    screenshot(page, "auditor-receipts")
