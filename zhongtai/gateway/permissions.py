from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.authentication import ApiPrincipal
from zhongtai.gateway.errors import GatewayError


class IsInterfaceClient(BasePermission):
    """A signed request of an interface unit; write methods need the ``issue`` scope."""

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, ApiPrincipal):
            return False
        if request.method not in ("GET", "HEAD", "OPTIONS") and not principal.can_write:
            raise ApplicationError(GatewayError.SCOPE_READ_ONLY, "该应用凭证为只读权限，不能执行写操作。", status=403)
        return True


def principal_of(request: Request) -> ApiPrincipal:
    principal = request.user
    assert isinstance(principal, ApiPrincipal)
    return principal
