"""Standard interface: paper conversion (换开纸质票据) and paper stock (纸质票据库存)."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from issuance.apis import ERRORS, receipt_from_path
from issuance.paper.errors import PaperError
from issuance.paper.layout import paper_print_pdf
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.selectors import (
    StockSummary,
    paper_live_copy,
    paper_outstanding_count,
    paper_stock_summaries,
    paper_stock_summary,
    paper_stock_totals,
)
from issuance.paper.services import (
    NOTE_MAX,
    paper_number_void,
    paper_stock_receive,
    receipt_paper_convert,
)
from issuance.schemas import ErrorSerializer
from zhongtai.core.errors import ApplicationError, CommonError
from zhongtai.gateway.authentication import ApiPrincipal
from zhongtai.gateway.permissions import IsInterfaceClient, principal_of

# [0-9] and \Z: \d would take other scripts' digits and $ a trailing newline.
PAPER_CODE_RE = re.compile(r"^[0-9]{8}\Z")
PAPER_NUMBER_RE = re.compile(r"^[0-9]{10}\Z")
TAGS = ["纸质票据"]


# --- fields and input handling -----------------------------------------------------------


class _DigitsField(serializers.CharField):
    """A JSON string of a fixed number of ASCII digits (a number would lose leading zeros)."""

    def __init__(self, digits: int, label: str, **kwargs: Any) -> None:
        self.pattern = re.compile(rf"^[0-9]{{{digits}}}\Z")
        self.message = f"{label}应为 {digits} 位数字的字符串。"
        super().__init__(min_length=digits, max_length=digits, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not self.pattern.match(data):
            raise serializers.ValidationError(self.message)
        return data


class _StrictBooleanField(serializers.BooleanField):
    """Only JSON true or false (DRF would also take "yes", 1, "on")."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError("应为 true 或 false。")
        return data


class _TextField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("应为字符串。")
        if any(ord(char) < 32 for char in data):
            raise serializers.ValidationError("不能包含控制字符。")
        return super().to_internal_value(data)


def _input_error(fields: dict[str, str]) -> ApplicationError:
    return ApplicationError(CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": fields})


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The body checked by ``serializer_class``: unknown fields refused, one message per field."""
    if not isinstance(data, dict):
        raise _input_error({"": "请求体应为 JSON 对象。"})
    serializer = serializer_class(data=data)
    fields = {name: "未知字段。" for name in sorted(set(data) - set(serializer.fields))}
    if not serializer.is_valid():
        for name, errors in serializer.errors.items():
            fields["" if name == "non_field_errors" else name] = str(errors[0])
    if fields:
        raise _input_error(fields)
    return dict(serializer.validated_data)


def _path_number(paper_code: str, paper_number: str) -> int:
    fields = {}
    if not PAPER_CODE_RE.match(paper_code):
        fields["paperCode"] = "纸质票据代码应为 8 位数字。"
    if not PAPER_NUMBER_RE.match(paper_number):
        fields["paperNumber"] = "纸质票据号码应为 10 位数字。"
    if fields:
        raise _input_error(fields)
    return int(paper_number)


def _principal(request: Request) -> ApiPrincipal:
    """The caller; a sandbox (联调测试) credential may not touch the real paper stock."""
    principal = principal_of(request)
    if getattr(principal.credential, "sandbox", False):
        raise ApplicationError(
            PaperError.PAPER_SANDBOX_CREDENTIAL,
            "联调测试凭证不能使用纸质票据功能：纸质票据只在正式环境中登记和换开。",
            status=403,
        )
    return principal


# --- output ----------------------------------------------------------------------------


class PaperUseOutputSerializer(serializers.Serializer):
    paperCode = serializers.CharField(source="paper_code", help_text="纸质票据代码，8 位")
    paperNumber = serializers.CharField(source="number_text", help_text="纸质票据号码，10 位")
    state = serializers.CharField(help_text="printed 已打印（在用），voided 已作废")
    stateLabel = serializers.CharField(source="get_state_display")
    receiptCode = serializers.SerializerMethodField(help_text="换开的电子票据代码；空白票为 null")
    receiptNumber = serializers.SerializerMethodField(help_text="换开的电子票据号码；空白票为 null")
    printedAt = serializers.DateTimeField(source="printed_at", allow_null=True)
    printedBy = serializers.CharField(source="printed_by")
    voidReason = serializers.SerializerMethodField(help_text="misprint、recovered、damaged、retired；未作废为 null")
    voidReasonLabel = serializers.CharField(source="get_void_reason_display")
    voidNote = serializers.CharField(source="void_note")
    voidedAt = serializers.DateTimeField(source="voided_at", allow_null=True)
    voidedBy = serializers.CharField(source="voided_by")
    replaces = serializers.SerializerMethodField(help_text="打印错误后重新打印时，原纸质票据的号码")

    class Meta:
        ref_name = "PaperUse"

    def get_receiptCode(self, use: PaperUse) -> str | None:
        return use.receipt.receipt_code if use.receipt else None

    def get_receiptNumber(self, use: PaperUse) -> str | None:
        return use.receipt.number_text if use.receipt else None

    def get_voidReason(self, use: PaperUse) -> str | None:
        return use.void_reason or None

    def get_replaces(self, use: PaperUse) -> str | None:
        return use.replaces.number_text if use.replaces else None


class StockSummaryOutputSerializer(serializers.Serializer):
    paperCode = serializers.CharField(source="stock.paper_code")
    startNumber = serializers.CharField(source="stock.start_text")
    endNumber = serializers.CharField(source="stock.end_text")
    received = serializers.IntegerField(help_text="领用份数")
    used = serializers.IntegerField(help_text="已打印（在用）份数")
    voided = serializers.IntegerField(help_text="已作废份数")
    onHand = serializers.IntegerField(source="on_hand", help_text="结存（未使用）份数")
    receivedAt = serializers.DateTimeField(source="stock.received_at")
    note = serializers.CharField(source="stock.note")

    class Meta:
        ref_name = "PaperStockRange"


# --- views ------------------------------------------------------------------------------


class ReceiptPaperConvertApi(APIView):
    permission_classes = [IsInterfaceClient]

    class InputSerializer(serializers.Serializer):
        paperCode = _DigitsField(8, "纸质票据代码", required=False, help_text="纸质票据代码；不填时取最小的代码")
        paperNumber = _DigitsField(10, "纸质票据号码", required=False, help_text="指定号码（须同时给出 paperCode）")

        class Meta:
            ref_name = "PaperConversion"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if "paperNumber" in attrs and "paperCode" not in attrs:
                raise serializers.ValidationError({"paperCode": "指定纸质票据号码时，须同时给出纸质票据代码。"})
            return attrs

    @extend_schema(
        operation_id="receipt_paper_convert",
        summary="换开纸质票据",
        description="在本单位纸质票据库存的一个号码上换开该电子票据；不指定号码时取库存中最小的未用号码。"
        "票据状态变为 paper_converted，同一票据不能重复换开。",
        request=InputSerializer,
        responses={201: PaperUseOutputSerializer, 409: ErrorSerializer, 422: ErrorSerializer, **ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, receipt_code: str, number: str) -> Response:
        principal = _principal(request)
        receipt = receipt_from_path(request, receipt_code, number)
        data = _validated(self.InputSerializer, request.data)
        paper_number = data.get("paperNumber")
        use = receipt_paper_convert(
            receipt=receipt,
            actor=principal.actor,
            paper_code=data.get("paperCode"),
            paper_number=int(paper_number) if paper_number else None,
        )
        return Response(PaperUseOutputSerializer(use).data, status=201)


class ReceiptPaperPrintApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_paper_print",
        summary="下载换开纸质票据的套打页（PDF）",
        description="在用纸质票据的套打页：按纸质票据版式定位的票据内容与纸质票据号码，不含印章。",
        responses={(200, "application/pdf"): OpenApiResponse(description="PDF"), 409: ErrorSerializer, **ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, receipt_code: str, number: str) -> HttpResponse:
        _principal(request)
        receipt = receipt_from_path(request, receipt_code, number)
        use = paper_live_copy(receipt=receipt)
        if use is None:
            raise ApplicationError(
                PaperError.PAPER_NOT_CONVERTED,
                "该票据没有在用的纸质票据。",
                {"receiptCode": receipt.receipt_code, "receiptNumber": receipt.number_text},
                status=409,
            )
        return paper_pdf_response(use)


def paper_pdf_response(use: PaperUse) -> HttpResponse:
    """The print page inline (opened in the browser's PDF viewer and printed from there)."""
    response = HttpResponse(paper_print_pdf(use), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="paper-{use.paper_code}-{use.number_text}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


class PaperVoidApi(APIView):
    permission_classes = [IsInterfaceClient]

    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(
            choices=["misprint", "recovered", "damaged"],
            error_messages={"invalid_choice": "应为 misprint、recovered 或 damaged。"},
            help_text="misprint 打印错误，recovered 收回作废，damaged 空白票损毁",
        )
        reprint = _StrictBooleanField(required=False, default=False, help_text="打印错误后在下一个号码重新打印")
        note = _TextField(required=False, max_length=NOTE_MAX, allow_blank=True, help_text="作废说明")

        class Meta:
            ref_name = "PaperVoid"

    class OutputSerializer(serializers.Serializer):
        voided = PaperUseOutputSerializer()
        reprinted = PaperUseOutputSerializer(allow_null=True, help_text="重新打印的纸质票据；未重新打印为 null")

        class Meta:
            ref_name = "PaperVoidResult"

    @extend_schema(
        operation_id="paper_void",
        summary="作废纸质票据号码",
        description="已打印的纸质票据按 misprint（可重新打印）或 recovered（票据恢复正常状态）作废；"
        "未使用的号码只能按 damaged 作废。",
        request=InputSerializer,
        responses={200: OutputSerializer, 409: ErrorSerializer, 422: ErrorSerializer, **ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, paper_code: str, paper_number: str) -> Response:
        principal = _principal(request)
        number = _path_number(paper_code, paper_number)
        data = _validated(self.InputSerializer, request.data)
        outcome = paper_number_void(
            unit=principal.unit,
            paper_code=paper_code,
            paper_number=number,
            reason=data["reason"],
            actor=principal.actor,
            reprint=data["reprint"],
            note=data.get("note", ""),
        )
        return Response(self.OutputSerializer(outcome).data)


class PaperStockApi(APIView):
    permission_classes = [IsInterfaceClient]

    class InputSerializer(serializers.Serializer):
        paperCode = _DigitsField(8, "纸质票据代码", help_text="纸质票据代码，8 位数字")
        startNumber = _DigitsField(10, "起始号码", help_text="起始号码，10 位数字")
        endNumber = _DigitsField(10, "终止号码", help_text="终止号码，10 位数字（含）")
        note = _TextField(required=False, max_length=NOTE_MAX, allow_blank=True, help_text="备注，如领用单号")

        class Meta:
            ref_name = "PaperStockReceive"

    class OutputSerializer(serializers.Serializer):
        unitCode = serializers.CharField()
        outstanding = serializers.IntegerField(help_text="有在用纸质票据的电子票据张数")
        ranges = StockSummaryOutputSerializer(many=True)
        total = serializers.DictField(child=serializers.IntegerField(), help_text="received、used、voided、onHand 合计")

        class Meta:
            ref_name = "PaperStockSummary"

    @extend_schema(
        operation_id="paper_stock_summary",
        summary="纸质票据库存：各号段的领用、已用、作废与结存",
        responses={200: OutputSerializer, **ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        unit = _principal(request).unit
        ranges = paper_stock_summary(unit=unit)
        totals = paper_stock_totals(ranges)
        body = {
            "unitCode": unit.code,
            "outstanding": paper_outstanding_count(unit=unit),
            "ranges": ranges,
            "total": {
                "received": totals.received,
                "used": totals.used,
                "voided": totals.voided,
                "onHand": totals.on_hand,
            },
        }
        return Response(self.OutputSerializer(body).data)

    @extend_schema(
        operation_id="paper_stock_receive",
        summary="登记领用的纸质票据号段",
        description="同一纸质票据代码的号段不能与任何已登记的号段重叠；一次最多 100000 份。",
        request=InputSerializer,
        responses={201: StockSummaryOutputSerializer, 409: ErrorSerializer, **ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        principal = _principal(request)
        data = _validated(self.InputSerializer, request.data)
        stock = paper_stock_receive(
            unit=principal.unit,
            paper_code=data["paperCode"],
            start_number=int(data["startNumber"]),
            end_number=int(data["endNumber"]),
            actor=principal.actor,
            note=data.get("note", ""),
        )
        summary = _one_summary(stock)
        return Response(StockSummaryOutputSerializer(summary).data, status=201)


def _one_summary(stock: PaperStock) -> StockSummary:
    return paper_stock_summaries(stocks=PaperStock.objects.filter(pk=stock.pk))[0]
