"""Paper stock and uses in the admin: read-only; they change only through the paper services.

Bureaus see the stock and uses of their region's units (the province sees all of them).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from issuance.paper.models import PaperStock, PaperUse
from zhongtai.accounts.admin_scoping import RegionScopedAdmin


class _ReadOnlyAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PaperStock)
class PaperStockAdmin(RegionScopedAdmin, _ReadOnlyAdmin):
    """Stock is recorded in the portal or the API (paper_stock_receive checks overlaps under a lock)."""

    scope_region_paths = ("unit__region__code",)
    list_display = ("paper_code", "start_text", "end_text", "unit", "received_at", "recorded_by", "note")
    list_filter = ("paper_code",)
    search_fields = ("paper_code", "unit__code", "unit__name")
    list_select_related = ("unit",)
    date_hierarchy = "received_at"

    @admin.display(description="起始号码", ordering="start_number")
    def start_text(self, obj: PaperStock) -> str:
        return obj.start_text

    @admin.display(description="终止号码", ordering="end_number")
    def end_text(self, obj: PaperStock) -> str:
        return obj.end_text


@admin.register(PaperUse)
class PaperUseAdmin(RegionScopedAdmin, _ReadOnlyAdmin):
    scope_region_paths = ("stock__unit__region__code",)
    list_display = ("paper_code", "number_text", "state", "void_reason", "receipt", "printed_at", "voided_at")
    list_filter = ("state", "void_reason")
    search_fields = ("paper_code", "receipt__receipt_code", "stock__unit__code")
    list_select_related = ("receipt", "stock")
    raw_id_fields = ("stock", "receipt", "replaces")

    @admin.display(description="纸质票据号码", ordering="paper_number")
    def number_text(self, obj: PaperUse) -> str:
        return obj.number_text
