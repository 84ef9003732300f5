from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from issuance.models import Receipt, ReceiptItem


class ReceiptItemInline(admin.TabularInline):
    model = ReceiptItem
    extra = 0
    can_delete = False
    fields = ("line_no", "item_code", "item_name", "unit_of_measure", "quantity", "standard", "amount", "remark")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Receipt)
class ReceiptAdmin(admin.ModelAdmin):
    """Receipts are read-only here: they change only through issuance services."""

    list_display = ("receipt_code", "number_text", "unit", "kind", "payer_name", "total_amount", "status", "issued_at")
    list_filter = ("status", "is_red", "kind", "source")
    search_fields = ("receipt_code", "bus_no", "payer_name", "unit__code", "unit__name")
    date_hierarchy = "issued_at"
    inlines = [ReceiptItemInline]
    list_select_related = ("unit", "kind")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Receipt._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="票据号码")
    def number_text(self, obj: Receipt) -> str:
        return obj.number_text
