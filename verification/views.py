"""The public verification page (/verify/): no login, throttled, on any screen.

A check comes from the form (three elements, optionally the issue date or the payer, and a
captcha) or from a receipt's QR link (``?c=&n=&k=&d=&a=``, no captcha: the link carries the
check code). Both count against the client's rate limit and the per-receipt daily cap.

A receipt that is not found, whatever the reason (no such receipt, a wrong check code, a
sandbox receipt, signatures not complete, an optional element that does not match), gets
one and the same answer, 查无此票, from the same template with the same status, after the
same work.

A receipt code of another province (跨省查验) is looked up through the national platform
(verification/foreign.py), from the form only: our QR links carry only our receipts, so a
QR link with another province's code is 查无此票 without asking. The limits and the captcha
apply as to any check. When the national platform does not answer, the form comes back with
what was typed and 全国平台暂时无法访问，请稍后再试 (503).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from issuance.models import Receipt
from verification.captcha import captcha_issue
from verification.errors import VerificationError
from verification.foreign import ForeignAnswer, foreign_answer_get, foreign_receipt_find, is_foreign
from verification.forms import QR_PARAMETERS, VerifyForm
from verification.limits import Refusal, captcha_rate_hit, check_rate_hit, client_key, receipt_daily_hit
from verification.selectors import ReceiptAnswer, receipt_answer_get, receipt_find_by_elements, receipt_public_get
from verification.services import receipt_layout_file_content, verification_count_increment
from verification.tokens import (
    FileKind,
    ForeignElements,
    download_token_make,
    download_token_make_foreign,
    download_token_read,
)
from zhongtai.core.errors import ApplicationError

_STATUS_CLASS = {"正常": "ok", "已冲红": "bad", "已换开纸质票据": "warn", "已报销": "warn"}
# Kept when the visitor asks for another captcha, so that nothing typed is lost.
_KEPT_FIELDS = ("receipt_code", "number", "check_code", "issue_date", "payer_name", "amount")


def _private(response: HttpResponse) -> HttpResponse:
    """An answer names a receipt and its check code: never cached or indexed, and its address (with the
    check code of a QR link) is never sent to another site as a referrer. Not "no-referrer": browsers
    would then send "Origin: null" with the form, which the CSRF check refuses."""
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    client = client_key(request)
    if request.method == "POST":
        if request.POST.get("refresh_captcha"):
            return _form_page(request, client, VerifyForm(initial={k: request.POST.get(k, "") for k in _KEPT_FIELDS}))
        return _check(request, client, VerifyForm(request.POST))
    if any(request.GET.get(name) for name in QR_PARAMETERS):
        return _check(request, client, VerifyForm.from_qr(request.GET), via_qr=True)
    return _form_page(request, client, VerifyForm())


def _check(request: HttpRequest, client: str, form: VerifyForm, *, via_qr: bool = False) -> HttpResponse:
    refusal = check_rate_hit(client=client)
    if refusal is not None:
        return _limited(request, refusal)
    if not form.is_valid():
        return _form_page(request, client, form)
    data = form.cleaned_data
    refusal = receipt_daily_hit(client=client, receipt_code=data["receipt_code"], number=data["number"])
    if refusal is not None:
        return _limited(request, refusal)
    if is_foreign(data["receipt_code"]):
        return _foreign_check(request, client, data, via_qr=via_qr)
    receipt = receipt_find_by_elements(
        receipt_code=data["receipt_code"],
        number=int(data["number"]),
        check_code=data["check_code"],
        issue_date=data.get("issue_date"),
        total_amount=data.get("amount"),
        payer_name=data.get("payer_name") or None,
    )
    if receipt is None:
        return _form_page(request, client, VerifyForm(), not_found=True)
    count = verification_count_increment(receipt=receipt)
    return _answer_page(request, receipt_answer_get(receipt=receipt, verification_count=count))


def _foreign_check(request: HttpRequest, client: str, data: dict[str, Any], *, via_qr: bool) -> HttpResponse:
    """Another province's receipt, through the national platform (form only, never a QR link)."""
    elements = ForeignElements(
        receipt_code=data["receipt_code"],
        number=int(data["number"]),
        check_code=data["check_code"],
        issue_date=data.get("issue_date"),
        total_amount=data.get("amount"),
    )
    if via_qr:
        return _form_page(request, client, VerifyForm(), not_found=True)
    try:
        found = foreign_receipt_find(
            receipt_code=elements.receipt_code,
            number=elements.number,
            check_code=elements.check_code,
            issue_date=elements.issue_date,
            total_amount=elements.total_amount,
        )
    except ApplicationError as exc:
        if exc.code != VerificationError.NATIONAL_UNAVAILABLE:
            raise
        kept = VerifyForm(initial={name: data.get(name) or "" for name in _KEPT_FIELDS})
        return _form_page(request, client, kept, unavailable=exc.message, status=503)
    answer = foreign_answer_get(found=found) if found is not None else None
    payer = data.get("payer_name") or ""
    if answer is None or (payer and answer.receipt.payer_name.strip() != payer):
        return _form_page(request, client, VerifyForm(), not_found=True)
    return _answer_page(request, answer, foreign=elements)


def _form_page(
    request: HttpRequest,
    client: str,
    form: VerifyForm,
    *,
    not_found: bool = False,
    unavailable: str = "",
    status: int = 200,
) -> HttpResponse:
    refusal = captcha_rate_hit(client=client)
    if refusal is not None:
        return _limited(request, refusal)
    captcha, _ = captcha_issue()
    context = {
        "form": form,
        "captcha": captcha,
        "not_found": not_found,
        "unavailable": unavailable,
        "rate_minutes": max(1, settings.EREC_VERIFY_RATE_WINDOW_SECONDS // 60),
        "rate_limit": settings.EREC_VERIFY_RATE_LIMIT,
        "daily_cap": settings.EREC_VERIFY_RATE_PER_RECEIPT_DAILY,
    }
    return _private(render(request, "verification/verify.html", context, status=status))


def _limited(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    response = render(request, "verification/limited.html", {"message": refusal.message}, status=429)
    response["Retry-After"] = str(refusal.retry_after)
    return _private(response)


def _masked_payer(receipt: Any) -> str:
    """A person's name shows its first character only (张**); an organisation's name is shown."""
    name = receipt.payer_name.strip()
    if receipt.payer_type == Receipt.PayerType.ORGANISATION or len(name) < 2:
        return name
    return name[0] + "*" * (len(name) - 1)


def _answer_page(
    request: HttpRequest, answer: ReceiptAnswer | ForeignAnswer, *, foreign: ForeignElements | None = None
) -> HttpResponse:
    receipt = answer.receipt
    context: dict[str, Any] = {
        "answer": answer,
        "receipt": receipt,
        "foreign": foreign is not None,
        "statuses": [(label, _STATUS_CLASS.get(label, "")) for label in answer.status_labels],
        "payer": _masked_payer(receipt),
        "link_minutes": max(1, settings.EREC_VERIFY_DOWNLOAD_SECONDS // 60),
    }
    if foreign is not None:
        context["xml_url"] = reverse("verification:download", args=[download_token_make_foreign(elements=foreign)])
    else:
        assert isinstance(receipt, Receipt)
        for name, kind in (("pdf_url", FileKind.PDF), ("xml_url", FileKind.XML)):
            context[name] = reverse(
                "verification:download", args=[download_token_make(receipt_id=receipt.pk, kind=kind)]
            )
    return _private(render(request, "verification/result.html", context))


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, token: str) -> HttpResponse:
    """A file of a receipt found by a verification, through the answer page's signed, expiring link."""
    target = download_token_read(token)
    if target is not None and target.foreign is not None:
        return _foreign_download(request, target.foreign)
    receipt = receipt_public_get(receipt_id=target.receipt_id) if target and target.receipt_id else None
    if target is None or receipt is None:
        message = "下载链接无效或已过期，请重新查验后再下载。"
        return _private(render(request, "verification/download_failed.html", {"message": message}, status=404))
    name = f"{receipt.receipt_code}-{receipt.number_text}"
    if target.kind is FileKind.XML:
        with receipt.datafile.open("rb") as handle:
            content: bytes | None = handle.read()
        content_type, filename = "application/xml", f"{name}.xml"
    else:
        content = receipt_layout_file_content(receipt=receipt)
        content_type, filename = "application/pdf", f"{name}.pdf"
    if content is None:
        message = "版式文件正在生成，请稍后再试。"
        response = render(request, "verification/download_failed.html", {"message": message}, status=503)
        response["Retry-After"] = "10"
        return _private(response)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _private(response)


def _foreign_download(request: HttpRequest, elements: ForeignElements) -> HttpResponse:
    """The data file (XML) the national platform holds for another province's receipt."""
    try:
        found = foreign_receipt_find(
            receipt_code=elements.receipt_code,
            number=elements.number,
            check_code=elements.check_code,
            issue_date=elements.issue_date,
            total_amount=elements.total_amount,
        )
    except ApplicationError as exc:
        if exc.code != VerificationError.NATIONAL_UNAVAILABLE:
            raise
        response = render(request, "verification/download_failed.html", {"message": exc.message}, status=503)
        response["Retry-After"] = "30"
        return _private(response)
    if found is None:
        message = "下载链接无效或已过期，请重新查验后再下载。"
        return _private(render(request, "verification/download_failed.html", {"message": message}, status=404))
    response = HttpResponse(found.datafile, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{found.receipt_code}-{found.number:010d}.xml"'
    return _private(response)
