"""Standard interface for interface units: issuance and lookup (/api/v1/receipts...)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from issuance.errors import IssuanceError
from issuance.jobs import receipt_step_run_now
from issuance.models import Receipt, ReceiptJob
from issuance.payload import BUS_NO_RE, IssueInput, parse_issue_input
from issuance.presenters import receipt_detail, receipt_summary
from issuance.red_offset import REASON_MAX_LENGTH, receipt_red_offset
from issuance.schemas import (
    BatchRequestSerializer,
    BatchResponseSerializer,
    ErrorSerializer,
    IssueRequestSerializer,
    ReceiptDetailSerializer,
    ReceiptPageSerializer,
)
from issuance.selectors import receipt_get, receipt_get_by_bus_no, receipt_list_by_bus_date
from issuance.services import IssueOutcome, receipt_issue, receipts_issue
from zhongtai.core.errors import ApplicationError, CommonError
from zhongtai.core.params import invalid, param_date, param_int
from zhongtai.gateway.permissions import IsInterfaceClient, principal_of
from zhongtai.webhooks.batches import batch_record

# [0-9] and \Z: \d would take other scripts' digits (int() reads them) and $ a trailing newline.
RECEIPT_CODE_RE = re.compile(r"^[0-9]{8}\Z")
RECEIPT_NUMBER_RE = re.compile(r"^[0-9]{10}\Z")
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


def _input_error(fields: dict[str, str]) -> ApplicationError:
    return ApplicationError(CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": fields})


def _not_found() -> ApplicationError:
    return ApplicationError(IssuanceError.RECEIPT_NOT_FOUND, "未找到该票据。", status=404)


class ReceiptIssueApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_issue",
        summary="开具一张票据",
        description=(
            "busNo 为幂等键：同一 busNo、同一内容再次提交返回原票据（HTTP 200）；内容不同返回 BUS_NO_CONFLICT。"
        ),
        request=IssueRequestSerializer,
        responses={
            201: ReceiptDetailSerializer,
            200: ReceiptDetailSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
            **ERRORS,
        },
        tags=["开票"],
    )
    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        data, errors = parse_issue_input(request.data, require_bus_no=True)
        if errors or data is None:
            raise _input_error(errors.fields)
        receipt, created = receipt_issue(
            unit=principal.unit,
            data=data,
            actor=principal.actor,
            source=Receipt.Source.API,
            sandbox=request.auth.sandbox,
        )
        if created and settings.EREC_SIGN_IN_REQUEST:
            # Signing takes a few milliseconds: answer with the signed receipt when the platform signs.
            receipt_step_run_now(receipt=receipt, step=ReceiptJob.Step.SIGN)
            receipt.refresh_from_db(fields=["sign_status", "signed_at", "datafile"])
        return Response(receipt_detail(receipt), status=201 if created else 200)


class ReceiptBatchIssueApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_batch_issue",
        summary="批量开具票据（最多 500 张）",
        description="每张票据单独校验、单独报告结果；一张失败不影响其他票据。",
        request=BatchRequestSerializer,
        responses={200: BatchResponseSerializer, **ERRORS},
        tags=["开票"],
    )
    def post(self, request: Request) -> Response:

        principal = principal_of(request)
        body = request.data
        raw = body.get("receipts") if isinstance(body, dict) else None
        if not isinstance(raw, list):
            raise _input_error({"receipts": "应为开票请求数组。"})
        if not raw:
            raise ApplicationError(IssuanceError.BATCH_EMPTY, "批量开票请求不能为空。")
        if len(raw) > settings.EREC_BATCH_MAX:
            raise ApplicationError(
                IssuanceError.BATCH_TOO_LARGE,
                f"一次最多批量开具 {settings.EREC_BATCH_MAX} 张票据。",
                {"max": settings.EREC_BATCH_MAX, "given": len(raw)},
            )
        outcomes: list[IssueOutcome | None] = [None] * len(raw)
        parsed: list[tuple[int, IssueInput]] = []
        for index, entry in enumerate(raw):
            data, errors = parse_issue_input(entry, require_bus_no=True)
            if errors or data is None:
                outcomes[index] = IssueOutcome(error=_input_error(errors.fields))
            else:
                parsed.append((index, data))
        if parsed:
            results = receipts_issue(
                unit=principal.unit,
                inputs=[d for _, d in parsed],
                actor=principal.actor,
                source=Receipt.Source.API,
                sandbox=request.auth.sandbox,
            )
            for (index, _), outcome in zip(parsed, results, strict=True):
                outcomes[index] = outcome
        # The receipts this request created, remembered as one batch: batch.completed is sent
        # to this credential's callback address once they have all finished signing.
        batch = batch_record(
            unit=principal.unit,
            credential=request.auth,
            sandbox=request.auth.sandbox,
            receipts=[o.receipt for o in outcomes if o is not None and o.receipt is not None and o.created],
        )
        return Response({**_batch_body(raw, outcomes), "batchId": str(batch.public_id) if batch else None})


def _batch_body(raw: list[Any], outcomes: list[IssueOutcome | None]) -> dict[str, Any]:
    results = []
    counts = {"created": 0, "existing": 0, "failed": 0}
    for index, outcome in enumerate(outcomes):
        assert outcome is not None
        entry = raw[index]
        bus_no = entry.get("busNo") if isinstance(entry, dict) and isinstance(entry.get("busNo"), str) else None
        if outcome.receipt is not None:
            result = "created" if outcome.created else "existing"
            results.append(
                {
                    "index": index,
                    "busNo": bus_no,
                    "result": result,
                    "receipt": receipt_summary(outcome.receipt),
                    "error": None,
                }
            )
        else:
            result = "failed"
            assert outcome.error is not None
            results.append(
                {"index": index, "busNo": bus_no, "result": result, "receipt": None, "error": outcome.error.as_dict()}
            )
        counts[result] += 1
    return {"total": len(outcomes), **counts, "results": results}


class ReceiptDetailApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_get",
        summary="按票据代码和号码查询票据",
        responses={200: ReceiptDetailSerializer, **ERRORS},
        tags=["查询"],
    )
    def get(self, request: Request, receipt_code: str, number: str) -> Response:
        return Response(receipt_detail(receipt_from_path(request, receipt_code, number)))


def receipt_from_path(request: Request, receipt_code: str, number: str) -> Receipt:
    """The caller's receipt named in the URL; malformed parts are INVALID_INPUT, others' receipts 404."""
    fields = {}
    if not RECEIPT_CODE_RE.match(receipt_code):
        fields["receiptCode"] = "票据代码应为 8 位数字。"
    if not RECEIPT_NUMBER_RE.match(number):
        fields["receiptNumber"] = "票据号码应为 10 位数字。"
    if fields:
        raise _input_error(fields)
    receipt = receipt_get(
        unit=principal_of(request).unit,
        receipt_code=receipt_code,
        number=int(number),
        sandbox=request.auth.sandbox,
    )
    if receipt is None:
        raise _not_found()
    return receipt


class ReceiptByBusNoApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_get_by_bus_no",
        summary="按业务流水号查询票据",
        responses={200: ReceiptDetailSerializer, **ERRORS},
        tags=["查询"],
    )
    def get(self, request: Request, bus_no: str) -> Response:
        if not BUS_NO_RE.match(bus_no):
            raise _input_error({"busNo": "业务流水号只能包含字母、数字、- 和 _，长度 1-64。"})
        receipt = receipt_get_by_bus_no(unit=principal_of(request).unit, bus_no=bus_no, sandbox=request.auth.sandbox)
        if receipt is None:
            raise _not_found()
        return Response(receipt_detail(receipt))


class ReceiptListApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_list_by_bus_date",
        summary="按业务日期分页列出票据",
        parameters=[
            OpenApiParameter("busDate", str, required=True, description="业务日期 YYYY-MM-DD"),
            OpenApiParameter("page", int, description="页码，从 1 开始"),
            OpenApiParameter("pageSize", int, description="每页条数 1-500，默认 100"),
        ],
        responses={200: ReceiptPageSerializer, **ERRORS},
        tags=["查询"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        bus_date = param_date(params, "busDate")
        page = param_int(params, "page", default=1, minimum=1, maximum=1_000_000)
        page_size = param_int(params, "pageSize", default=100, minimum=1, maximum=500)
        assert bus_date is not None
        receipts = receipt_list_by_bus_date(
            unit=principal_of(request).unit, bus_date=bus_date, sandbox=request.auth.sandbox
        )
        count = receipts.count()
        if page > 1 and (page - 1) * page_size >= count:
            raise invalid("page", "页码超出范围。")
        rows = receipts[(page - 1) * page_size : page * page_size]
        return Response(
            {"count": count, "page": page, "pageSize": page_size, "results": [receipt_summary(r) for r in rows]}
        )


class ReceiptRedOffsetApi(APIView):
    """冲红: a red receipt for the whole of one of the caller's receipts."""

    permission_classes = [IsInterfaceClient]

    class InputSerializer(serializers.Serializer):
        # The length and content of the reason are the service's rule (422), not a format error.
        reason = serializers.CharField(
            allow_blank=True, trim_whitespace=False, help_text=f"冲红原因，1-{REASON_MAX_LENGTH} 个字符"
        )
        busNo = serializers.RegexField(
            BUS_NO_RE.pattern,
            required=False,
            help_text="退费业务流水号（幂等键，与开票的 busNo 同一空间）",
            error_messages={"invalid": "业务流水号只能包含字母、数字、- 和 _，长度 1-64。"},
        )

        class Meta:
            ref_name = "RedOffset"

    @extend_schema(
        operation_id="receipt_red_offset",
        summary="冲红：为整张票据开具红票",
        description=(
            "为原票据开具一张金额为负的红票，原票据状态变为已冲红（red_offset）。busNo 可选，为幂等键："
            "同一 busNo 再次冲红同一张原票据返回原红票（HTTP 200）；用于其他票据返回 BUS_NO_CONFLICT。"
        ),
        request=InputSerializer,
        responses={
            201: ReceiptDetailSerializer,
            200: ReceiptDetailSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
            **ERRORS,
        },
        tags=["开票"],
    )
    def post(self, request: Request, receipt_code: str, number: str) -> Response:
        original = receipt_from_path(request, receipt_code, number)
        data = _validated(self.InputSerializer, request.data)
        red, created = receipt_red_offset(
            receipt=original,
            reason=data["reason"],
            actor=principal_of(request).actor,
            source=Receipt.Source.API,
            bus_no=data.get("busNo"),
            sandbox=request.auth.sandbox,
        )
        if created and settings.EREC_SIGN_IN_REQUEST:
            # As for an issuance: answer with the signed red receipt when the platform signs.
            receipt_step_run_now(receipt=red, step=ReceiptJob.Step.SIGN)
            red.refresh_from_db(fields=["sign_status", "signed_at", "datafile"])
        return Response(receipt_detail(red), status=201 if created else 200)


def _validated(serializer_class: type[serializers.Serializer], body: Any) -> dict[str, Any]:
    """A JSON object with only the serializer's fields, each a string; INVALID_INPUT with one message per field.

    As everywhere in this API: unknown fields are refused, text must be a JSON string, and an
    empty optional field counts as left out.
    """
    if not isinstance(body, dict):
        raise _input_error({"": "请求体应为 JSON 对象。"})
    known = serializer_class().fields
    fields = {name: "未知字段。" for name in body if name not in known}
    fields.update(
        {name: "应为字符串。" for name, value in body.items() if name in known and not isinstance(value, str | None)}
    )
    if fields:
        raise _input_error(fields)
    present = {name: value for name, value in body.items() if not (value in ("", None) and not known[name].required)}
    serializer = serializer_class(data=present)
    if not serializer.is_valid():
        raise _input_error({name: str(errors[0]) for name, errors in serializer.errors.items()})
    return dict(serializer.validated_data)
