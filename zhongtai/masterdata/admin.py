from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from zhongtai.accounts.admin_scoping import RegionScopedAdmin, RegionScopedInline
from zhongtai.accounts.scoping import Scope
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.models import (
    FeeItem,
    FeeStandard,
    FinanceBureau,
    IssuingPoint,
    ReceiptKind,
    Region,
    Unit,
)


@admin.register(Region)
class RegionAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_region_paths = ("code",)
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)

    def scope_writable(self, scope: Scope, obj: Region) -> bool:
        # A bureau manages the regions below its own; its own region is the level above's.
        own_code = (scope.region_prefix or "").ljust(6, "0")
        return super().scope_writable(scope, obj) and (scope.is_province or obj.code != own_code)


@admin.register(FinanceBureau)
class FinanceBureauAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_region_paths = ("region__code",)
    list_display = ("name", "region", "contact_person", "contact_phone")
    search_fields = ("name", "region__code", "region__name")
    autocomplete_fields = ("region",)


class IssuingPointInline(admin.TabularInline):
    model = IssuingPoint
    extra = 0


@admin.register(Unit)
class UnitAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_region_paths = ("region__code",)
    list_display = ("code", "name", "unit_type", "connection_mode", "region", "status", "numbering_mode")
    list_filter = ("unit_type", "connection_mode", "status", "numbering_mode")
    search_fields = ("code", "name", "credit_code")
    autocomplete_fields = ("region",)
    filter_horizontal = ("allowed_kinds", "allowed_fee_items")
    inlines = [IssuingPointInline]
    actions = ["issue_credentials"]

    @admin.action(description="为所选接口单位签发接口应用凭证", permissions=["change"])
    def issue_credentials(self, request: HttpRequest, queryset: QuerySet[Unit]) -> HttpResponse | None:
        """Issue one credential per selected unit and show the secrets once, on this page only."""
        issued, refused = [], []
        for unit in queryset.select_related("region"):
            try:
                issued.append(
                    credential_create(unit=unit, actor=Actor.user(request.user.get_username()), label="管理后台签发")
                )
            except ApplicationError as exc:
                refused.append(f"{unit}：{exc.message}")
        for message in refused:
            self.message_user(request, message, level=messages.ERROR)
        if not issued:
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "接口应用凭证已签发",
            "issued": issued,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/gateway/credentials_issued.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(ReceiptKind)
class ReceiptKindAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_province_wide = True
    list_display = ("code", "name", "category_code", "kind_code", "specimen_code", "retention_years", "active")
    list_filter = ("active", "is_medical")
    search_fields = ("code", "name")


class FeeStandardInline(RegionScopedInline, admin.TabularInline):
    scope_region_paths = ("region__code",)
    scope_null_is_province_wide = "region"
    model = FeeStandard
    extra = 0
    autocomplete_fields = ("region",)


@admin.register(FeeItem)
class FeeItemAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_province_wide = True
    list_display = ("code", "name", "unit_of_measure", "income_class", "fund_nature", "valid_from", "valid_to")
    list_filter = ("income_class", "fund_nature", "kinds")
    search_fields = ("code", "name")
    filter_horizontal = ("kinds",)
    inlines = [FeeStandardInline]


@admin.register(FeeStandard)
class FeeStandardAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_region_paths = ("region__code",)
    scope_null_is_province_wide = "region"
    list_display = ("fee_item", "region", "mode", "amount", "min_amount", "max_amount", "valid_from", "valid_to")
    list_filter = ("mode",)
    search_fields = ("fee_item__code", "fee_item__name", "approval_document")
    autocomplete_fields = ("fee_item", "region")


@admin.register(IssuingPoint)
class IssuingPointAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_region_paths = ("unit__region__code",)
    list_display = ("code", "name", "unit", "active")
    list_filter = ("active",)
    search_fields = ("code", "name", "unit__code", "unit__name")
    autocomplete_fields = ("unit",)
    list_select_related = ("unit",)
