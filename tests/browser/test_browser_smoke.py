"""The browser-test machinery works: Chromium loads our pages, their CSS and scripts, without errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.browser import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page, Response

pytestmark = pytest.mark.browser


def test_front_door_loads_with_its_chinese_title(page: Page, console_errors: list[str], unit: Any) -> None:
    # Given a province with an interface unit; when a visitor opens the front door
    response = page.goto("/")

    # then it answers, in Chinese, with no script errors
    assert response is not None and response.status == 200
    assert "财政电子票据管理系统" in page.title()
    assert page.get_by_role("heading", name="省级财政电子票据平台").is_visible()
    assert console_errors == []
    screenshot(page, "front-door")


def test_portal_page_loads_its_stylesheet_and_htmx(
    page: Page, browser_login: Callable[[Any], None], console_errors: list[str], cashier: Any
) -> None:
    # Given the cashier persona, signed in with a real session
    browser_login(cashier)
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))

    # when they open the portal
    page.goto("/portal/")
    page.wait_for_load_state("load")

    # then it is their dashboard, not the sign-in page
    assert page.url.endswith("/portal/")
    assert page.locator("h1").inner_text().startswith("工作台")
    assert "cashier" in page.locator("header .who").inner_text()
    # and the stylesheet and the vendored htmx came from the live server's static files
    static = {r.url.rsplit("/", 1)[-1]: r.status for r in responses if "/static/" in r.url}
    assert static.get("portal.css") == 200
    assert static.get("htmx-2.0.11.min.js") == 200
    assert page.evaluate("() => typeof window.htmx !== 'undefined' && window.htmx.version") == "2.0.11"
    # and applied: portal.css lays the top bar out as a flex row
    assert page.locator("header.topbar").evaluate("e => getComputedStyle(e).display") == "flex"
    # and nothing went wrong in the page's JavaScript
    assert console_errors == []
    screenshot(page, "portal-dashboard")
