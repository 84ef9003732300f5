"""The portal's navigation and the template context every portal page gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from zhongtai.accounts.scoping import Permission, Scope, scope_for


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    needs: tuple[Permission, ...]  # any one of them


# In the order of a cashier's and a bureau's day. Entries whose page is not installed are skipped.
NAV: tuple[NavItem, ...] = (
    NavItem("工作台", "portal:dashboard", (Permission.VIEW,)),
    NavItem("开具票据", "portal:issue", (Permission.ISSUE,)),
    NavItem("票据查询", "portal:receipt-list", (Permission.VIEW,)),
    NavItem("纸质票据", "portal:paper-stock", (Permission.PAPER_CONVERT, Permission.PAPER_STOCK)),
    NavItem("发送记录", "portal:message-list", (Permission.SEND,)),
    NavItem("用户管理", "accounts:unit-users", (Permission.MANAGE_UNIT_USERS,)),
    NavItem("接入与上线", "onboarding:home", (Permission.FILE_APPLICATION, Permission.CONFIRM_APPLICATION)),
    NavItem("推广进度", "onboarding:rollout", (Permission.MANAGE_MASTERDATA,)),
    NavItem("基础数据管理", "admin:index", (Permission.MANAGE_MASTERDATA,)),
)


def nav_for(scope: Scope) -> list[dict[str, str]]:
    items = []
    for item in NAV:
        if not any(scope.can(p) for p in item.needs):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "name": item.url_name})
    return items


def request_scope(request: HttpRequest) -> Scope | None:
    """The signed-in user's scope, computed once per request; None for visitors."""
    cached = getattr(request, "_erec_scope", False)
    if cached is not False:
        return cached
    scope: Scope | None
    try:
        user = getattr(request, "user", None)
        scope = scope_for(user) if user is not None and user.is_authenticated else None
    except PermissionDenied:
        scope = None
    request._erec_scope = scope  # type: ignore[attr-defined]
    return scope


def portal(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: the user's scope and navigation."""
    scope = request_scope(request)
    return {"scope": scope, "nav": nav_for(scope) if scope else []}
