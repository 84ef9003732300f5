"""Browser tests: a real headless Chromium (Debian's ``chromium``) driven by Playwright's sync API.

Fixtures:

- ``browser``: one Chromium for the session, launched on first use (tests that never ask for a
  page never start it).
- ``page``: a fresh context per test (zh-CN, Asia/Shanghai, 1366x900, 10 s timeouts) whose
  relative URLs go to pytest-django's ``live_server``: ``page.goto("/portal/")``. Asking for it
  gives the test transactional database access, which the live server needs to see test data.
  A test that asks for it fails after EREC_BROWSER_TEST_TIMEOUT seconds (180) rather than hang.
- ``browser_login``: ``browser_login(user)`` signs a Django user in to that page's context with a
  real session, bypassing the sign-in form on purpose (see tests/support/browser.py).
- ``console_errors``: the page's JavaScript console errors and uncaught exceptions, as text.
- ``live_server``: pytest-django's, serving static files, one request at a time on in-memory SQLite.

``screenshot(page, name)`` is in tests/support/browser.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.browser import CHROMIUM_ARGS, chromium_available, chromium_path, ci, sign_in_with_session

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

TIMEOUT_MS = 10_000
TEST_DEADLINE_S = int(os.environ.get("EREC_BROWSER_TEST_TIMEOUT", "180"))


HERE = Path(__file__).resolve().parent


def _is_browser_test(item: pytest.Item) -> bool:
    return HERE in item.path.parents or item.get_closest_marker("browser") is not None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests after every other test (keeping pytest-django's order otherwise).

    Once Playwright's sync API has started, its asyncio loop counts as running in the main
    thread until the session ends, and DJANGO_ALLOW_ASYNC_UNSAFE stays set (see
    ``_playwright``). Running the browser tests last keeps both away from the rest of the suite.
    """
    items[:] = [item for item in items if not _is_browser_test(item)] + [
        item for item in items if _is_browser_test(item)
    ]


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Playwright]:
    if not chromium_available():
        message = (
            f"Chromium not found at {chromium_path()}: run bin/ensure_test_browser.sh (as root) or set EREC_CHROMIUM"
        )
        if ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an asyncio event loop in this (the main) thread from start()
    # to stop(). Django's ORM refuses to run in a thread with a running loop
    # (SynchronousOnlyOperation), yet the test thread must keep using it next to the browser:
    # fixtures create users, browser_login writes a session, pytest-django flushes the tables
    # after each test. Nothing here is actually asynchronous (the loop only carries Playwright's
    # messages and is idle while Django code runs), so the check is switched off while
    # Playwright lives. The live server's own thread has no loop and is unaffected.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        yield playwright
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    launched = _playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


class OneRequestAtATime:
    """A WSGI wrapper that lets one request at a time into the application."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            return self.app(environ, start_response)


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """pytest-django's live server (static files included), made safe for in-memory SQLite.

    pytest-django's ``LiveServer`` serves static files through Django's StaticFilesHandler
    (like StaticLiveServerTestCase), from the apps' static folders, so ``{% static %}`` URLs
    load without collectstatic. Its server is threaded, and on the SQLite pass every request
    thread shares the test thread's one in-memory connection: two overlapping requests (a page
    and an htmx call, both saving the session) would start a transaction inside the other's.
    There the requests are taken one at a time; on PostgreSQL each thread has its own
    connection and they stay concurrent.
    """
    from pytest_django.live_server_helper import LiveServer

    address = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(address, start=False)
    if server.thread.connections_override:
        serve_static = server.thread.static_handler
        server.thread.static_handler = lambda app: OneRequestAtATime(serve_static(app))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1366, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        with _deadline(TEST_DEADLINE_S):
            yield context.new_page()
    finally:
        context.close()


class BrowserTestTimeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail a browser test that runs longer than ``seconds`` instead of hanging ``make test``.

    Playwright's own timeouts bound each call, not a test's loops around them (say, pressing a
    key until something appears). SIGALRM interrupts the main thread wherever it is; the
    exception reaches the test and the next tests still have a working browser.
    """

    def expire(signum: int, frame: Any) -> None:
        raise BrowserTestTimeout(f"browser test still running after {seconds} s (EREC_BROWSER_TEST_TIMEOUT)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def browser_login(page: Page, live_server: Any) -> Callable[[Any], None]:
    """``browser_login(user)``: the page's context is signed in as ``user`` (no sign-in form)."""

    def login(user: Any) -> None:
        sign_in_with_session(page, live_server.url, user)

    return login


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of ``page`` from now on (assert it stays empty).

    Console errors include resources that failed to load (a missing stylesheet or script).
    """
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        source = message.location.get("url") or page.url
        # Chromium asks every page without an icon link for /favicon.ico; the 404 is not the page's.
        if message.type == "error" and not source.endswith("/favicon.ico"):
            errors.append(f"{message.text} ({source})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors
