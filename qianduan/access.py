"""Access to portal pages: signed in, with a role, and allowed to do what the page does."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from qianduan.navigation import request_scope
from zhongtai.accounts.scoping import Permission

View = Callable[..., HttpResponse]


def portal_view(*needs: Permission) -> Callable[[View], View]:
    """Decorate a portal view: visitors go to the login page; a user without the permission gets 403.

    The view receives the user's scope as ``request.scope``; every query it makes goes
    through that scope, so another unit's data is simply not found (404).
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            scope = request_scope(request)
            if scope is None:
                raise PermissionDenied("该账号尚未分配角色，请联系财政部门管理员。")
            for permission in needs:
                scope.require(permission)
            request.scope = scope  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
