"""Portal pages of paper receipts (纸质票据): stock, conversion, printing, voiding.

Every query goes through the user's scope: another unit's receipt or paper number is
a 404; a role without the permission (an auditor) gets a 403 on every change.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from issuance.paper.apis import paper_pdf_response
from issuance.paper.models import PaperStock, PaperUse
from issuance.paper.selectors import (
    paper_stock_holding,
    paper_stock_summaries,
    paper_stock_totals_of,
    paper_uses_recent,
)
from issuance.paper.services import (
    MAX_STOCK_RANGE,
    NOTE_MAX,
    paper_number_void,
    paper_stock_receive,
    receipt_paper_convert,
)
from qianduan.access import portal_view
from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit

RECENT_USES = 50
STOCK_ROWS = 200
_CODE_RE = re.compile(r"[0-9]{8}")
_NUMBER_RE = re.compile(r"[0-9]{1,10}")
_CODE_MESSAGES = {"required": "请填写纸质票据代码。", "invalid": "纸质票据代码应为 8 位数字。"}


# --- forms -------------------------------------------------------------------------------


class _PaperNumberField(forms.CharField):
    """A paper number as printed on the form: up to 10 digits, leading zeros optional."""

    def __init__(self, *, label: str, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"required": f"请填写{label}。"})
        super().__init__(label=label, max_length=10, strip=True, **kwargs)
        self.error_messages["max_length"] = f"{label}最多 10 位数字。"
        self.widget.attrs.update(inputmode="numeric", autocomplete="off", pattern="[0-9]{1,10}")

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().clean(value)
        if not text:
            return None
        if not _NUMBER_RE.fullmatch(text) or int(text) == 0:
            raise forms.ValidationError(f"{self.label}应为 1 到 10 位数字，且不能为 0。")
        return int(text)


def _code_field(*, required: bool = True, label: str = "纸质票据代码") -> forms.CharField:
    field = forms.CharField(
        label=label, required=required, max_length=8, strip=True, error_messages=_CODE_MESSAGES.copy()
    )
    field.error_messages["max_length"] = "纸质票据代码应为 8 位数字。"
    field.widget.attrs.update(inputmode="numeric", autocomplete="off", pattern="[0-9]{8}")
    return field


def _clean_code(value: str) -> str:
    if value and not _CODE_RE.fullmatch(value):
        raise forms.ValidationError("纸质票据代码应为 8 位数字。")
    return value


class StockReceiveForm(forms.Form):
    """Record a range of paper forms received (纸质票据入库)."""

    unit_code = forms.CharField(
        label="用票单位编码", max_length=32, strip=True, error_messages={"required": "请填写用票单位编码。"}
    )
    paper_code = _code_field()
    start_number = _PaperNumberField(label="起始号码")
    end_number = _PaperNumberField(label="终止号码")
    note = forms.CharField(
        label="备注（如领用单号）",
        required=False,
        max_length=NOTE_MAX,
        strip=True,
        error_messages={"max_length": f"备注不能超过 {NOTE_MAX} 个字。"},
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.unit: Unit | None = scope.units().first() if scope.is_unit else None
        if not scope.is_bureau:
            del self.fields["unit_code"]

    def clean_unit_code(self) -> str:
        code = self.cleaned_data["unit_code"]
        self.unit = self.scope.units().filter(code=code).first()
        if self.unit is None:
            raise forms.ValidationError("没有这个用票单位，或该单位不在您的管辖范围内。")
        return code

    def clean_paper_code(self) -> str:
        return _clean_code(self.cleaned_data["paper_code"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start_number"), data.get("end_number")
        if start is not None and end is not None:
            if end < start:
                self.add_error("end_number", "终止号码不能小于起始号码。")
            elif end - start + 1 > MAX_STOCK_RANGE:
                self.add_error("end_number", f"一次登记不能超过 {MAX_STOCK_RANGE} 份，请核对起止号码。")
        if self.unit is None and "unit_code" not in self.fields:
            raise forms.ValidationError("当前账号没有所属单位，不能登记纸质票据。")
        return data


class ConvertForm(forms.Form):
    """Optional: the paper number to print on; by default the next one of the unit's stock."""

    paper_code = _code_field(required=False)
    paper_number = _PaperNumberField(label="纸质票据号码", required=False)

    def clean_paper_code(self) -> str:
        return _clean_code(self.cleaned_data["paper_code"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("paper_number") is not None and not data.get("paper_code"):
            self.add_error("paper_code", "指定纸质票据号码时，须同时填写纸质票据代码。")
        return data


class VoidForm(forms.Form):
    reason = forms.ChoiceField(
        label="作废原因",
        choices=[
            (PaperUse.VoidReason.MISPRINT, "打印错误"),
            (PaperUse.VoidReason.RECOVERED, "收回作废"),
            (PaperUse.VoidReason.DAMAGED, "空白票损毁"),
        ],
        error_messages={"required": "请选择作废原因。", "invalid_choice": "请选择有效的作废原因。"},
    )
    reprint = forms.BooleanField(label="打印错误时在下一个号码重新打印", required=False)
    note = forms.CharField(
        label="说明",
        required=False,
        max_length=NOTE_MAX,
        strip=True,
        error_messages={"max_length": f"说明不能超过 {NOTE_MAX} 个字。"},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The box reads "when misprinted, print again on the next number": it means nothing otherwise.
        if data.get("reason") != PaperUse.VoidReason.MISPRINT:
            data["reprint"] = False
        return data


class BlankVoidForm(forms.Form):
    """A damaged blank form (空白票损毁), named by its code and number."""

    paper_code = _code_field()
    paper_number = _PaperNumberField(label="纸质票据号码")
    note = forms.CharField(
        label="损毁情况",
        max_length=NOTE_MAX,
        strip=True,
        error_messages={"required": "请说明损毁情况。", "max_length": f"说明不能超过 {NOTE_MAX} 个字。"},
    )

    def clean_paper_code(self) -> str:
        return _clean_code(self.cleaned_data["paper_code"])


# --- views -------------------------------------------------------------------------------


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.user(_scope(request).username)


def _form_errors(request: HttpRequest, form: forms.Form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@portal_view(Permission.VIEW)
@require_http_methods(["GET", "HEAD", "POST"])
def paper_stock(request: HttpRequest) -> HttpResponse:
    """The stock summary, recent uses with their void actions, and the form to record stock."""
    scope = _scope(request)
    receive_form = None
    if request.method == "POST":
        scope.require(Permission.PAPER_STOCK)
        receive_form = StockReceiveForm(request.POST, scope=scope)
        if receive_form.is_valid():
            data = receive_form.cleaned_data
            assert receive_form.unit is not None
            try:
                stock = paper_stock_receive(
                    unit=receive_form.unit,
                    paper_code=data["paper_code"],
                    start_number=data["start_number"],
                    end_number=data["end_number"],
                    actor=_actor(request),
                    note=data["note"],
                )
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    f"已登记 {stock.unit.name} 的纸质票据 {stock.paper_code}：{stock.start_text} - {stock.end_text}，"
                    f"共 {stock.size} 份。",
                )
                return redirect("portal:paper-stock")
    elif scope.can(Permission.PAPER_STOCK):
        receive_form = StockReceiveForm(scope=scope)
    return render(request, "portal/paper/stock.html", _stock_context(request, scope, receive_form))


def _stock_context(request: HttpRequest, scope: Scope, receive_form: StockReceiveForm | None) -> dict[str, Any]:
    stocks = scope.filter_by_unit(PaperStock.objects.all())
    uses = scope.filter_by_unit(PaperUse.objects.all(), "stock__unit")
    unit_filter = request.GET.get("unit", "").strip() if scope.is_bureau else ""
    if unit_filter:
        stocks = stocks.filter(unit__code=unit_filter)
        uses = uses.filter(stock__unit__code=unit_filter)
    outstanding = uses.filter(state=PaperUse.State.PRINTED).count()
    number_filter = request.GET.get("number", "").strip()
    if number_filter:
        valid = _NUMBER_RE.fullmatch(number_filter)
        uses = uses.filter(paper_number=int(number_filter)) if valid else uses.none()
    summaries = paper_stock_summaries(stocks=stocks, limit=STOCK_ROWS + 1)
    return {
        "summaries": summaries[:STOCK_ROWS],
        "summaries_cut": len(summaries) > STOCK_ROWS,
        "totals": paper_stock_totals_of(stocks=stocks),
        "outstanding": outstanding,
        "uses": paper_uses_recent(uses=uses, limit=RECENT_USES),
        "receive_form": receive_form,
        "blank_form": BlankVoidForm() if scope.can(Permission.PAPER_CONVERT) else None,
        "can_void": scope.can(Permission.PAPER_CONVERT),
        "unit_filter": unit_filter,
        "number_filter": number_filter,
    }


@portal_view(Permission.PAPER_CONVERT)
@require_POST
def receipt_paper_convert_view(request: HttpRequest, receipt_code: str, number: str) -> HttpResponse:
    """Convert the receipt to paper, then open its print page (the PDF to print onto the form)."""
    scope = _scope(request)
    receipt = scope.receipt_or_404(receipt_code, number)
    form = ConvertForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to_receipt(receipt.receipt_code, receipt.number_text)
    try:
        use = receipt_paper_convert(
            receipt=receipt,
            actor=_actor(request),
            paper_code=form.cleaned_data["paper_code"] or None,
            paper_number=form.cleaned_data["paper_number"],
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return _back_to_receipt(receipt.receipt_code, receipt.number_text)
    return redirect("portal:paper-print", use.paper_code, use.number_text)


@portal_view(Permission.PAPER_CONVERT)
@require_safe
def paper_print(request: HttpRequest, paper_code: str, paper_number: str) -> HttpResponse:
    """The print page of a live paper copy, inline."""
    use = _use_in_scope_or_404(_scope(request), paper_code, paper_number)
    if use is None or use.state != PaperUse.State.PRINTED:
        raise Http404("没有这张在用的纸质票据。")
    return paper_pdf_response(use)


@portal_view(Permission.PAPER_CONVERT)
@require_POST
def paper_void(request: HttpRequest, paper_code: str, paper_number: str) -> HttpResponse:
    """Void a paper number: a misprint (optionally printed again), a recovered copy, a damaged blank."""
    scope = _scope(request)
    stock = _stock_in_scope_or_404(scope, paper_code, paper_number)
    _use_in_scope_or_404(scope, paper_code, paper_number)
    form = VoidForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("portal:paper-stock")
    data = form.cleaned_data
    return _void(request, stock, paper_code, int(paper_number), data["reason"], data["reprint"], data["note"])


@portal_view(Permission.PAPER_CONVERT)
@require_POST
def paper_blank_void(request: HttpRequest) -> HttpResponse:
    """Void a damaged blank form typed in by its code and number."""
    scope = _scope(request)
    form = BlankVoidForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("portal:paper-stock")
    code, number = form.cleaned_data["paper_code"], form.cleaned_data["paper_number"]
    stock = paper_stock_holding(
        stocks=scope.filter_by_unit(PaperStock.objects.all()), paper_code=code, paper_number=number
    )
    if stock is None:
        messages.error(request, f"本单位的纸质票据库存中没有 {code}-{number:010d}。")
        return redirect("portal:paper-stock")
    return _void(request, stock, code, number, PaperUse.VoidReason.DAMAGED, False, form.cleaned_data["note"])


def _void(
    request: HttpRequest, stock: PaperStock, code: str, number: int, reason: str, reprint: bool, note: str
) -> HttpResponse:
    try:
        outcome = paper_number_void(
            unit=stock.unit,
            paper_code=code,
            paper_number=number,
            reason=reason,
            actor=_actor(request),
            reprint=reprint,
            note=note,
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("portal:paper-stock")
    voided = outcome.voided
    label = f"{voided.paper_code}-{voided.number_text}"
    if outcome.reprinted is not None:
        new = outcome.reprinted
        messages.success(request, f"纸质票据 {label} 已作废，请在 {new.paper_code}-{new.number_text} 上重新打印。")
        return redirect("portal:paper-print", new.paper_code, new.number_text)
    if voided.receipt is not None:
        messages.success(
            request,
            f"纸质票据 {label} 已作废（{voided.get_void_reason_display()}），"
            f"电子票据 {voided.receipt.receipt_code}-{voided.receipt.number_text} 已恢复为正常状态。",
        )
    else:
        messages.success(request, f"空白纸质票据 {label} 已作废。")
    return redirect("portal:paper-stock")


# --- lookups in scope --------------------------------------------------------------------


def _path_number(paper_code: str, paper_number: str) -> int:
    if not _CODE_RE.fullmatch(paper_code) or not _NUMBER_RE.fullmatch(paper_number) or int(paper_number) == 0:
        raise Http404("纸质票据号码不正确。")
    return int(paper_number)


def _stock_in_scope_or_404(scope: Scope, paper_code: str, paper_number: str) -> PaperStock:
    number = _path_number(paper_code, paper_number)
    stock = paper_stock_holding(
        stocks=scope.filter_by_unit(PaperStock.objects.all()), paper_code=paper_code, paper_number=number
    )
    if stock is None:
        raise Http404("没有这个纸质票据号码。")
    return stock


def _use_in_scope_or_404(scope: Scope, paper_code: str, paper_number: str) -> PaperUse | None:
    """The number's use if the user may see it: in a range of their units and, for a printed
    copy, of a receipt they may see (a cashier limited to one issuing point sees its receipts)."""
    number = _path_number(paper_code, paper_number)
    use = (
        scope.filter_by_unit(PaperUse.objects.all(), "stock__unit")
        .select_related("receipt", "stock__unit")
        .filter(paper_code=paper_code, paper_number=number)
        .first()
    )
    if use is None:
        _stock_in_scope_or_404(scope, paper_code, paper_number)
        return None
    if use.receipt is not None:
        scope.receipt_or_404(use.receipt.receipt_code, use.receipt.number)
    return use


def _back_to_receipt(receipt_code: str, number_text: str) -> HttpResponseRedirect:
    try:
        return redirect(reverse("portal:receipt-detail", args=[receipt_code, number_text]))
    except NoReverseMatch:
        return redirect("portal:paper-stock")
