"""Maps every API failure to ``{"code", "message", "extra"}``.

Known refusals keep their status; unknown exceptions stay 500s (re-raised so
that they are logged with a traceback and never disguised as client errors).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from zhongtai.core.errors import ApplicationError, CommonError

_DRF_CODES: list[tuple[type[exceptions.APIException], CommonError, str]] = [
    (exceptions.ParseError, CommonError.MALFORMED_BODY, "请求体不是合法的 JSON。"),
    (
        exceptions.UnsupportedMediaType,
        CommonError.UNSUPPORTED_MEDIA_TYPE,
        "不支持的请求内容类型，请使用 application/json。",
    ),
    (exceptions.NotFound, CommonError.NOT_FOUND, "未找到请求的资源。"),
    (exceptions.MethodNotAllowed, CommonError.METHOD_NOT_ALLOWED, "不允许使用该请求方法。"),
    (exceptions.NotAuthenticated, CommonError.AUTH_REQUIRED, "缺少身份认证信息。"),
    (exceptions.AuthenticationFailed, CommonError.AUTH_REQUIRED, "身份认证失败。"),
    (exceptions.PermissionDenied, CommonError.FORBIDDEN, "无权执行此操作。"),
    (exceptions.Throttled, CommonError.THROTTLED, "请求过于频繁，请稍后再试。"),
]


def error_response(code: str, message: str, extra: dict[str, Any] | None, http_status: int) -> Response:
    return Response({"code": code, "message": message, "extra": extra or {}}, status=http_status)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        response = error_response(exc.code, exc.message, exc.extra, exc.status_code)
        view, request = context.get("view"), context.get("request")
        if exc.status_code == 401 and view is not None and request is not None:
            # A 401 must name the scheme (RFC 9110 §15.5.2), as DRF does for its own 401s.
            response["WWW-Authenticate"] = view.get_authenticate_header(request) or ""
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return error_response(
            CommonError.INVALID_INPUT,
            "请求数据校验未通过。",
            {"fields": exc.detail},
            status.HTTP_400_BAD_REQUEST,
        )
    for exc_class, code, message in _DRF_CODES:
        if isinstance(exc, exc_class):
            response = error_response(code, message, {}, exc.status_code)
            if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
                response["Retry-After"] = str(int(exc.wait))
            auth_header = getattr(exc, "auth_header", None)
            if auth_header:
                response["WWW-Authenticate"] = auth_header
            return response
    if isinstance(exc, exceptions.APIException):
        return error_response(CommonError.INVALID_INPUT, str(exc.detail), {}, exc.status_code)
    return None
