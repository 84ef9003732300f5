"""Issuing a receipt in the browser (网页开票), for cashiers of networked units."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from issuance.jobs import receipt_step_run_now
from issuance.models import Receipt, ReceiptJob
from issuance.services import receipt_issue
from qianduan.access import portal_view
from qianduan.issuing import (
    KIND_FIELDS,
    PortalForm,
    catalogue_for,
    catalogue_search,
    ext_field_names,
    form_read,
    new_form_token,
    payer_requirements,
)
from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import ReceiptKind, Unit

PAY_MODES = ("现金", "微信", "支付宝", "银行卡", "非税缴款码", "转账")


def _unit_of(scope: Scope) -> Unit:
    return scope.units().select_related("region").get()


def _kinds(unit: Unit) -> dict[str, ReceiptKind]:
    return {kind.code: kind for kind in unit.allowed_kinds.filter(active=True).order_by("code")}


def _context(
    request: HttpRequest,
    *,
    unit: Unit,
    kinds: dict[str, ReceiptKind],
    form: PortalForm | None,
    kind: ReceiptKind | None,
    token: str,
    preview: bool = False,
) -> dict[str, object]:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    points = list(scope.issuing_points().filter(active=True).order_by("code"))
    values = form.values if form else {"point": points[0].code if len(points) == 1 else "", "payer_type": "1"}
    return {
        "unit": unit,
        "kinds": list(kinds.values()),
        "kind": kind,
        "points": points,
        "pay_modes": PAY_MODES,
        "form": form,
        "values": values,
        "lines": form.lines if form else [],
        "ext_fields": [KIND_FIELDS[name] for name in ext_field_names(kind)],
        "payer_required": payer_requirements(kind),
        "token": token,
        "preview": preview and form is not None and form.ok,
    }


@portal_view(Permission.ISSUE)
@require_http_methods(["GET", "POST"])
def issue(request: HttpRequest) -> HttpResponse:
    """GET: an empty form. POST: preview (action=preview) or issue (action=issue)."""
    scope: Scope = request.scope  # type: ignore[attr-defined]
    unit = _unit_of(scope)
    kinds = _kinds(unit)
    if request.method == "GET":
        kind = kinds.get(request.GET.get("kind", "")) or next(iter(kinds.values()), None)
        context = _context(request, unit=unit, kinds=kinds, form=None, kind=kind, token=new_form_token())
        return render(request, "portal/issue/form.html", context)

    form = form_read(post=request.POST, unit=unit, kinds=kinds, issued_by=scope.username)
    action = request.POST.get("action", "preview")
    if action == "issue" and form.ok and form.data is not None:
        try:
            receipt, _created = receipt_issue(
                unit=unit, data=form.data, actor=Actor.user(scope.username), source=Receipt.Source.PORTAL
            )
        except ApplicationError as error:
            form.general_errors.append(error.message)
        else:
            if settings.EREC_SIGN_IN_REQUEST and receipt.sign_status != "signed":
                # The platform signs for networked units: finish it now so the cashier sees the signed receipt.
                receipt_step_run_now(receipt=receipt, step=ReceiptJob.Step.SIGN)
            messages.success(request, f"票据已开具：{receipt.receipt_code} - {receipt.number_text}")
            return redirect("portal:receipt-detail", receipt.receipt_code, receipt.number_text)
    context = _context(
        request,
        unit=unit,
        kinds=kinds,
        form=form,
        kind=form.kind,
        token=form.values["token"] or new_form_token(),
        preview=action in ("preview", "issue"),
    )
    status = 200 if form.ok else 422
    return render(request, "portal/issue/form.html", context, status=status)


@portal_view(Permission.ISSUE)
@require_POST
def issue_check(request: HttpRequest) -> HttpResponse:
    """The live check (htmx): line amounts, total, capitals and every rule problem, no write."""
    scope: Scope = request.scope  # type: ignore[attr-defined]
    unit = _unit_of(scope)
    form = form_read(post=request.POST, unit=unit, kinds=_kinds(unit), issued_by=scope.username)
    return render(request, "portal/issue/_summary.html", {"form": form, "lines": form.lines, "live": True})


@portal_view(Permission.ISSUE)
@require_GET
def issue_items(request: HttpRequest) -> HttpResponse:
    """Fee item suggestions for one row (htmx): by code, pinyin initials or name."""
    scope: Scope = request.scope  # type: ignore[attr-defined]
    unit = _unit_of(scope)
    kind = _kinds(unit).get(request.GET.get("kind", ""))
    # The box shows "code name" once an item is chosen: search by what comes before the space.
    query = request.GET.get("q", "").strip().split(" ")[0][:40]
    matches = catalogue_search(catalogue_for(unit=unit, kind=kind), query) if kind else []
    return render(request, "portal/issue/_suggestions.html", {"matches": matches, "query": query})
