"""Error pages that answer in the API's error shape under /api/ and as HTML elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from zhongtai.core.errors import CommonError


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {"code": CommonError.NOT_FOUND, "message": "未找到请求的资源。", "extra": {}},
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {"code": CommonError.INTERNAL_ERROR, "message": "服务器内部错误，请稍后重试。", "extra": {}},
            status=500,
            json_dumps_params={"ensure_ascii": False},
        )
    return render(request, "500.html", status=500)


def health(request: HttpRequest) -> JsonResponse:
    """Database (and Redis, when configured) reachability, for load balancers: 200 or 503."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = f"ok ({connection.vendor})"
    except DatabaseError as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            cache.get("healthz")
            checks["redis"] = "ok"
        except Exception as exc:  # any failure of the cache backend means "down"
            checks["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(value.startswith("ok") for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
