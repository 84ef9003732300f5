"""Browser tests: which Chromium to drive, signing a user in without the form, screenshots.

The fixtures themselves (``browser``, ``page``, ``browser_login``, ``console_errors``) are in
tests/browser/conftest.py; this module holds what tests/conftest.py and other helpers import.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from issuance.layout.verify_url import verify_url

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from issuance.models import Receipt

DEFAULT_CHROMIUM = "/usr/bin/chromium"

# Flags for a quiet, reproducible headless Chromium in containers and CI: no sandbox (we
# often run as root), no GPU, no background traffic to Google, /tmp instead of a small /dev/shm.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    """Debian's ``chromium`` (installed by ``make test``), or the browser named by EREC_CHROMIUM."""
    return os.environ.get("EREC_CHROMIUM") or DEFAULT_CHROMIUM


def chromium_available() -> bool:
    path = chromium_path()
    return os.path.isfile(path) and os.access(path, os.X_OK)


def ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def sign_in_with_session(page: Page, base_url: str, user: Any) -> None:
    """Sign ``user`` in to the browser of ``page`` by planting a real session cookie.

    This bypasses the sign-in form on purpose: most browser tests are about what a signed-in
    persona sees and does, and going through the form (password, then TOTP for some roles)
    in every test would make them slow and couple them all to the login pages. The sign-in
    journey itself is tested separately, through the form.

    ``Client.force_login`` runs Django's real ``login()``: it creates a session row in the
    test database (which the live server shares) and sets the session cookie, which we copy
    into the Playwright context for the live server's origin.
    """
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    session_id = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_id, "url": base_url, "httpOnly": True}]
    )


def screenshot(page: Page, name: str) -> Path | None:
    """Save a full-page PNG of ``page`` as ``$EREC_SCREENSHOTS_DIR/<name>.png``; a no-op when unset.

    Used to regenerate the user guide's pictures (docs/user-guide/images) from the browser
    tests: ``EREC_SCREENSHOTS_DIR=docs/user-guide/images .venv/bin/python -m pytest tests/browser``.
    """
    folder = os.environ.get("EREC_SCREENSHOTS_DIR")
    if not folder:
        return None
    if not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"screenshot name must be a plain file name, got {name!r}")
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def qr_path(receipt: Receipt) -> str:
    """The path and query the receipt's printed QR code opens (its base URL is the configured one)."""
    link = verify_url(
        receipt_code=receipt.receipt_code,
        number=receipt.number,
        check_code=receipt.check_code,
        issue_date=receipt.issue_date,
        amount=receipt.total_amount,
    )
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"
