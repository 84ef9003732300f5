from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from zhongtai.numbering.models import NumberRange, NumberSequence


@admin.register(NumberSequence)
class NumberSequenceAdmin(admin.ModelAdmin):
    list_display = ("receipt_code", "kind", "year", "next_number")
    search_fields = ("receipt_code",)

    # Sequences move only through allocation; editing them by hand would break gaplessness.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(NumberRange)
class NumberRangeAdmin(admin.ModelAdmin):
    list_display = ("receipt_code", "start_number", "end_number", "cursor", "region", "unit", "created_at")
    search_fields = ("receipt_code", "unit__code", "unit__name", "region__name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
