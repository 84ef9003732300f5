"""Region scoping of the bureaus' workbench (the Django admin), through :func:`scope_for`.

:class:`RegionScopedAdmin` goes first in an admin class's bases and scopes, by the user's
region:

* the changelist, the change, history and delete views (a row outside the region is
  simply not found: 404), actions and search, through ``get_queryset``;
* the choices of every foreign key and many-to-many field whose model has a scoped admin
  too (a Changsha user can only pick Changsha's regions and units), autocompletes included;
* what may be saved: a form whose object would fall outside the region is refused, and
  rows outside it (or province-wide rows, for users below the province) are read-only.

Each admin says where its rows' region code is::

    class UnitAdmin(RegionScopedAdmin, admin.ModelAdmin):
        scope_region_paths = ("region__code",)

A row is in a bureau's region when one of those codes starts with the bureau's region
prefix (43 for the province, 4301 for Changsha, 430102 for Furong). Province-level users
see every row. ``scope_province_wide = True`` marks master data the whole province shares
(receipt kinds, fee items): every bureau sees it, only the province changes it.
``scope_null_is_province_wide = "region"`` marks rows whose empty region means "the whole
province" (fee standards): visible to all, changed only at province level.

Saving through the admin writes an audit row in the admin's transaction.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest

from zhongtai.accounts.models import BUREAU_ROLES
from zhongtai.accounts.scoping import Scope, scope_for
from zhongtai.audit.services import Actor, audit_record

_UNSET = object()
OUT_OF_REGION = "所选区划或单位不在您的管辖范围内，不能保存。"
PROVINCE_ONLY = "全省统一的数据只能由省级财政部门维护。"


def request_admin_scope(request: HttpRequest) -> Scope | None:
    """The signed-in user's scope, once per request; None for visitors and users without a role."""
    cached = getattr(request, "_erec_admin_scope", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    scope: Scope | None
    try:
        scope = scope_for(request.user)
    except PermissionDenied:
        scope = None
    request._erec_admin_scope = scope  # type: ignore[attr-defined]
    return scope


def workbench_scope(request: HttpRequest) -> Scope | None:
    """The scope of a bureau role (province administrator, bureau staff); None for anyone else.

    Not ``Scope.is_bureau``: a regional auditor has a region too, and is read-only everywhere.
    """
    scope = request_admin_scope(request)
    return scope if scope is not None and scope.role in BUREAU_ROLES and scope.is_bureau else None


def _resolve(obj: Any, path: str) -> Any:
    """``unit__region__code`` on an instance, None where a link is missing."""
    value = obj
    for part in path.split("__"):
        if value is None:
            return None
        try:
            value = getattr(value, part)
        except models.ObjectDoesNotExist:
            return None
    return value


def _scoped(
    queryset: QuerySet[Any],
    scope: Scope | None,
    *,
    paths: tuple[str, ...],
    province_wide: bool,
    null_path: str | None,
) -> QuerySet[Any]:
    if scope is None:
        return queryset.none()
    if scope.is_province or province_wide:
        return queryset
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(**{f"{path}__startswith": scope.region_prefix})
    if null_path:
        condition |= Q(**{f"{null_path}__isnull": True})
    return queryset.filter(condition)


class RegionScopedAdmin(admin.ModelAdmin):
    """Mixin: scope an admin's rows, choices and writes by the user's region (see the module)."""

    scope_region_paths: ClassVar[tuple[str, ...]] = ()
    scope_province_wide: ClassVar[bool] = False
    scope_null_is_province_wide: ClassVar[str | None] = None

    # --- rows -----------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _scoped(
            super().get_queryset(request),
            workbench_scope(request),
            paths=self.scope_region_paths,
            province_wide=self.scope_province_wide,
            null_path=self.scope_null_is_province_wide,
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # Outside the region is "not found": a 404, not the admin's redirect to its index,
        # which would say the object existed once.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("对象不存在。")
        return obj

    def scope_region_code(self, obj: Any) -> str:
        """The first region code of ``obj`` found along the paths ("" if none)."""
        for path in self.scope_region_paths:
            code = _resolve(obj, path)
            if code:
                return str(code)
        return ""

    def scope_writable(self, scope: Scope, obj: Any) -> bool:
        """May this scope change ``obj`` (or save it as it now is)?"""
        if scope.is_province:
            return True
        if self.scope_province_wide:
            return False
        if self.scope_null_is_province_wide and _resolve(obj, self.scope_null_is_province_wide) is None:
            return False
        prefix = scope.region_prefix or ""
        return any(
            str(code).startswith(prefix) for code in (_resolve(obj, path) for path in self.scope_region_paths) if code
        )

    def scope_problem(self, request: HttpRequest, obj: Any) -> str | None:
        """Why ``obj`` may not be saved by this user as it is; None if it may."""
        scope = workbench_scope(request)
        if scope is None:
            return OUT_OF_REGION
        if self.scope_writable(scope, obj):
            return None
        if self.scope_province_wide or (
            self.scope_null_is_province_wide and _resolve(obj, self.scope_null_is_province_wide) is None
        ):
            return PROVINCE_ONLY
        return OUT_OF_REGION

    # --- permissions ------------------------------------------------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return workbench_scope(request) is not None and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return workbench_scope(request) is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        scope = workbench_scope(request)
        if scope is None or not super().has_add_permission(request, *args):
            return False
        return scope.is_province or not self.scope_province_wide

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        scope = workbench_scope(request)
        if scope is None or not super().has_change_permission(request, obj):
            return False
        if self.scope_province_wide and not scope.is_province:
            return False
        return obj is None or self.scope_writable(scope, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        scope = workbench_scope(request)
        if scope is None or not super().has_delete_permission(request, obj):
            return False
        if self.scope_province_wide and not scope.is_province:
            return False
        return obj is None or self.scope_writable(scope, obj)

    # --- choices ----------------------------------------------------------------------

    def _scoped_choices(self, db_field: models.Field[Any, Any], request: HttpRequest) -> QuerySet[Any] | None:
        related_admin = self.admin_site._registry.get(db_field.remote_field.model)  # type: ignore[union-attr]
        if isinstance(related_admin, RegionScopedAdmin):
            return related_admin.get_queryset(request)
        return None

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            choices = self._scoped_choices(db_field, request)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            choices = self._scoped_choices(db_field, request)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # --- saving -----------------------------------------------------------------------

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        model_admin = self

        class RegionScopedForm(form_class):  # type: ignore[valid-type,misc]
            def _post_clean(self) -> None:
                super()._post_clean()
                problem = model_admin.scope_problem(request, self.instance)
                if problem:
                    self.add_error(None, problem)

        RegionScopedForm.__name__ = form_class.__name__
        return RegionScopedForm

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        # The admin saves inside transaction.atomic: the audit row commits with the change.
        super().save_model(request, obj, form, change)
        audit_record(
            actor=Actor.user(request.user.get_username()),
            action="admin.change" if change else "admin.add",
            object_type=obj._meta.label_lower,
            object_id=obj.pk,
            region_code=self.scope_region_code(obj)[:6],
            data={"fields": sorted(form.changed_data), "object": str(obj)[:200]},
        )


class RegionScopedInline(admin.options.InlineModelAdmin):
    """Mixin for inlines: only the rows of the user's region (the parent is scoped already)."""

    scope_region_paths: ClassVar[tuple[str, ...]] = ()
    scope_null_is_province_wide: ClassVar[str | None] = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _scoped(
            super().get_queryset(request),
            workbench_scope(request),
            paths=self.scope_region_paths,
            province_wide=False,
            null_path=self.scope_null_is_province_wide,
        )


class ReadOnlyScopedAdmin(RegionScopedAdmin):
    """A scoped admin of rows only services write (outboxes, deliveries, reconciliations).

    Every field is read-only and nothing is added or deleted here. ``list_actions_change``
    keeps the change permission on the list, for an action such as requeue, while a row's
    own page stays read-only.
    """

    list_actions_change: ClassVar[bool] = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.list_actions_change and obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
