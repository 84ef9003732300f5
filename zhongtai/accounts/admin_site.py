"""The admin site of the bureaus' workbench (财政部门工作台).

* Signing in goes through ``accounts:login`` (password, then the second factor): the
  admin's own login page only redirects there, so no one reaches the admin on a password
  alone. Logout and password change go to the accounts pages too (they write audit rows).
* Only bureau roles (province administrator, bureau staff) and superusers acting as the
  province reach it. ``is_staff`` alone is not enough: a unit user or an auditor who was
  made staff by mistake is still refused, because the role is checked here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from zhongtai.accounts.admin_scoping import workbench_scope


class WorkbenchAdminSite(admin.AdminSite):
    site_header = "财政电子票据管理系统"
    site_title = "财政电子票据管理系统"
    index_title = "财政部门工作台"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return workbench_scope(request) is not None

    def _next(self, request: HttpRequest) -> str:
        target = request.GET.get(REDIRECT_FIELD_NAME, "")
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse("admin:index", current_app=self.name)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.user.is_authenticated:
            if self.has_permission(request):
                return HttpResponseRedirect(self._next(request))
            # Signed in, but not as a bureau user: sending them to sign in again would loop.
            raise PermissionDenied("当前账号无权使用财政部门工作台。")
        return redirect_to_login(self._next(request), resolve_url(settings.LOGIN_URL))

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from zhongtai.accounts.views import logout_view

        return logout_view(request)

    def password_change(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("accounts:security"))

    def password_change_done(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("accounts:security"))
