"""The public verification page in a real Chromium: a scanned QR link, and the form on a phone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from issuance.jobs import receipt_step_run_now
from issuance.models import Receipt, ReceiptJob, SignStatus
from tests.conftest import outpatient_payload
from tests.issuance.conftest import issue_direct
from tests.support.browser import qr_path, screenshot
from verification.captcha import captcha_issue

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_like_receipt(unit: Any, pki: Any) -> Receipt:
    """A signed outpatient receipt of the hospital, as the demo issues them."""
    receipt = issue_direct(unit, outpatient_payload("BROWSER-0001"))
    receipt_step_run_now(receipt=receipt, step=ReceiptJob.Step.SIGN)
    receipt.refresh_from_db()
    assert receipt.sign_status == SignStatus.SIGNED
    return receipt


def test_a_scanned_qr_link_shows_the_receipt_verified(
    page: Page, console_errors: list[str], demo_like_receipt: Receipt
) -> None:
    # Given the link printed as the QR code of a receipt; when a phone opens it
    page.set_viewport_size({"width": 390, "height": 844})
    response = page.goto(qr_path(demo_like_receipt))

    # then the receipt is verified genuine, with its facts, at once (no captcha)
    assert response is not None and response.status == 200
    assert page.get_by_role("heading", name="查验结果").is_visible()
    assert page.get_by_role("heading", name="查验通过：该票据为真").is_visible()
    facts = page.locator("dl.facts").inner_text()
    assert demo_like_receipt.number_text in facts and "25.00" in facts and "李*" in facts
    assert page.locator(".statuses .badge").inner_text() == "正常"
    # and the page fits the phone's width (no sideways scrolling), styled by the portal's stylesheet
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert page.locator("header.topbar").evaluate("e => getComputedStyle(e).display") == "flex"
    assert page.get_by_role("link", name="下载版式文件（PDF）").is_visible()
    assert console_errors == []
    screenshot(page, "public-verify-result")


def test_a_wrong_check_code_on_the_form_says_no_such_receipt(
    page: Page, console_errors: list[str], demo_like_receipt: Receipt
) -> None:
    # Given the verification form on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/verify/")
    # the captcha is drawn: at least 3 curves behind, one stroke per character (4 or 5), 2 curves across
    assert page.locator("svg.captcha-image path").count() >= 9
    # when the code and number are typed with a wrong check code, and the captcha answered: the
    # answer is read on the server side, for a captcha issued there and put in the form
    wrong = "000000" if demo_like_receipt.check_code != "000000" else "000001"
    page.get_by_label("票据代码").fill(demo_like_receipt.receipt_code)
    page.get_by_label("票据号码").fill(demo_like_receipt.number_text)
    page.get_by_label("校验码", exact=True).fill(wrong)
    captcha, answer = captcha_issue()
    page.locator("input[name=captcha_id]").evaluate("(input, id) => { input.value = id; }", captcha.captcha_id)
    page.get_by_label("验证码（不区分大小写）").fill(answer.lower())
    screenshot(page, "public-verify-form")
    page.get_by_role("button", name="查验", exact=True).click()

    # then the answer is 查无此票, and the form is offered again, empty, with a new captcha
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="查无此票").is_visible()
    assert page.get_by_label("校验码", exact=True).input_value() == ""
    assert page.locator("input[name=captcha_id]").input_value() != captcha.captcha_id
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert console_errors == []
    screenshot(page, "public-verify-not-found")
