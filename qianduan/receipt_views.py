"""Receipt lists, the receipt page with its history, files and Excel export (票据查询)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from issuance.jobs import receipt_step_run_now
from issuance.models import Receipt, ReceiptJob, SignStatus
from issuance.red_offset import receipt_red_offset
from issuance.states import ReceiptStatus
from qianduan.access import portal_view
from qianduan.export import receipts_workbook
from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import ReceiptKind

PAGE_SIZE = 50
EXPORT_LIMIT = 50_000
MAX_RANGE_DAYS = 366


class ReceiptFilterForm(forms.Form):
    """The list's filters, from the query string: every value validated."""

    date_from = forms.DateField(label="开票日期起", required=False)
    date_to = forms.DateField(label="开票日期止", required=False)
    kind = forms.ModelChoiceField(
        label="票据种类", queryset=ReceiptKind.objects.none(), required=False, to_field_name="code", empty_label="全部"
    )
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部"), *ReceiptStatus.choices])
    sign_status = forms.ChoiceField(label="签章状态", required=False, choices=[("", "全部"), *SignStatus.choices])
    colour = forms.ChoiceField(
        label="蓝票/红票", required=False, choices=[("", "全部"), ("blue", "蓝票"), ("red", "红票")]
    )
    payer = forms.CharField(label="交款人", required=False, max_length=100)
    number = forms.CharField(label="票据代码/号码", required=False, max_length=20)
    amount_min = forms.DecimalField(label="金额下限", required=False, max_digits=14, decimal_places=2)
    amount_max = forms.DecimalField(label="金额上限", required=False, max_digits=14, decimal_places=2)
    unit = forms.CharField(label="单位编码", required=False, max_length=32)

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        kinds = ReceiptKind.objects.all()
        if scope.is_unit:
            kinds = kinds.filter(units__id=scope.unit_id)
        self.fields["kind"].queryset = kinds.order_by("code")
        if not scope.is_bureau:
            del self.fields["unit"]

    def clean_number(self) -> str:
        value = self.cleaned_data["number"].strip()
        if value and not value.replace("-", "").isdigit():
            raise forms.ValidationError("票据代码或号码只能包含数字。")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", "截止日期不能早于起始日期。")
            elif (end - start).days > MAX_RANGE_DAYS:
                self.add_error("date_to", "查询区间不能超过一年，请缩小范围。")
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and high < low:
            self.add_error("amount_max", "金额上限不能小于下限。")
        return data

    def apply(self, queryset: QuerySet[Receipt]) -> QuerySet[Receipt]:
        data = self.cleaned_data
        if data.get("date_from"):
            queryset = queryset.filter(issue_date__gte=data["date_from"])
        if data.get("date_to"):
            queryset = queryset.filter(issue_date__lte=data["date_to"])
        if data.get("kind"):
            queryset = queryset.filter(kind=data["kind"])
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("sign_status"):
            queryset = queryset.filter(sign_status=data["sign_status"])
        if data.get("colour"):
            queryset = queryset.filter(is_red=data["colour"] == "red")
        if data.get("payer"):
            queryset = queryset.filter(payer_name__contains=data["payer"])
        if data.get("number"):
            queryset = _number_filter(queryset, data["number"])
        if data.get("amount_min") is not None:
            queryset = queryset.filter(total_amount__gte=data["amount_min"])
        if data.get("amount_max") is not None:
            queryset = queryset.filter(total_amount__lte=data["amount_max"])
        if data.get("unit"):
            queryset = queryset.filter(unit__code=data["unit"])
        return queryset


def _number_filter(queryset: QuerySet[Receipt], text: str) -> QuerySet[Receipt]:
    digits = text.replace("-", "")
    if len(digits) == 18:  # code and number together
        return queryset.filter(receipt_code=digits[:8], number=int(digits[8:]))
    if len(digits) == 8:
        return queryset.filter(Q(receipt_code=digits) | Q(number=int(digits)))
    return queryset.filter(number=int(digits))


def _filtered(request: HttpRequest) -> tuple[ReceiptFilterForm, QuerySet[Receipt]]:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    form = ReceiptFilterForm(request.GET or None, scope=scope)
    receipts = (
        scope.receipts()
        .select_related("kind", "unit", "issuing_point", "related_receipt")
        .order_by("-issued_at", "-id")
    )
    if form.is_bound and form.is_valid():
        receipts = form.apply(receipts)
    elif form.is_bound:
        receipts = receipts.none()
    return form, receipts


@portal_view(Permission.VIEW)
@require_GET
def receipt_list(request: HttpRequest) -> HttpResponse:
    form, receipts = _filtered(request)
    page = Paginator(receipts, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = receipts.aggregate(amount=Sum("total_amount"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "total_amount": totals["amount"] or Decimal("0.00"),
        "query": query.urlencode(),
    }
    return render(request, "portal/receipts/list.html", context)


@portal_view(Permission.EXPORT)
@require_GET
def receipt_export(request: HttpRequest) -> HttpResponse:
    form, receipts = _filtered(request)
    if form.is_bound and not form.is_valid():
        messages.error(request, "筛选条件有误，请修改后再导出。")
        return redirect(f"{reverse('portal:receipt-list')}?{request.GET.urlencode()}")
    count = receipts.count()
    if count > EXPORT_LIMIT:
        messages.error(request, f"符合条件的票据有 {count} 张，超过单次导出上限 {EXPORT_LIMIT} 张，请缩小日期范围。")
        return redirect(f"{reverse('portal:receipt-list')}?{request.GET.urlencode()}")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        receipts_workbook(receipts.iterator(chunk_size=2000)),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="receipts-{stamp}.xlsx"'
    return response


# --- One receipt -----------------------------------------------------------------------

ACTION_LABELS = {
    "receipt.issue": "开具",
    "receipt.sign": "签章",
    "receipt.sign_again": "重新签章",
    "receipt.transition": "状态变更",
    "receipt.red_offset": "冲红",
    "receipt.red_issue": "开具红票",
    "receipt.paper_convert": "换开纸质票据",
    "receipt.paper_void": "作废纸质票据",
    "receipt.send": "发送给交款人",
}


def receipt_history(receipt: Receipt) -> list[dict[str, Any]]:
    """Every audited change of the receipt, oldest first, with who and when."""
    events = AuditEvent.objects.filter(object_type="receipt", object_id=str(receipt.pk)).order_by("occurred_at", "id")
    rows = []
    for event in events:
        data = event.data or {}
        detail = ""
        if event.action == "receipt.transition":
            labels = dict(ReceiptStatus.choices)
            detail = f"{labels.get(data.get('from'), data.get('from'))} → {labels.get(data.get('to'), data.get('to'))}"
            if data.get("reason"):
                detail += f"（{data['reason']}）"
        elif data.get("reason"):
            detail = str(data["reason"])
        rows.append(
            {
                "at": event.occurred_at,
                "action": ACTION_LABELS.get(event.action, event.action),
                "actor": event.actor,
                "actor_type": event.get_actor_type_display(),
                "detail": detail,
            }
        )
    return rows


@portal_view(Permission.VIEW)
@require_GET
def receipt_detail(request: HttpRequest, receipt_code: str, number: str) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    receipt = scope.receipt_or_404(receipt_code, number)
    context = {
        "receipt": receipt,
        "items": receipt.items.order_by("line_no"),
        "history": receipt_history(receipt),
        "red_receipts": receipt.red_receipts.order_by("issued_at"),
        "can_red_offset": scope.can(Permission.RED_OFFSET)
        and not receipt.is_red
        and receipt.status == ReceiptStatus.ISSUED
        and receipt.sign_status == SignStatus.SIGNED,
        "can_paper": scope.can(Permission.PAPER_CONVERT)
        and not receipt.is_red
        and receipt.status == ReceiptStatus.ISSUED
        and receipt.sign_status == SignStatus.SIGNED,
        "can_send": scope.can(Permission.SEND) and receipt.sign_status == SignStatus.SIGNED,
        "signed": receipt.sign_status == SignStatus.SIGNED,
    }
    return render(request, "portal/receipts/detail.html", context)


def _file(content: bytes, content_type: str, filename: str, *, inline: bool) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@xframe_options_sameorigin  # the receipt page shows the PDF in a frame of its own origin
@portal_view(Permission.VIEW)
@require_GET
def receipt_pdf(request: HttpRequest, receipt_code: str, number: str) -> HttpResponse:
    """The layout file (PDF with the signed XML inside); rendered now if no worker got to it yet."""
    scope: Scope = request.scope  # type: ignore[attr-defined]
    receipt = scope.receipt_or_404(receipt_code, number)
    if receipt.sign_status != SignStatus.SIGNED:
        return render(request, "portal/receipts/not_ready.html", {"receipt": receipt}, status=409)
    if not receipt.layout_file:
        receipt_step_run_now(receipt=receipt, step=ReceiptJob.Step.RENDER)
        receipt.refresh_from_db(fields=["layout_file"])
    if not receipt.layout_file:
        return render(request, "portal/receipts/not_ready.html", {"receipt": receipt}, status=503)
    with receipt.layout_file.open("rb") as handle:
        content = handle.read()
    name = f"{receipt.receipt_code}-{receipt.number_text}.pdf"
    return _file(content, "application/pdf", name, inline=request.GET.get("inline") == "1")


@portal_view(Permission.VIEW)
@require_GET
def receipt_xml(request: HttpRequest, receipt_code: str, number: str) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    receipt = scope.receipt_or_404(receipt_code, number)
    if receipt.sign_status != SignStatus.SIGNED or not receipt.datafile:
        return render(request, "portal/receipts/not_ready.html", {"receipt": receipt}, status=409)
    with receipt.datafile.open("rb") as handle:
        content = handle.read()
    return _file(content, "application/xml", f"{receipt.receipt_code}-{receipt.number_text}.xml", inline=False)


class RedOffsetForm(forms.Form):
    reason = forms.CharField(
        label="冲红原因",
        max_length=200,
        min_length=2,
        strip=True,
        error_messages={
            "required": "请填写冲红原因。",
            "min_length": "冲红原因至少 2 个字。",
            "max_length": "冲红原因不能超过 200 个字。",
        },
    )
    confirm = forms.BooleanField(label="我已核对，确认冲红整张票据", error_messages={"required": "请勾选确认。"})


@portal_view(Permission.RED_OFFSET)
@require_POST
def receipt_red_offset_view(request: HttpRequest, receipt_code: str, number: str) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    receipt = scope.receipt_or_404(receipt_code, number)
    form = RedOffsetForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("portal:receipt-detail", receipt.receipt_code, receipt.number_text)
    try:
        red, _created = receipt_red_offset(
            receipt=receipt,
            reason=form.cleaned_data["reason"],
            actor=Actor.user(scope.username),
            source=Receipt.Source.PORTAL,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("portal:receipt-detail", receipt.receipt_code, receipt.number_text)
    if red.sign_status != SignStatus.SIGNED:
        receipt_step_run_now(receipt=red, step=ReceiptJob.Step.SIGN)
    messages.success(request, f"已冲红。红票：{red.receipt_code} - {red.number_text}")
    return redirect("portal:receipt-detail", red.receipt_code, red.number_text)
