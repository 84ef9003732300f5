"""HMAC-SHA256 request authentication for interface units (see docs/api.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.crypto import secret_decrypt
from zhongtai.gateway.errors import GatewayError
from zhongtai.gateway.models import ApiCredential
from zhongtai.gateway.nonces import nonce_claim
from zhongtai.gateway.signing import (
    NONCE_RE,
    SIGNATURE_RE,
    TIMESTAMP_RE,
    compute_signature,
    signatures_match,
    string_to_sign,
)
from zhongtai.masterdata.models import Unit

HEADERS = ("X-App-Id", "X-Timestamp", "X-Nonce", "X-Signature")


@dataclass
class ApiPrincipal:
    """The caller of a signed request: one credential of one unit."""

    credential: ApiCredential
    unit: Unit
    is_authenticated: bool = True
    is_active: bool = True

    @property
    def actor(self) -> Actor:
        return Actor.api_client(self.credential.app_id)

    @property
    def can_write(self) -> bool:
        return self.credential.scope == ApiCredential.Scope.ISSUE


def _refuse(code: GatewayError, message: str, extra: dict | None = None) -> ApplicationError:
    return ApplicationError(code, message, extra, status=401)


def signed_request_check(request: Request, *, credential_lookup: Callable[[str], Any]) -> tuple[Any, str] | None:
    """Check a signed request's headers, clock and signature; (credential, nonce), or None if unsigned.

    The one implementation of the signing scheme's checks (docs/api.md, "Request signing"),
    shared by every kind of caller: ``credential_lookup(app_id)`` finds the caller's credential
    (anything with ``secret_encrypted``) among its own kind. The caller then checks the
    credential's and its owner's state and claims the nonce, in that order, so that the error
    codes come in the documented order.
    """
    values = {name: request.headers.get(name, "") for name in HEADERS}
    missing = [name for name, value in values.items() if not value]
    if len(missing) == len(HEADERS):
        return None  # no credentials at all: the permission answers AUTH_REQUIRED
    if missing:
        raise _refuse(GatewayError.AUTH_MISSING_HEADERS, "缺少签名请求头。", {"missing": missing})
    app_id, timestamp, nonce, signature = (values[name] for name in HEADERS)
    if not TIMESTAMP_RE.match(timestamp):
        raise _refuse(GatewayError.AUTH_MALFORMED_HEADERS, "X-Timestamp 应为 10 位 Unix 秒。")
    if not NONCE_RE.match(nonce):
        raise _refuse(GatewayError.AUTH_MALFORMED_HEADERS, "X-Nonce 应为 16-64 位字母、数字、- 或 _。")
    if not SIGNATURE_RE.match(signature):
        raise _refuse(GatewayError.AUTH_MALFORMED_HEADERS, "X-Signature 应为 64 位小写十六进制。")

    credential = credential_lookup(app_id)
    if credential is None:
        raise _refuse(GatewayError.AUTH_UNKNOWN_APP, "应用 ID 不存在。")

    skew = abs(time.time() - int(timestamp))
    if skew > settings.EREC_API_CLOCK_SKEW_SECONDS:
        raise _refuse(
            GatewayError.AUTH_STALE_TIMESTAMP,
            f"请求时间戳已过期或超前，请校准时钟（允许误差 {settings.EREC_API_CLOCK_SKEW_SECONDS} 秒）。",
            {"serverTime": int(time.time())},
        )

    message = string_to_sign(
        method=request.method or "",
        path=request._request.path,
        query_string=request._request.META.get("QUERY_STRING", ""),
        timestamp=timestamp,
        nonce=nonce,
        body=request._request.body,
    )
    expected = compute_signature(secret_decrypt(credential.secret_encrypted), message)
    if not signatures_match(expected, signature):
        raise _refuse(GatewayError.AUTH_BAD_SIGNATURE, "请求签名不正确。")
    return credential, nonce


def nonce_claim_or_refuse(*, app_id: str, nonce: str) -> None:
    if not nonce_claim(app_id=app_id, nonce=nonce):
        raise _refuse(GatewayError.AUTH_NONCE_REPLAYED, "请求随机串（X-Nonce）已使用过，疑似重放请求。")


def _interface_credential(app_id: str) -> ApiCredential | None:
    return ApiCredential.objects.select_related("unit", "unit__region").filter(app_id=app_id).first()


class HmacSignatureAuthentication(BaseAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return "EREC-HMAC-SHA256"

    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiCredential] | None:
        checked = signed_request_check(request, credential_lookup=_interface_credential)
        if checked is None:
            return None
        credential, nonce = checked
        if credential.status != ApiCredential.Status.ACTIVE:
            raise _refuse(GatewayError.AUTH_CREDENTIAL_REVOKED, "应用凭证已吊销。")
        if credential.unit.status != Unit.Status.ACTIVE:
            raise ApplicationError(GatewayError.AUTH_UNIT_INACTIVE, "单位已暂停或注销，不能调用接口。", status=403)
        if credential.unit.connection_mode != Unit.ConnectionMode.INTERFACE:
            raise ApplicationError(
                GatewayError.UNIT_NOT_INTERFACE, "单位已不是接口单位，应用凭证不能再调用接口。", status=403
            )
        nonce_claim_or_refuse(app_id=credential.app_id, nonce=nonce)
        # Django middleware sees only the HttpRequest under DRF's request: tell it who called
        # (e.g. to record sandbox traffic), after the request is fully authenticated.
        request._request.api_credential = credential  # type: ignore[attr-defined]
        return ApiPrincipal(credential=credential, unit=credential.unit), credential
