"""The workbench pages of onboarding and rollout (/workbench/, namespace ``onboarding``).

Thin views: every query goes through ``request.scope`` (another unit's or region's
application is a 404), every change through one service; a refusal is shown as a message.
A read-only role gets 403 on every POST (the permission each action needs is one it
does not have).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qianduan.access import portal_view
from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit
from zhongtai.onboarding import rules, selectors, services
from zhongtai.onboarding.forms import (
    FORM_OF_KIND,
    ApplicationFilterForm,
    DeadlineForm,
    ImportForm,
    RejectForm,
    initial_of,
)
from zhongtai.onboarding.models import Application, Deadline, Stage
from zhongtai.onboarding.unit_import import (
    XLSX_CONTENT_TYPE,
    import_error_workbook,
    unit_import_template,
    units_import,
)

ERROR_REPORT_SECONDS = 3600


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _refused(request: HttpRequest, error: ApplicationError) -> None:
    messages.error(request, error.message)


def _own_unit(scope: Scope) -> Unit | None:
    return scope.units().select_related("region").first() if scope.is_unit else None


# --- Home -------------------------------------------------------------------------------------


@require_GET
@portal_view(Permission.VIEW)
def home(request: HttpRequest) -> HttpResponse:
    """Unit users: their unit's applications and checklist. Bureau users: what waits for them, then the rest."""
    scope = _scope(request)
    unit = _own_unit(scope)
    if unit is not None:
        return render(request, "onboarding/home_unit.html", _unit_context(scope, unit))
    filters = ApplicationFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_valid() else {}
    rest = selectors.application_list(
        scope=scope,
        kind=values.get("kind", ""),
        status=values.get("status", ""),
        query=values.get("q", ""),
        exclude_awaiting=True,
    )
    page = Paginator(rest, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "onboarding/home_bureau.html",
        {
            "awaiting": selectors.applications_awaiting(scope=scope)[:200],
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "can_import": scope.can(Permission.MANAGE_MASTERDATA) and not scope.read_only,
        },
    )


def _unit_context(scope: Scope, unit: Unit) -> dict[str, Any]:
    applications = selectors.applications_of_unit(scope=scope, unit=unit)
    checklist = selectors.checklist_for(unit=unit)
    return {
        "unit": unit,
        "rollout": selectors.unit_rollout(unit=unit),
        "applications": [applications[k] for k in Application.Kind.values if k in applications],
        "connection": applications.get(Application.Kind.CONNECTION),
        "go_live": applications.get(Application.Kind.GO_LIVE),
        "paper_stop": applications.get(Application.Kind.PAPER_STOP),
        "checklist": checklist,
        "checklist_complete": all(row.passed for row in checklist),
        "can_file": {
            kind: rules.can_file(scope=scope, unit=unit, kind=kind) and kind not in applications
            for kind in Application.Kind.values
        },
        "can_confirm_live": rules.can_confirm_live(scope=scope, unit=unit),
        "is_interface": unit.connection_mode == Unit.ConnectionMode.INTERFACE,
        "is_unit_admin": scope.unit_id == unit.pk and scope.can(Permission.FILE_APPLICATION) and not scope.read_only,
    }


@require_GET
@portal_view(Permission.VIEW)
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One unit's onboarding: its stage, applications and joint-test checklist."""
    scope = _scope(request)
    unit = scope.unit_or_404(pk)
    return render(request, "onboarding/unit.html", _unit_context(scope, unit))


@require_GET
@portal_view(Permission.VIEW)
def checklist(request: HttpRequest) -> HttpResponse:
    """The unit's own joint-test checklist (bureau users open it from a unit's page)."""
    scope = _scope(request)
    unit = _own_unit(scope)
    if unit is None:
        raise Http404("请从单位页面查看联调测试检查项。")
    return render(request, "onboarding/checklist.html", _unit_context(scope, unit))


@require_POST
@portal_view(Permission.CONFIRM_APPLICATION)
def unit_live(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    unit = scope.unit_or_404(pk)
    try:
        services.unit_live_confirm(scope=scope, unit=unit)
        messages.success(request, f"已确认 {unit.name} 上线。")
    except ApplicationError as error:
        _refused(request, error)
    return redirect("onboarding:unit", pk=unit.pk)


# --- Applications -------------------------------------------------------------------------------


@require_GET
@portal_view(Permission.VIEW)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    application = selectors.application_get_or_404(scope=scope, pk=pk)
    return render(request, "onboarding/application_detail.html", _detail_context(scope, application))


def _detail_context(scope: Scope, application: Application, **extra: Any) -> dict[str, Any]:
    handover = getattr(application, "handover", None)
    unit = application.unit
    return {
        "application": application,
        "unit": unit,
        "handover": handover,
        "checklist": selectors.checklist_for(unit=unit) if application.kind == Application.Kind.GO_LIVE else None,
        "can_confirm": rules.can_confirm(scope=scope, application=application),
        "can_approve": rules.can_approve(scope=scope, application=application),
        "can_reject": rules.can_reject(scope=scope, application=application),
        "can_resubmit": rules.can_resubmit(scope=scope, application=application),
        "can_reveal": handover is not None
        and rules.can_reveal(scope=scope, handover=handover, application=application),
        "reject_form": RejectForm(),
        **extra,
    }


def _step(request: HttpRequest, pk: int, action: Any, success: str, **kwargs: Any) -> HttpResponse:
    scope = _scope(request)
    application = selectors.application_get_or_404(scope=scope, pk=pk)
    try:
        action(scope=scope, application=application, **kwargs)
        messages.success(request, success)
    except ApplicationError as error:
        _refused(request, error)
    return redirect("onboarding:application-detail", pk=application.pk)


@require_POST
@portal_view(Permission.CONFIRM_APPLICATION)
def application_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, services.application_confirm, "已确认该申请。")


@require_POST
@portal_view(Permission.APPROVE_APPLICATION)
def application_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, services.application_approve, "已批准该申请，应用凭证已生成，待单位管理员查看。")


@require_POST
@portal_view(Permission.CONFIRM_APPLICATION)
def application_reject(request: HttpRequest, pk: int) -> HttpResponse:
    form = RejectForm(request.POST)
    if not form.is_valid():
        scope = _scope(request)
        application = selectors.application_get_or_404(scope=scope, pk=pk)
        context = _detail_context(scope, application, reject_form=form)
        return render(request, "onboarding/application_detail.html", context, status=400)
    return _step(request, pk, services.application_reject, "已退回该申请。", reason=form.cleaned_data["reason"])


@require_POST
@portal_view(Permission.FILE_APPLICATION)
def application_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the credential's secret once; the page is never cached and cannot be shown again."""
    scope = _scope(request)
    application = selectors.application_get_or_404(scope=scope, pk=pk)
    handover = getattr(application, "handover", None)
    if handover is None:
        raise Http404("该申请没有待交付的凭证。")
    try:
        secret = services.credential_handover_reveal(scope=scope, handover=handover)
    except ApplicationError as error:
        _refused(request, error)
        return redirect("onboarding:application-detail", pk=application.pk)
    handover.refresh_from_db()
    response = render(
        request,
        "onboarding/credential_reveal.html",
        {"application": application, "handover": handover, "credential": handover.credential, "secret": secret},
    )
    response["Cache-Control"] = "no-store"
    return response


def _form_page(
    request: HttpRequest,
    *,
    kind: str,
    unit: Unit,
    application: Application | None = None,
) -> HttpResponse:
    scope = _scope(request)
    form_class = FORM_OF_KIND[kind]
    initial = initial_of(application) if application else {}
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if application is None:
                saved = services.application_file(scope=scope, unit=unit, kind=kind, details=form.details())  # type: ignore[attr-defined]
                messages.success(request, f"{saved.get_kind_display()}已提交，等待财政部门确认。")
            else:
                saved = services.application_resubmit(scope=scope, application=application, details=form.details())  # type: ignore[attr-defined]
                messages.success(request, f"{saved.get_kind_display()}已重新提交。")
            return redirect("onboarding:application-detail", pk=saved.pk)
        except ApplicationError as error:
            for name, message in error.extra.get("fields", {}).items():
                if name in form.fields:
                    form.add_error(name, message)
            form.add_error(None, error.message)
    context = {
        "form": form,
        "unit": unit,
        "kind": kind,
        "kind_label": Application.Kind(kind).label,
        "application": application,
        "checklist": selectors.checklist_for(unit=unit) if kind == Application.Kind.GO_LIVE else None,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "onboarding/application_form.html", context, status=status)


def _filing_unit(request: HttpRequest, kind: str) -> Unit:
    """The unit an application is filed for: the user's own, or for a bureau the one named."""
    scope = _scope(request)
    unit = _own_unit(scope)
    if unit is None:
        unit = scope.unit_or_404(request.GET.get("unit") or request.POST.get("unit") or "")
    if not rules.can_file(scope=scope, unit=unit, kind=kind):
        raise PermissionDenied("您不能为该单位提交此类申请。")
    return unit


@require_http_methods(["GET", "POST"])
@portal_view(Permission.FILE_APPLICATION)
def connection_new(request: HttpRequest) -> HttpResponse:
    return _form_page(
        request, kind=Application.Kind.CONNECTION, unit=_filing_unit(request, Application.Kind.CONNECTION)
    )


@require_http_methods(["GET", "POST"])
@portal_view(Permission.FILE_APPLICATION)
def go_live_new(request: HttpRequest) -> HttpResponse:
    return _form_page(request, kind=Application.Kind.GO_LIVE, unit=_filing_unit(request, Application.Kind.GO_LIVE))


@require_http_methods(["GET", "POST"])
@portal_view(Permission.VIEW)
def paper_stop_new(request: HttpRequest) -> HttpResponse:
    """Filed by the unit's administrator, or started by a bureau for a unit it covers (?unit=<id>)."""
    return _form_page(
        request, kind=Application.Kind.PAPER_STOP, unit=_filing_unit(request, Application.Kind.PAPER_STOP)
    )


@require_http_methods(["GET", "POST"])
@portal_view(Permission.VIEW)
def application_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    application = selectors.application_get_or_404(scope=scope, pk=pk)
    if not rules.can_resubmit(scope=scope, application=application):
        raise PermissionDenied("您不能重新提交该申请。")
    return _form_page(request, kind=application.kind, unit=application.unit, application=application)


# --- Rollout dashboard -------------------------------------------------------------------------------


def _require_bureau(scope: Scope) -> None:
    if not scope.is_bureau:
        raise PermissionDenied("推广进度仅供财政部门查看。")


@require_GET
@portal_view(Permission.VIEW)
def rollout(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    _require_bureau(scope)
    dashboard = selectors.rollout_dashboard(scope=scope, today=timezone.localdate())
    context: dict[str, Any] = {"dashboard": dashboard}
    if scope.can(Permission.SET_DEADLINES) and scope.is_province and not scope.read_only:
        context["deadline_form"] = DeadlineForm(regions=scope.regions())
    return render(request, "onboarding/rollout.html", context)


@require_GET
@portal_view(Permission.VIEW)
def rollout_region(request: HttpRequest, code: str) -> HttpResponse:
    scope = _scope(request)
    _require_bureau(scope)
    region = selectors.region_in_scope_or_404(scope=scope, code=code)
    stage = request.GET.get("stage", "")
    direct = request.GET.get("direct") == "1"
    overdue = request.GET.get("overdue") == "1"
    units = selectors.rollout_units(
        scope=scope, region=region, today=timezone.localdate(), direct_only=direct, stage=stage, overdue=overdue
    )
    page = Paginator(units, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "onboarding/rollout_region.html",
        {
            "region": region,
            "page": page,
            "stage": stage,
            "direct": direct,
            "overdue": overdue,
            "stages": Stage.choices,
            "query": query.urlencode(),
        },
    )


@require_POST
@portal_view(Permission.SET_DEADLINES)
def deadline_set(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    form = DeadlineForm(request.POST, regions=scope.regions())
    if not form.is_valid():
        dashboard = selectors.rollout_dashboard(scope=scope, today=timezone.localdate())
        return render(request, "onboarding/rollout.html", {"dashboard": dashboard, "deadline_form": form}, status=400)
    try:
        deadline = services.deadline_set(scope=scope, **form.cleaned_data)
        messages.success(request, f"已设定推广时限：{deadline}。")
    except ApplicationError as error:
        _refused(request, error)
    return redirect("onboarding:rollout")


@require_POST
@portal_view(Permission.SET_DEADLINES)
def deadline_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _scope(request)
    deadline = Deadline.objects.select_related("region").filter(pk=pk).first()
    if deadline is None:
        raise Http404("推广时限不存在。")
    try:
        services.deadline_delete(scope=scope, deadline=deadline)
        messages.success(request, f"已删除推广时限：{deadline}。")
    except ApplicationError as error:
        _refused(request, error)
    return redirect("onboarding:rollout")


# --- Basic information collection (基础信息归集) ---------------------------------------------------


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@portal_view(Permission.MANAGE_MASTERDATA)
def unit_import_template_download(request: HttpRequest) -> HttpResponse:
    content = unit_import_template(scope=_scope(request))
    return _xlsx(content, "unit-import-template.xlsx")


def _error_key(request: HttpRequest, token: str) -> str:
    # Bound to the user: nobody else can fetch another user's error report.
    return f"onboarding:import-errors:{request.user.pk}:{token}"


@require_http_methods(["GET", "POST"])
@portal_view(Permission.MANAGE_MASTERDATA)
def unit_import(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                outcome = units_import(scope=scope, file_name=upload.name, content=upload.read())
            except ApplicationError as error:
                form.add_error("file", error.message)
                context["file_error"] = error
            else:
                if outcome.ok:
                    created, updated = len(outcome.created), len(outcome.updated)
                    messages.success(
                        request, f"已导入 {created + updated} 个单位：新增 {created} 个，更新 {updated} 个。"
                    )
                    return redirect("onboarding:unit-import")
                token = secrets.token_urlsafe(16)
                cache.set(_error_key(request, token), import_error_workbook(outcome=outcome), ERROR_REPORT_SECONDS)
                context.update(
                    outcome=outcome,
                    error_report_url=reverse("onboarding:unit-import-errors", kwargs={"token": token}),
                )
    return render(request, "onboarding/unit_import.html", context, status=status)


@require_GET
@portal_view(Permission.MANAGE_MASTERDATA)
def unit_import_errors(request: HttpRequest, token: str) -> HttpResponse:
    content = cache.get(_error_key(request, token))
    if content is None:
        raise Http404("错误报告已过期，请重新上传文件。")
    return _xlsx(content, "unit-import-errors.xlsx")
