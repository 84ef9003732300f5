from __future__ import annotations

from django.contrib import admin

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
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)


@admin.register(FinanceBureau)
class FinanceBureauAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "contact_person", "contact_phone")
    search_fields = ("name", "region__code", "region__name")
    autocomplete_fields = ("region",)


class IssuingPointInline(admin.TabularInline):
    model = IssuingPoint
    extra = 0


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "unit_type", "connection_mode", "region", "status", "numbering_mode")
    list_filter = ("unit_type", "connection_mode", "status", "numbering_mode")
    search_fields = ("code", "name", "credit_code")
    autocomplete_fields = ("region",)
    filter_horizontal = ("allowed_kinds", "allowed_fee_items")
    inlines = [IssuingPointInline]


@admin.register(ReceiptKind)
class ReceiptKindAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category_code", "kind_code", "specimen_code", "retention_years", "active")
    list_filter = ("active", "is_medical")
    search_fields = ("code", "name")


class FeeStandardInline(admin.TabularInline):
    model = FeeStandard
    extra = 0
    autocomplete_fields = ("region",)


@admin.register(FeeItem)
class FeeItemAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "unit_of_measure", "income_class", "fund_nature", "valid_from", "valid_to")
    list_filter = ("income_class", "fund_nature", "kinds")
    search_fields = ("code", "name")
    filter_horizontal = ("kinds",)
    inlines = [FeeStandardInline]


@admin.register(FeeStandard)
class FeeStandardAdmin(admin.ModelAdmin):
    list_display = ("fee_item", "region", "mode", "amount", "min_amount", "max_amount", "valid_from", "valid_to")
    list_filter = ("mode",)
    search_fields = ("fee_item__code", "fee_item__name", "approval_document")
    autocomplete_fields = ("fee_item", "region")
