"""Callback addresses through the signed API, and batch lookup.

* ``/api/v1/public/webhook``: a reimbursing party's credential (``receipt.red_offset``);
* ``/api/v1/webhook``: an interface unit's credential (``batch.completed``);
* ``/api/v1/batches/{batchId}``: a batch of the caller's unit, in the caller's environment.

GET shows the address without its secret; PUT registers or changes it (a new address, or
``rotateSecret``, answers the new secret once); DELETE turns it off.
"""

from __future__ import annotations

import re
from abc import ABCMeta, abstractmethod
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from issuance.schemas import ErrorSerializer
from verification.authentication import IsReimbursingParty, PartySignatureAuthentication, party_of
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError, CommonError
from zhongtai.gateway.permissions import IsInterfaceClient, principal_of
from zhongtai.webhooks.batches import batch_describe, batch_get
from zhongtai.webhooks.errors import WebhookError
from zhongtai.webhooks.models import EventType, WebhookEndpoint
from zhongtai.webhooks.selectors import endpoint_of_api_credential, endpoint_of_party_credential
from zhongtai.webhooks.services import EndpointOutcome, endpoint_save, endpoint_set_status

BATCH_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="回调地址：https://…（不含用户名、密码）")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        help_text="订阅的事件；省略时订阅本类调用方可订阅的全部事件",
    )
    rotateSecret = serializers.BooleanField(required=False, default=False, help_text="true：重新生成签名密钥")

    class Meta:
        ref_name = "WebhookInput"


class WebhookOutputSerializer(serializers.Serializer):
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    sandbox = serializers.BooleanField(help_text="联调测试凭证的回调地址：事件带 sandbox: true")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    secretRotatedAt = serializers.DateTimeField(help_text="当前签名密钥的生成时间")
    secret = serializers.CharField(required=False, help_text="签名密钥：仅在新登记或重新生成时返回这一次，平台不再显示")

    class Meta:
        ref_name = "Webhook"


def _shown(endpoint: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": endpoint.url,
        "events": list(endpoint.events),
        "enabled": endpoint.status == WebhookEndpoint.Status.ENABLED,
        "sandbox": endpoint.sandbox,
        "createdAt": endpoint.created_at,
        "updatedAt": endpoint.updated_at,
        "secretRotatedAt": endpoint.secret_rotated_at,
    }
    if secret is not None:
        data["secret"] = secret
    return WebhookOutputSerializer(data).data


def _input(body: Any) -> dict[str, Any]:
    """A JSON object with only the known fields; INVALID_INPUT with one message per field otherwise."""
    if not isinstance(body, dict):
        raise ApplicationError(
            CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": {"": "请求体应为 JSON 对象。"}}
        )
    fields = {name: "未知字段。" for name in body if name not in WebhookInputSerializer().fields}
    if "rotateSecret" in body and not isinstance(body["rotateSecret"], bool):
        fields["rotateSecret"] = "应为 true 或 false。"
    if "url" in body and not isinstance(body["url"], str):
        fields["url"] = "应为字符串。"
    if "events" in body and not isinstance(body["events"], list):
        fields["events"] = "应为事件类型数组。"
    if fields:
        raise ApplicationError(CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": fields})
    if "url" not in body:
        raise ApplicationError(
            CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": {"url": "请填写回调地址。"}}
        )
    return body


def _not_registered() -> ApplicationError:
    return ApplicationError(WebhookError.WEBHOOK_NOT_FOUND, "尚未登记回调地址。", status=404)


def _answer(outcome: EndpointOutcome, created_before: bool) -> Response:
    return Response(_shown(outcome.endpoint, outcome.secret), status=200 if created_before else 201)


class _WebhookApi(APIView, metaclass=ABCMeta):
    """The calling credential's callback address (subclasses say whose credential)."""

    @abstractmethod
    def _endpoint(self, request: Request) -> WebhookEndpoint | None: ...

    @abstractmethod
    def _save(self, request: Request, body: dict[str, Any]) -> EndpointOutcome: ...

    @abstractmethod
    def _actor(self, request: Request) -> Actor: ...

    def get(self, request: Request) -> Response:
        endpoint = self._endpoint(request)
        if endpoint is None:
            raise _not_registered()
        return Response(_shown(endpoint))

    def put(self, request: Request) -> Response:
        body = _input(request.data)
        existed = self._endpoint(request) is not None
        return _answer(self._save(request, body), existed)

    def delete(self, request: Request) -> Response:
        endpoint = self._endpoint(request)
        if endpoint is None:
            raise _not_registered()
        endpoint = endpoint_set_status(endpoint=endpoint, enabled=False, actor=self._actor(request))
        return Response(_shown(endpoint))


_SCHEMA = {
    "get": {"summary": "查看本凭证的回调地址（不含签名密钥）", "responses": {200: WebhookOutputSerializer, **ERRORS}},
    "put": {
        "summary": "登记或修改回调地址（新登记或 rotateSecret 时返回签名密钥，仅此一次）",
        "request": WebhookInputSerializer,
        "responses": {200: WebhookOutputSerializer, 201: WebhookOutputSerializer, 422: ErrorSerializer, **ERRORS},
    },
    "delete": {"summary": "停用回调地址", "responses": {200: WebhookOutputSerializer, **ERRORS}},
}


class PartyWebhookApi(_WebhookApi):
    authentication_classes = [PartySignatureAuthentication]
    permission_classes = [IsReimbursingParty]

    def _endpoint(self, request: Request) -> WebhookEndpoint | None:
        return endpoint_of_party_credential(credential=party_of(request).credential)

    def _save(self, request: Request, body: dict[str, Any]) -> EndpointOutcome:
        principal = party_of(request)
        return endpoint_save(
            actor=principal.actor,
            url=body["url"],
            events=body.get("events"),
            rotate_secret=body.get("rotateSecret", False),
            party_credential=principal.credential,
        )

    def _actor(self, request: Request) -> Actor:
        return party_of(request).actor

    @extend_schema(operation_id="public_webhook_get", tags=["公共服务"], **_SCHEMA["get"])
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(operation_id="public_webhook_put", tags=["公共服务"], **_SCHEMA["put"])
    def put(self, request: Request) -> Response:
        return super().put(request)

    @extend_schema(operation_id="public_webhook_delete", tags=["公共服务"], **_SCHEMA["delete"])
    def delete(self, request: Request) -> Response:
        return super().delete(request)


class UnitWebhookApi(_WebhookApi):
    permission_classes = [IsInterfaceClient]

    def _endpoint(self, request: Request) -> WebhookEndpoint | None:
        return endpoint_of_api_credential(credential=principal_of(request).credential)

    def _save(self, request: Request, body: dict[str, Any]) -> EndpointOutcome:
        principal = principal_of(request)
        return endpoint_save(
            actor=principal.actor,
            url=body["url"],
            events=body.get("events"),
            rotate_secret=body.get("rotateSecret", False),
            api_credential=principal.credential,
        )

    def _actor(self, request: Request) -> Actor:
        return principal_of(request).actor

    @extend_schema(operation_id="webhook_get", tags=["回调通知"], **_SCHEMA["get"])
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(operation_id="webhook_put", tags=["回调通知"], **_SCHEMA["put"])
    def put(self, request: Request) -> Response:
        return super().put(request)

    @extend_schema(operation_id="webhook_delete", tags=["回调通知"], **_SCHEMA["delete"])
    def delete(self, request: Request) -> Response:
        return super().delete(request)


class BatchReceiptSerializer(serializers.Serializer):
    busNo = serializers.CharField()
    receiptCode = serializers.CharField()
    receiptNumber = serializers.CharField()
    signStatus = serializers.CharField(
        help_text="pending 待签章，awaiting_unit 待单位签名，signed 已签章，failed 签章失败"
    )
    error = serializers.CharField(allow_null=True, help_text="签章失败的原因")


class BatchOutputSerializer(serializers.Serializer):
    batchId = serializers.CharField()
    createdAt = serializers.CharField()
    completed = serializers.BooleanField(help_text="本批新开的票据是否全部签章结束（已签章或签章失败）")
    completedAt = serializers.CharField(allow_null=True)
    total = serializers.IntegerField()
    signed = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    receipts = BatchReceiptSerializer(many=True)

    class Meta:
        ref_name = "Batch"


class BatchDetailApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="batch_get",
        summary="查询批量开票批次的签章进度（batchId 见批量开票的应答）",
        responses={200: BatchOutputSerializer, **ERRORS},
        tags=["查询"],
    )
    def get(self, request: Request, batch_id: str) -> Response:
        if not BATCH_ID_RE.match(batch_id):
            raise ApplicationError(
                CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": {"batchId": "批次编号格式不正确。"}}
            )
        batch = batch_get(unit=principal_of(request).unit, batch_id=batch_id, sandbox=request.auth.sandbox)
        if batch is None:
            raise ApplicationError(WebhookError.BATCH_NOT_FOUND, "未找到该批次。", status=404)
        return Response(BatchOutputSerializer(batch_describe(batch=batch)).data)
