"""Public service API for reimbursing parties (公共服务接口, /api/v1/public/...).

Every request is signed by a party's credential (verification/authentication.py). A receipt
is only ever found with its check code: a party must hold the receipt. A missing receipt, a
wrong check code, a sandbox receipt and a receipt not yet signed all answer the same
``404 NO_SUCH_RECEIPT``.
"""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from issuance.models import Receipt
from issuance.schemas import ErrorSerializer
from verification.authentication import IsReimbursingParty, PartySignatureAuthentication, party_of
from verification.errors import VerificationError
from verification.foreign import (
    ForeignAnswer,
    entry_foreign_refused,
    foreign_answer_get,
    foreign_receipt_find,
    is_foreign,
)
from verification.models import ReceiptEntry
from verification.selectors import (
    ReceiptAnswer,
    entry_get_for_party,
    entry_list,
    receipt_answer_get,
    receipt_find_by_elements,
)
from verification.services import entry_cancel, entry_record, receipt_verify_counted
from zhongtai.core.errors import ApplicationError, CommonError
from zhongtai.core.money import FEN
from zhongtai.core.params import invalid, param_int
from zhongtai.national.client import ForeignReceipt

RECEIPT_CODE_RE = re.compile(r"^[0-9]{8}\Z")
RECEIPT_NUMBER_RE = re.compile(r"^[0-9]{10}\Z")
CHECK_CODE_RE = re.compile(r"^[0-9a-fA-F]{6}\Z")
ENTRY_ID_RE = re.compile(r"^[1-9][0-9]{0,17}\Z")
TAG = "公共服务"
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
CHECK_CODE_PARAMETER = OpenApiParameter(
    "checkCode", str, required=True, description="校验码（6 位十六进制），证明调用方持有该票据"
)


def _input_error(fields: dict[str, str]) -> ApplicationError:
    return ApplicationError(CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": fields})


def _no_such_receipt() -> ApplicationError:
    return ApplicationError(VerificationError.NO_SUCH_RECEIPT, "查无此票。", status=404)


def _path_fields(receipt_code: str, number: str) -> dict[str, str]:
    fields = {}
    if not RECEIPT_CODE_RE.match(receipt_code):
        fields["receiptCode"] = "票据代码应为 8 位数字。"
    if not RECEIPT_NUMBER_RE.match(number):
        fields["receiptNumber"] = "票据号码应为 10 位数字。"
    return fields


def _elements_checked(receipt_code: str, number: str, check_code: Any) -> str:
    """The path's code and number and the check code, validated; the check code."""
    fields = _path_fields(receipt_code, number)
    if not isinstance(check_code, str) or not check_code:
        fields["checkCode"] = "请提供校验码（6 位十六进制）。"
    elif not CHECK_CODE_RE.match(check_code):
        fields["checkCode"] = "校验码应为 6 位十六进制（0-9、a-f）。"
    if fields:
        raise _input_error(fields)
    return check_code


def _held_foreign(receipt_code: str, number: str, check_code: str) -> ForeignReceipt:
    """Another province's receipt, from the national platform (the same 404 when it has none)."""
    found = foreign_receipt_find(receipt_code=receipt_code, number=int(number), check_code=check_code)
    if found is None:
        raise _no_such_receipt()
    return found


def _held_receipt(receipt_code: str, number: str, check_code: Any) -> Receipt:
    """The receipt named in the path, found only with its check code (the same 404 otherwise)."""
    check_code = _elements_checked(receipt_code, number, check_code)
    receipt = receipt_find_by_elements(receipt_code=receipt_code, number=int(number), check_code=check_code)
    if receipt is None:
        raise _no_such_receipt()
    return receipt


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, as the issuance interface does."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors: dict[str, Any] = {name: ["未知字段。"] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
            raise serializers.ValidationError({**detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


class EntryOutputSerializer(serializers.Serializer):
    entryId = serializers.IntegerField(source="pk", help_text="记录编号（撤销时使用）")
    receiptCode = serializers.CharField(source="receipt.receipt_code")
    receiptNumber = serializers.CharField(source="receipt.number_text")
    kind = serializers.ChoiceField(choices=ReceiptEntry.Kind.choices, help_text="reimbursement 报销，book_entry 入账")
    kindLabel = serializers.CharField(source="get_kind_display")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    entryDate = serializers.DateField(source="entry_date")
    reference = serializers.CharField(help_text="凭证号/理赔案号")
    status = serializers.ChoiceField(choices=ReceiptEntry.Status.choices, help_text="active 有效，cancelled 已撤销")
    statusLabel = serializers.CharField(source="get_status_display")
    enteredAt = serializers.DateTimeField(source="entered_at")
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)
    cancelReason = serializers.CharField(source="cancel_reason")


class EntryResultSerializer(serializers.Serializer):
    entry = EntryOutputSerializer()
    totalAmount = serializers.DecimalField(source="total_amount", max_digits=14, decimal_places=2)
    claimedAmount = serializers.DecimalField(
        source="claimed_amount", max_digits=14, decimal_places=2, help_text="有效记录合计（本次变更后）"
    )
    remainingAmount = serializers.DecimalField(
        source="remaining_amount", max_digits=14, decimal_places=2, help_text="剩余可报销/入账金额"
    )


class CheckOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="检查项，见 docs/verification.md")
    title = serializers.CharField()
    ok = serializers.BooleanField(allow_null=True, help_text="true 通过，false 未通过，null 未检查")
    code = serializers.CharField()


class EntryBriefOutputSerializer(serializers.Serializer):
    entryId = serializers.IntegerField(source="own_entry_id", allow_null=True, help_text="仅本单位的记录给出")
    partyName = serializers.CharField(source="party_name")
    partyType = serializers.CharField(
        source="party_type", help_text="employer 单位财务，medical_insurance 医保，commercial_insurance 商保"
    )
    kind = serializers.CharField(help_text="reimbursement 报销，book_entry 入账")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    entryDate = serializers.DateField(source="entry_date")
    enteredAt = serializers.DateTimeField(source="entered_at")
    mine = serializers.BooleanField(help_text="是否本单位的记录")


def _money(value: Decimal | None) -> str | None:
    """As ``DecimalField(max_digits=14, decimal_places=2)`` writes it."""
    return None if value is None else format(value.quantize(FEN, rounding=ROUND_HALF_UP), "f")


def answer_payload(answer: ReceiptAnswer | ForeignAnswer) -> dict[str, Any]:
    """The body of ``PublicReceiptApi``: exactly what its ``OutputSerializer`` writes, built directly.

    A verification is the hottest request of the platform, and running the serializer's ~30
    fields costs it more than a query does (docs/verification.md, "Speed"). The serializer still
    describes the answer (OpenAPI), and tests/verification/test_verification_speed_paths.py checks
    that both write the same body for every kind of answer. Entries, rare in a verification
    answer, still go through their serializer.
    """
    receipt, verdict, entries = answer.receipt, answer.verdict, answer.entries
    return {
        "receiptCode": receipt.receipt_code,
        "receiptNumber": receipt.number_text,
        "checkCode": receipt.check_code,
        "kindCode": receipt.kind.code,
        "kindName": receipt.kind.name,
        "issueDate": receipt.issue_date.isoformat(),
        "totalAmount": _money(receipt.total_amount),
        "unitName": receipt.unit.name,
        "unitCreditCode": receipt.unit.credit_code,
        "payerName": receipt.payer_name,
        "isRed": bool(receipt.is_red),
        "genuine": bool(verdict.genuine),
        "failureReason": verdict.reason,
        "checks": [{"name": c.name, "title": c.title, "ok": c.ok, "code": c.code} for c in verdict.checks],
        "status": str(receipt.status),
        "statusLabel": answer.status_label,
        "reimbursed": entries.reimbursed,
        "claimedAmount": _money(entries.claimed_amount),
        "remainingAmount": _money(entries.remaining_amount),
        "entries": EntryBriefOutputSerializer(entries.entries, many=True).data if entries.entries else [],
        "verificationCount": answer.verification_count,
        "provinceCode": answer.province,
        "provinceName": answer.province_name,
        "source": answer.source,
    }


class PublicReceiptApi(APIView):
    authentication_classes = [PartySignatureAuthentication]
    permission_classes = [IsReimbursingParty]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PublicReceipt"

        receiptCode = serializers.CharField(source="receipt.receipt_code")
        receiptNumber = serializers.CharField(source="receipt.number_text")
        checkCode = serializers.CharField(source="receipt.check_code")
        kindCode = serializers.CharField(source="receipt.kind.code")
        kindName = serializers.CharField(source="receipt.kind.name")
        issueDate = serializers.DateField(source="receipt.issue_date")
        totalAmount = serializers.DecimalField(source="receipt.total_amount", max_digits=14, decimal_places=2)
        unitName = serializers.CharField(source="receipt.unit.name")
        unitCreditCode = serializers.CharField(source="receipt.unit.credit_code")
        payerName = serializers.CharField(source="receipt.payer_name")
        isRed = serializers.BooleanField(source="receipt.is_red")
        genuine = serializers.BooleanField(
            source="verdict.genuine", help_text="两个签名、证书链、吊销状态与证书用途均验证通过"
        )
        failureReason = serializers.CharField(source="verdict.reason", help_text="未通过时的首个原因，通过时为空")
        checks = CheckOutputSerializer(source="verdict.checks", many=True)
        status = serializers.CharField(
            source="receipt.status", help_text="issued 正常，red_offset 已冲红，paper_converted 已换开纸质票据"
        )
        statusLabel = serializers.CharField(source="status_label", help_text="如“正常”“已冲红”“已报销”")
        reimbursed = serializers.BooleanField(source="entries.reimbursed", help_text="是否有有效的报销/入账记录")
        claimedAmount = serializers.DecimalField(
            source="entries.claimed_amount",
            max_digits=14,
            decimal_places=2,
            allow_null=True,
            help_text="已报销/入账金额；外省票据的台账在开票地，此处为 null",
        )
        remainingAmount = serializers.DecimalField(
            source="entries.remaining_amount",
            max_digits=14,
            decimal_places=2,
            allow_null=True,
            help_text="剩余可报销/入账金额；外省票据为 null",
        )
        entries = EntryBriefOutputSerializer(source="entries.entries", many=True, help_text="有效的报销/入账记录")
        verificationCount = serializers.IntegerField(
            source="verification_count",
            allow_null=True,
            help_text="查验次数（含本次）；外省票据由全国平台统计，此处为 null",
        )
        provinceCode = serializers.CharField(source="province", help_text="开票地省级区划代码（票据代码前两位）")
        provinceName = serializers.CharField(source="province_name", help_text="开票地，如“湖南省”")
        source = serializers.CharField(
            help_text="province 本省平台的记录；national 外省票据，经全国财政电子票据平台查验"
        )

    @extend_schema(
        operation_id="public_receipt_get",
        summary="查验票据：真伪、状态、金额与报销/入账情况",
        description=(
            "须提供校验码；票据不存在、校验码错误、联调测试票据与尚未签章的票据一律返回 404 NO_SUCH_RECEIPT。"
            "外省票据（票据代码前两位不是本省）经全国平台查验，应答形状相同（source 为 national，查验次数与"
            "报销金额为 null）；全国平台无法访问时返回 503 NATIONAL_UNAVAILABLE。"
        ),
        parameters=[CHECK_CODE_PARAMETER],
        responses={200: OutputSerializer, 503: ErrorSerializer, **ERRORS},
        tags=[TAG],
    )
    def get(self, request: Request, receipt_code: str, number: str) -> Response:
        principal = party_of(request)
        check_code = _elements_checked(receipt_code, number, request.query_params.get("checkCode"))
        if is_foreign(receipt_code):
            found = _held_foreign(receipt_code, number, check_code)
            return Response(answer_payload(foreign_answer_get(found=found)))
        found = receipt_verify_counted(receipt_code=receipt_code, number=int(number), check_code=check_code)
        if found is None:
            raise _no_such_receipt()
        receipt, count = found
        answer = receipt_answer_get(receipt=receipt, verification_count=count, party=principal.party)
        return Response(answer_payload(answer))


class PublicReceiptDataFileApi(APIView):
    authentication_classes = [PartySignatureAuthentication]
    permission_classes = [IsReimbursingParty]

    @extend_schema(
        operation_id="public_receipt_datafile",
        summary="下载票据的数据文件（已签章的 XML），用于离线验证与归档",
        description="外省票据返回全国平台提供的数据文件；全国平台无法访问时返回 503 NATIONAL_UNAVAILABLE。",
        parameters=[CHECK_CODE_PARAMETER],
        responses={
            (200, "application/xml"): OpenApiResponse(description="EInvoice XML"),
            503: ErrorSerializer,
            **ERRORS,
        },
        tags=[TAG],
    )
    def get(self, request: Request, receipt_code: str, number: str) -> HttpResponse:
        check_code = _elements_checked(receipt_code, number, request.query_params.get("checkCode"))
        if is_foreign(receipt_code):
            content = _held_foreign(receipt_code, number, check_code).datafile
        else:
            receipt = _held_receipt(receipt_code, number, check_code)
            with receipt.datafile.open("rb") as handle:
                content = handle.read()
        response = HttpResponse(content, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{receipt_code}-{number}.xml"'
        response["Cache-Control"] = "private, max-age=0"
        return response


class EntryCreateApi(APIView):
    authentication_classes = [PartySignatureAuthentication]
    permission_classes = [IsReimbursingParty]

    class InputSerializer(StrictSerializer):
        class Meta:
            ref_name = "PublicEntryCreate"

        checkCode = serializers.RegexField(
            CHECK_CODE_RE, error_messages={"invalid": "校验码应为 6 位十六进制（0-9、a-f）。"}, help_text="校验码"
        )
        kind = serializers.ChoiceField(
            choices=ReceiptEntry.Kind.choices,
            error_messages={"invalid_choice": "应为 reimbursement（报销）或 book_entry（入账）。"},
            help_text="reimbursement 报销，book_entry 入账",
        )
        amount = serializers.DecimalField(
            max_digits=14,
            decimal_places=2,
            min_value=Decimal("0.01"),
            help_text="本次报销/入账金额，> 0 且不超过剩余金额",
        )
        entryDate = serializers.DateField(help_text="报销/入账日期 YYYY-MM-DD，不早于开票日期、不晚于今天")
        reference = serializers.CharField(
            max_length=64, required=False, allow_blank=True, default="", help_text="本单位的凭证号或理赔案号"
        )

    @extend_schema(
        operation_id="public_entry_create",
        summary="登记报销/入账（可部分报销；同一单位对同一票据只能有一条有效记录）",
        request=InputSerializer,
        description="外省票据的报销/入账台账由开票地省级平台管理：一律返回 422 ENTRY_FOREIGN_RECEIPT。",
        responses={201: EntryResultSerializer, 409: ErrorSerializer, 422: ErrorSerializer, **ERRORS},
        tags=[TAG],
    )
    def post(self, request: Request, receipt_code: str, number: str) -> Response:
        principal = party_of(request)
        fields = _path_fields(receipt_code, number)
        if fields:
            raise _input_error(fields)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if is_foreign(receipt_code):
            raise entry_foreign_refused(receipt_code)
        receipt = _held_receipt(receipt_code, number, data["checkCode"])
        outcome = entry_record(
            party=principal.party,
            receipt=receipt,
            kind=data["kind"],
            amount=data["amount"],
            entry_date=data["entryDate"],
            reference=data["reference"],
            actor=principal.actor,
        )
        return Response(EntryResultSerializer(outcome).data, status=201)


class EntryCancelApi(APIView):
    authentication_classes = [PartySignatureAuthentication]
    permission_classes = [IsReimbursingParty]

    class InputSerializer(StrictSerializer):
        class Meta:
            ref_name = "PublicEntryCancel"

        reason = serializers.CharField(max_length=200, help_text="撤销原因")

    @extend_schema(
        operation_id="public_entry_cancel",
        summary="撤销本单位的一条报销/入账记录，释放其金额",
        request=InputSerializer,
        responses={200: EntryResultSerializer, 409: ErrorSerializer, **ERRORS},
        tags=[TAG],
    )
    def post(self, request: Request, receipt_code: str, number: str, entry_id: str) -> Response:
        principal = party_of(request)
        fields = _path_fields(receipt_code, number)
        if not ENTRY_ID_RE.match(entry_id):
            fields["entryId"] = "记录编号应为正整数。"
        if fields:
            raise _input_error(fields)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = entry_get_for_party(
            party=principal.party, entry_id=int(entry_id), receipt_code=receipt_code, number=int(number)
        )
        if entry is None:
            raise ApplicationError(VerificationError.ENTRY_NOT_FOUND, "未找到该报销/入账记录。", status=404)
        outcome = entry_cancel(
            party=principal.party, entry=entry, reason=serializer.validated_data["reason"], actor=principal.actor
        )
        return Response(EntryResultSerializer(outcome).data)


def _since(value: str) -> datetime.datetime | None:
    """``since``: a date (from its start, Beijing time) or an ISO 8601 time with its offset."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = datetime.date.fromisoformat(value)
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise invalid("since", "应为 YYYY-MM-DD 或带时区的 ISO 8601 时间。") from None
    if moment.tzinfo is None:
        raise invalid("since", "时间须带时区，如 2026-01-01T08:00:00+08:00。")
    return moment


class EntryListApi(APIView):
    authentication_classes = [PartySignatureAuthentication]
    permission_classes = [IsReimbursingParty]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PublicEntryPage"

        count = serializers.IntegerField()
        page = serializers.IntegerField()
        pageSize = serializers.IntegerField()
        results = EntryOutputSerializer(many=True)

    @extend_schema(
        operation_id="public_entry_list",
        summary="本单位的报销/入账记录（含已撤销），按登记时间排序",
        parameters=[
            OpenApiParameter("receiptCode", str, description="票据代码（8 位数字）"),
            OpenApiParameter("receiptNumber", str, description="票据号码（10 位数字）"),
            OpenApiParameter("since", str, description="登记时间不早于：YYYY-MM-DD 或带时区的 ISO 8601 时间"),
            OpenApiParameter("page", int, description="页码，从 1 开始"),
            OpenApiParameter("pageSize", int, description="每页条数 1-500，默认 100"),
        ],
        responses={200: OutputSerializer, **ERRORS},
        tags=[TAG],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        code, number = params.get("receiptCode", ""), params.get("receiptNumber", "")
        if code and not RECEIPT_CODE_RE.match(code):
            raise invalid("receiptCode", "票据代码应为 8 位数字。")
        if number and not RECEIPT_NUMBER_RE.match(number):
            raise invalid("receiptNumber", "票据号码应为 10 位数字。")
        since = _since(params.get("since", ""))
        page = param_int(params, "page", default=1, minimum=1, maximum=1_000_000)
        page_size = param_int(params, "pageSize", default=100, minimum=1, maximum=500)
        entries = entry_list(
            party=party_of(request).party,
            receipt_code=code or None,
            number=int(number) if number else None,
            since=since,
        )
        count = entries.count()
        if page > 1 and (page - 1) * page_size >= count:
            raise invalid("page", "页码超出范围。")
        rows = entries[(page - 1) * page_size : page * page_size]
        return Response(
            self.OutputSerializer({"count": count, "page": page, "pageSize": page_size, "results": rows}).data
        )
