#!/usr/bin/env python
"""Walk the demo province in Chromium as every demo login and photograph its main pages.

Run it against a server that serves the demo (``make run``, or any host with ``load_demo``
loaded), from the same checkout and with the same environment, so that it can read a demo
receipt's elements for the QR link::

    .venv/bin/python bin/user_guide_screens.py --base-url http://127.0.0.1:8000 \
        --out docs/user-guide/images

It signs in through the real sign-in form (with the demo's published TOTP secrets for the
bureau logins), checks that each page answers with what it should show, and fails loudly
otherwise: it is also an end-to-end check that every demo login reaches its pages.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from issuance.layout.verify_url import verify_url  # noqa: E402
from issuance.models import Receipt, SignStatus  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402
from zhongtai.accounts import totp  # noqa: E402
from zhongtai.masterdata import demo_data as demo  # noqa: E402

SECRETS = {user.username: user.totp_secret for user in demo.DEMO_USERS if user.totp_secret}


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    secret = SECRETS.get(username)
    if secret:
        expect(page.locator("h1")).to_have_text("输入动态口令")
        page.get_by_label("动态口令").fill(totp.totp(totp.secret_from_base32(secret), timezone.now()))
        page.get_by_role("button", name="验证并登录").click()
    page.wait_for_url("**/portal/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default=str(ROOT / "docs" / "user-guide" / "images"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    receipt = (
        Receipt.objects.select_related("kind")
        .filter(sign_status=SignStatus.SIGNED, sandbox=False, is_red=False, unit__code="430102003")
        .order_by("-issued_at")
        .first()
    )
    if receipt is None:
        print("演示数据中没有已签章的票据：请先运行 manage.py load_demo。", file=sys.stderr)
        return 1

    # Everything read from the database is read now: Django refuses the ORM inside Playwright's loop.
    kind_name = receipt.kind.name
    detail = f"/portal/receipts/{receipt.receipt_code}/{receipt.number_text}/"
    qr = verify_url(
        receipt_code=receipt.receipt_code,
        number=receipt.number,
        check_code=receipt.check_code,
        issue_date=receipt.issue_date,
        amount=receipt.total_amount,
        base_url="",
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)

        def visit(username: str | None, steps: list[tuple[str, str, Callable[[Page], None]]]) -> None:
            context = browser.new_context(
                base_url=args.base_url,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
                viewport={"width": 1366, "height": 900},
            )
            context.set_default_timeout(15_000)
            page = context.new_page()
            if username:
                sign_in(page, username)
            for path, name, check in steps:
                response = page.goto(path)
                assert response is not None and response.ok, (
                    f"{username}: {path} answered {response and response.status}"
                )
                check(page)
                page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                print(f"{username or '访客'}: {path} -> {name}.png")
            context.close()

        def heading(text: str) -> Callable[[Page], None]:
            return lambda page: expect(page.get_by_role("heading", name=text)).to_be_visible()

        def h1(text: str) -> Callable[[Page], None]:
            return lambda page: expect(page.locator("h1").first).to_contain_text(text)

        visit(
            None,
            [("/", "demo-front-door", heading("省级财政电子票据平台")), (qr, "demo-verify-qr", h1("查验"))],
        )
        visit(
            "cashier",
            [
                ("/portal/", "demo-cashier-dashboard", h1("工作台")),
                ("/portal/issue/", "demo-cashier-issue", h1("开具票据")),
                ("/portal/receipts/", "demo-cashier-receipts", h1("票据查询")),
                (detail, "demo-cashier-receipt", h1(kind_name)),
                ("/portal/paper/", "demo-cashier-paper", h1("纸质票据")),
            ],
        )
        visit(
            "unitadmin",
            [("/accounts/unit-users/", "demo-unitadmin-users", h1("本单位用户"))],
        )
        visit("fuyou", [("/workbench/", "demo-fuyou-workbench", h1("接入与上线"))])
        visit(
            "changsha",
            [
                ("/workbench/", "demo-changsha-workbench", h1("")),
                ("/workbench/rollout/", "demo-changsha-rollout", h1("推广进度")),
                ("/portal/receipts/", "demo-changsha-receipts", h1("票据查询")),
                ("/admin/", "demo-changsha-admin", lambda page: expect(page.locator("#site-name")).to_be_visible()),
            ],
        )
        visit(
            "hunan",
            [
                ("/workbench/", "demo-hunan-workbench", h1("")),
                ("/workbench/rollout/", "demo-hunan-rollout", h1("推广进度")),
            ],
        )
        visit("auditor", [("/portal/receipts/", "demo-auditor-receipts", h1("票据查询"))])
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
