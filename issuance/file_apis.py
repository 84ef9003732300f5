"""Standard interface: the receipt's files, signing status, and two-step signing by the unit."""

from __future__ import annotations

import base64
import binascii
import datetime
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from issuance.apis import ERRORS, _input_error, receipt_from_path
from issuance.errors import IssuanceError
from issuance.jobs import receipt_step_run_now
from issuance.models import Receipt, ReceiptJob, SignStatus
from issuance.payload import BUS_NO_RE
from issuance.presenters import receipt_detail
from issuance.schemas import ErrorSerializer, ReceiptDetailSerializer
from issuance.selectors import receipt_list_by_bus_nos
from issuance.unit_signing import receipt_signing_payload, receipt_unit_signature_submit
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.permissions import IsInterfaceClient, principal_of

MAX_STATUS_QUERY = 100


def _file_response(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=0"
    return response


def _not_signed(receipt: Receipt) -> ApplicationError:
    return ApplicationError(
        IssuanceError.NOT_SIGNED_YET,
        f"票据尚未完成签章（{receipt.get_sign_status_display()}），请稍后再试。",
        {"signStatus": receipt.sign_status},
        status=409,
    )


class ReceiptDataFileApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_datafile",
        summary="下载数据文件（已签章的 XML）",
        responses={
            (200, "application/xml"): OpenApiResponse(description="EInvoice XML"),
            409: ErrorSerializer,
            **ERRORS,
        },
        tags=["文件"],
    )
    def get(self, request: Request, receipt_code: str, number: str) -> HttpResponse:
        receipt = receipt_from_path(request, receipt_code, number)
        if receipt.sign_status != SignStatus.SIGNED or not receipt.datafile:
            raise _not_signed(receipt)
        with receipt.datafile.open("rb") as handle:
            content = handle.read()
        return _file_response(content, "application/xml", f"{receipt.receipt_code}-{receipt.number_text}.xml")


class ReceiptLayoutFileApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_layout_file",
        summary="下载版式文件（PDF，内嵌已签章的 XML）",
        description="版式文件由后台生成；尚未生成时在本次请求中生成。",
        responses={
            (200, "application/pdf"): OpenApiResponse(description="PDF"),
            409: ErrorSerializer,
            503: ErrorSerializer,
            **ERRORS,
        },
        tags=["文件"],
    )
    def get(self, request: Request, receipt_code: str, number: str) -> HttpResponse:
        receipt = receipt_from_path(request, receipt_code, number)
        if receipt.sign_status != SignStatus.SIGNED:
            raise _not_signed(receipt)
        if not receipt.layout_file:
            # Rendered on first download when no worker got to it yet (same idempotent step).
            receipt_step_run_now(receipt=receipt, step=ReceiptJob.Step.RENDER)
            receipt.refresh_from_db(fields=["layout_file"])
        if not receipt.layout_file:
            error = ApplicationError(IssuanceError.LAYOUT_FILE_PENDING, "版式文件正在生成，请稍后再试。", status=503)
            raise error
        with receipt.layout_file.open("rb") as handle:
            content = handle.read()
        return _file_response(content, "application/pdf", f"{receipt.receipt_code}-{receipt.number_text}.pdf")


_STATUS_ROW = inline_serializer(
    "ReceiptStatusRow",
    {
        "busNo": serializers.CharField(),
        "found": serializers.BooleanField(),
        "receiptCode": serializers.CharField(allow_null=True),
        "receiptNumber": serializers.CharField(allow_null=True),
        "status": serializers.CharField(allow_null=True),
        "signStatus": serializers.CharField(allow_null=True),
        "layoutFileReady": serializers.BooleanField(),
    },
    many=True,
)


class ReceiptStatusApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_status",
        summary="按业务流水号批量查询票据状态与签章状态（批量开票后跟踪进度）",
        parameters=[OpenApiParameter("busNos", str, required=True, description="逗号分隔的业务流水号，最多 100 个")],
        responses={200: inline_serializer("ReceiptStatusList", {"results": _STATUS_ROW}), **ERRORS},
        tags=["查询"],
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("busNos", "")
        bus_nos = [part for part in raw.split(",") if part]
        if not bus_nos or len(bus_nos) > MAX_STATUS_QUERY or not all(BUS_NO_RE.match(b) for b in bus_nos):
            raise ApplicationError(
                IssuanceError.STATUS_QUERY_INVALID,
                f"busNos 应为 1-{MAX_STATUS_QUERY} 个以逗号分隔的业务流水号。",
                {"max": MAX_STATUS_QUERY},
            )
        found = {
            r.bus_no: r
            for r in receipt_list_by_bus_nos(
                unit=principal_of(request).unit, bus_nos=bus_nos, sandbox=request.auth.sandbox
            )
        }
        return Response({"results": [_status_row(bus_no, found.get(bus_no)) for bus_no in dict.fromkeys(bus_nos)]})


def _status_row(bus_no: str, receipt: Receipt | None) -> dict[str, Any]:
    if receipt is None:
        return {
            "busNo": bus_no,
            "found": False,
            "receiptCode": None,
            "receiptNumber": None,
            "status": None,
            "signStatus": None,
            "layoutFileReady": False,
        }
    return {
        "busNo": bus_no,
        "found": True,
        "receiptCode": receipt.receipt_code,
        "receiptNumber": receipt.number_text,
        "status": receipt.status,
        "signStatus": receipt.sign_status,
        "layoutFileReady": bool(receipt.layout_file),
    }


class ReceiptSigningPayloadApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="receipt_signing_payload",
        summary="单位自持私钥签名第一步：获取待签数据",
        description="仅用于私钥由单位自行保管的单位（签章状态 awaiting_unit）。单位以 SM2（SM3，默认用户标识 "
        "1234567812345678）对 bytesToSign 签名，并以同一 certificateSerial 与 signingTime 提交。",
        responses={
            200: inline_serializer(
                "SigningPayload",
                {
                    "certificateSerial": serializers.CharField(),
                    "signingTime": serializers.DateTimeField(),
                    "bytesToSign": serializers.CharField(help_text="待签字节（Base64）"),
                    "sm3": serializers.CharField(help_text="待签字节的 SM3 摘要（十六进制），便于核对"),
                    "unsignedXml": serializers.CharField(help_text="未签名的数据文件（Base64）"),
                },
            ),
            409: ErrorSerializer,
            **ERRORS,
        },
        tags=["签章"],
    )
    def get(self, request: Request, receipt_code: str, number: str) -> Response:
        payload = receipt_signing_payload(receipt=receipt_from_path(request, receipt_code, number))
        return Response(
            {
                "certificateSerial": payload.certificate_serial,
                "signingTime": payload.signing_time.isoformat(),
                "bytesToSign": base64.b64encode(payload.bytes_to_sign).decode(),
                "sm3": payload.sm3_hex,
                "unsignedXml": base64.b64encode(payload.unsigned_xml).decode(),
            }
        )


class ReceiptUnitSignatureApi(APIView):
    permission_classes = [IsInterfaceClient]

    class InputSerializer(serializers.Serializer):
        certificateSerial = serializers.RegexField(r"^[0-9A-Fa-f:]{1,64}\Z", help_text="单位签名证书序列号（十六进制）")
        signingTime = serializers.DateTimeField(help_text="第一步返回的 signingTime，原样提交")
        signature = serializers.CharField(max_length=400, help_text="SM2 签名（DER，Base64）")

    @extend_schema(
        operation_id="receipt_unit_signature_submit",
        summary="单位自持私钥签名第二步：提交单位签名",
        request=InputSerializer,
        responses={200: ReceiptDetailSerializer, 409: ErrorSerializer, 422: ErrorSerializer, **ERRORS},
        tags=["签章"],
    )
    def post(self, request: Request, receipt_code: str, number: str) -> Response:
        receipt = receipt_from_path(request, receipt_code, number)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            signature = base64.b64decode(data["signature"], validate=True)
        except (binascii.Error, ValueError):
            raise _input_error({"signature": "应为 Base64 编码的 DER 签名。"}) from None
        signing_time: datetime.datetime = data["signingTime"]
        receipt = receipt_unit_signature_submit(
            receipt=receipt,
            certificate_serial=data["certificateSerial"],
            signing_time=signing_time,
            signature=signature,
            actor=principal_of(request).actor,
        )
        return Response(receipt_detail(receipt))
