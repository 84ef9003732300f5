"""Sending a receipt to its payer (发送给交款人) and the outgoing-message log (发送记录)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from issuance.models import Receipt
from qianduan.access import portal_view
from zhongtai.accounts.scoping import Permission
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.messaging.models import Channel, MessageStatus, OutgoingMessage
from zhongtai.messaging.selectors import message_list
from zhongtai.messaging.services import receipt_send

PAGE_SIZE = 50


class SendForm(forms.Form):
    channel = forms.ChoiceField(
        choices=Channel.choices,
        error_messages={"required": "请选择发送方式：短信或邮件。", "invalid_choice": "请选择发送方式：短信或邮件。"},
    )
    recipient = forms.CharField(max_length=254, error_messages={"required": "请填写接收人的手机号码或电子邮箱。"})


class MessageFilterForm(forms.Form):
    status = forms.ChoiceField(label="状态", choices=[("", "全部"), *MessageStatus.choices], required=False)
    channel = forms.ChoiceField(label="渠道", choices=[("", "全部"), *Channel.choices], required=False)
    date_from = forms.DateField(label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))


@dataclass(frozen=True)
class SendResult:
    level: str  # success / warning / error (the classes of .messages li)
    text: str


def _outcome(message: OutgoingMessage) -> SendResult:
    """What became of a message right after the request (in-process workers have already tried it)."""
    channel = message.get_channel_display()
    to = message.recipient_masked
    if message.status == MessageStatus.SENT:
        if message.log_only:
            return SendResult("warning", f"{channel}已记录，{message.provider_label}，交款人不会收到：{to}。")
        return SendResult("success", f"已通过{channel}发送至 {to}。")
    if message.status == MessageStatus.FAILED:
        return SendResult("error", f"{channel}发送失败（{to}）：{message.last_error}")
    if message.attempts and message.last_error:
        return SendResult("warning", f"{channel}暂未发送成功（{to}），已留在发送队列等待重试：{message.last_error}")
    return SendResult("success", f"{channel}已加入发送队列，将发送至 {to}。")


def _back(request: HttpRequest, receipt: Receipt) -> str:
    """Where a plain (non-htmx) form post returns: the page it came from, else the receipt's page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    try:
        return reverse("portal:receipt-detail", args=[receipt.receipt_code, receipt.number_text])
    except NoReverseMatch:  # the receipt page is not installed: the log shows the result
        return reverse("portal:message-list")


@require_POST
@portal_view(Permission.SEND)
def receipt_send_view(request: HttpRequest, receipt_code: str, number: str) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    receipt = scope.receipt_or_404(receipt_code, number)
    form = SendForm(request.POST)
    result: SendResult | None = None
    errors: list[str] = []
    if not form.is_valid():
        errors = [error for field_errors in form.errors.values() for error in field_errors]
    else:
        try:
            message = receipt_send(
                receipt=receipt,
                channel=form.cleaned_data["channel"],
                recipient=form.cleaned_data["recipient"],
                actor=Actor.user(scope.username),
            )
        except ApplicationError as exc:
            errors = [exc.message]
        else:
            message.refresh_from_db()
            result = _outcome(message)
    if request.headers.get("HX-Request") == "true":
        context: dict[str, Any] = {
            "receipt": receipt,
            "send_result": result,
            "send_errors": errors,
            "send_channel": request.POST.get("channel", ""),
            "send_recipient": request.POST.get("recipient", ""),
            "send_next": request.POST.get("next", ""),
        }
        return render(request, "portal/messages/send_form.html", context)
    if result is not None:
        getattr(messages, result.level)(request, result.text)
    for error in errors:
        messages.error(request, error)
    return HttpResponseRedirect(_back(request, receipt))


@require_GET
@portal_view(Permission.VIEW)
def message_list_view(request: HttpRequest) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    filters = MessageFilterForm(request.GET)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    queryset = message_list(
        scope=scope,
        status=criteria.get("status", ""),
        channel=criteria.get("channel", ""),
        date_from=criteria.get("date_from"),
        date_to=criteria.get("date_to"),
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filters": filters, "page": page, "query": query.urlencode()}
    return render(request, "portal/messages/list.html", context)
