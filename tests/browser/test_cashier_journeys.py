"""A cashier's day in a real Chromium: issue with three items, download the PDF, red-offset, scoping."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from issuance.models import Receipt, SignStatus
from issuance.states import ReceiptStatus
from tests.support.browser import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def pick_item(page: Page, row: int, query: str, code: str) -> None:
    """Type into row ``row``'s search box and choose ``code`` from the suggestions, by keyboard."""
    search = page.locator("tr.line").nth(row).locator(".item-search")
    search.fill(query)  # focuses the box and types, as a cashier does after Alt+A
    # the suggestions answering the whole query (not an earlier, shorter one) are in
    fresh = page.locator("tr.line").nth(row).locator(f'.suggest-list[data-query="{query}"]')
    fresh.locator(f'.suggestion[data-code="{code}"]').wait_for()
    search.press("ArrowDown")
    for _ in range(20):
        if page.evaluate("() => document.activeElement.dataset.code") == code:
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("tr.line").nth(row).locator(".item-code")).to_have_value(code)


def pick_by_enter(page: Page, row: int, query: str, code: str) -> None:
    """Type and press Enter at once, before any suggestion arrived: the first match for the whole query."""
    search = page.locator("tr.line").nth(row).locator(".item-search")
    search.fill(query)
    search.press("Enter")
    expect(page.locator("tr.line").nth(row).locator(".item-code")).to_have_value(code)


def issue_three_items(page: Page) -> Receipt:
    page.goto("/portal/issue/")
    page.get_by_label("交款人 *").fill("王小明")
    page.get_by_label("手机号码").fill("13912345678")
    pick_item(page, 0, "zsgbf", "F0001")  # 证书工本费 by pinyin initials
    page.locator("tr.line").nth(0).locator("input[name=item_qty]").fill("2")
    page.keyboard.press("Alt+A")
    pick_item(page, 1, "考务", "F0002")  # by name
    page.locator("tr.line").nth(1).locator("input[name=item_std]").fill("30")
    page.keyboard.press("Alt+A")
    pick_by_enter(page, 2, "F0001", "F0001")  # by code, typed and entered straight away
    # the live check shows the total and capitals computed on the server
    expect(page.locator("#total")).to_have_text("60.00")
    expect(page.locator("#total-capitals")).to_have_text("陆拾元整")
    expect(page.locator("#check-ok")).to_be_visible()
    expect(page.locator("tr.line").nth(0).locator(".item-amount")).to_have_text("20.00")
    screenshot(page, "cashier-issue-form")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="预览").click()
    page.locator("#preview").wait_for()
    screenshot(page, "cashier-issue-preview")
    # No live check in flight when the form is sent: the live server of the SQLite pass shares one
    # database connection between its request threads, so overlapping requests would trip each other.
    page.wait_for_load_state("networkidle")
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/portal/receipts/*/*/")
    return Receipt.objects.get(payer_name="王小明")


def test_a_cashier_issues_three_items_and_downloads_the_pdf(
    page: Page, browser_login: Callable[[Any], None], console_errors: list[str], cashier: Any, networked_pki: Any
) -> None:
    browser_login(cashier)
    receipt = issue_three_items(page)
    assert receipt.items.count() == 3
    assert receipt.sign_status == SignStatus.SIGNED
    assert page.locator("#sign-status").inner_text() == "已签章"
    assert "票据已开具" in page.locator(".messages").inner_text()
    with page.expect_download() as download_info:
        page.locator("#download-pdf").click()
    download = download_info.value
    assert download.suggested_filename == f"{receipt.receipt_code}-{receipt.number_text}.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    screenshot(page, "cashier-receipt-detail")
    assert console_errors == [], "\n".join(console_errors)


def test_a_cashier_red_offsets_a_receipt(
    page: Page, browser_login: Callable[[Any], None], console_errors: list[str], cashier: Any, networked_pki: Any
) -> None:
    browser_login(cashier)
    original = issue_three_items(page)
    page.locator("#red-offset summary").click()
    page.get_by_label("冲红原因").fill("交款人申请退费")
    page.get_by_label("我已核对，确认冲红整张票据").check()
    screenshot(page, "cashier-red-offset")
    page.locator("#confirm-red-offset").click()
    page.wait_for_url("**/portal/receipts/*/*/")
    original.refresh_from_db()
    assert original.status == ReceiptStatus.RED_OFFSET
    red = original.red_receipts.get()
    assert red.total_amount == -original.total_amount
    assert page.url.endswith(f"/portal/receipts/{red.receipt_code}/{red.number_text}/")
    assert "已冲红" in page.locator(".messages").inner_text()
    assert page.locator("#sign-status").inner_text() == "已签章"
    assert console_errors == []


def test_a_cashier_of_unit_a_cannot_open_unit_bs_receipt(
    page: Page, browser_login: Callable[[Any], None], other_cashier: Any, cashier: Any, networked_pki: Any
) -> None:
    browser_login(cashier)
    receipt = issue_three_items(page)
    page.context.clear_cookies()
    browser_login(other_cashier)
    response = page.goto(f"/portal/receipts/{receipt.receipt_code}/{receipt.number_text}/")
    assert response is not None and response.status == 404
    response = page.goto(f"/portal/receipts/{receipt.receipt_code}/{receipt.number_text}/pdf/")
    assert response is not None and response.status == 404
    page.goto("/portal/receipts/")
    assert receipt.number_text not in page.content()
