"""The rollout in a real Chromium: a unit files a connection application, its bureau confirms it,
the province approves it, and the unit reads its sandbox credentials once."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.support.browser import screenshot
from zhongtai.gateway.models import ApiCredential
from zhongtai.onboarding.models import Application

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_a_connection_application_from_filing_to_sandbox_credentials(
    page: Page,
    browser_login: Callable[[Any], None],
    console_errors: list[str],
    make_user: Any,
    unit: Any,
    city_staff: Any,
    province_admin: Any,
) -> None:
    # Given the hospital's unit administrator, signed in
    hospital_admin = make_user("hospital_admin", "unit_admin", unit=unit)
    browser_login(hospital_admin)

    # when they file a connection application in the browser
    page.goto("/workbench/")
    page.get_by_role("link", name="提交对接申请").click()
    page.get_by_label("收费系统名称").fill("医院信息系统（HIS）")
    page.get_by_label("系统开发商").fill("湖南某医疗软件有限公司")
    page.get_by_label("技术联系人").fill("王工")
    page.get_by_label("技术联系电话").fill("13900001111")
    page.get_by_label("预计日开票量（张）").fill("3000")
    page.get_by_label("计划上线日期").fill((timezone.localdate() + datetime.timedelta(days=30)).isoformat())
    page.get_by_label("平台托管签名密钥").check()
    screenshot(page, "unit-admin-connection-application")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/workbench/applications/*/")
    application = Application.objects.get(unit=unit, kind=Application.Kind.CONNECTION)
    assert application.status == Application.Status.SUBMITTED

    # then Changsha's bureau confirms it
    page.context.clear_cookies()
    browser_login(city_staff)
    page.goto("/workbench/")
    screenshot(page, "bureau-workbench-home")
    page.goto(f"/workbench/applications/{application.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="确认").click()
    application.refresh_from_db()
    assert application.status == Application.Status.CONFIRMED
    # and Changsha may not approve for the province
    assert page.get_by_role("button", name="批准并生成联调测试凭证").count() == 0

    # and the province approves it, which creates the sandbox credentials
    page.context.clear_cookies()
    browser_login(province_admin)
    page.goto(f"/workbench/applications/{application.pk}/")
    screenshot(page, "province-approve-application")
    with page.expect_navigation():
        page.get_by_role("button", name="批准并生成联调测试凭证").click()
    expect(page.get_by_test_id("handover")).to_be_visible()
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    credential = ApiCredential.objects.get(unit=unit, sandbox=True)

    # and the unit administrator reads the secret exactly once
    page.context.clear_cookies()
    browser_login(hospital_admin)
    page.goto(f"/workbench/applications/{application.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="查看密钥（仅显示一次）").click()
    assert page.get_by_test_id("app-id").inner_text() == credential.app_id
    assert len(page.get_by_test_id("secret").inner_text()) >= 32
    page.goto(f"/workbench/applications/{application.pk}/")
    assert page.get_by_role("button", name="查看密钥（仅显示一次）").count() == 0
    assert console_errors == [], "\n".join(console_errors)
