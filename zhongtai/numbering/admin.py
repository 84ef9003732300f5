from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from zhongtai.accounts.admin_scoping import RegionScopedAdmin
from zhongtai.numbering.models import NumberRange, NumberSequence


@admin.register(NumberSequence)
class NumberSequenceAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_province_wide = True  # one counter per receipt code for the whole province
    list_display = ("receipt_code", "sandbox", "kind", "year", "next_number")
    list_filter = ("sandbox",)
    search_fields = ("receipt_code",)

    # Sequences move only through allocation; editing them by hand would break gaplessness.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(NumberRange)
class NumberRangeAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_region_paths = ("region__code", "unit__region__code")
    list_display = ("receipt_code", "start_number", "end_number", "cursor", "region", "unit", "created_at")
    search_fields = ("receipt_code", "unit__code", "unit__name", "region__name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
