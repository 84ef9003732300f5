"""Session limits: an idle timeout (Django's session expiry) and an absolute one (here).

The idle timeout is ``SESSION_COOKIE_AGE`` (``EREC_SESSION_IDLE_MINUTES``) with
``SESSION_SAVE_EVERY_REQUEST``: each request pushes the session's expiry in the database
forward, and an expired session row is never loaded, on any host. The absolute limit
(``EREC_SESSION_MAX_HOURS``) counts from the sign-in, whatever the activity: the sign-in
time is written into the session by Django's ``user_logged_in`` signal, which every
``login()`` sends, and :class:`SessionLimitMiddleware` ends the session once it is too old.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

SIGNED_IN_AT = "erec_signed_in_at"


def record_sign_in_time(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """user_logged_in receiver: the session remembers when its user signed in."""
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()


def session_too_old(request: HttpRequest, *, now: float | None = None) -> bool:
    started = request.session.get(SIGNED_IN_AT)
    if not isinstance(started, int | float):
        return True  # a session from before the limit existed, or tampered with: start again
    current = time.time() if now is None else now
    return current - started > settings.EREC_SESSION_MAX_HOURS * 3600


class SessionLimitMiddleware:
    """Ends a signed-in session older than EREC_SESSION_MAX_HOURS and sends the user to sign in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and session_too_old(request):
            logout(request)
            messages.warning(request, f"登录已超过 {settings.EREC_SESSION_MAX_HOURS} 小时，为安全起见请重新登录。")
            response = redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if request.headers.get("HX-Request"):
                # htmx would swap the sign-in page into a fragment; make it load the page instead.
                location = response["Location"]
                response = HttpResponse(status=204)
                response["HX-Redirect"] = location
            return response
        return self.get_response(request)
