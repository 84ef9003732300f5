from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from issuance.jobs import job_requeue
from issuance.models import Receipt, ReceiptItem, ReceiptJob
from zhongtai.accounts.admin_scoping import RegionScopedAdmin


class ReceiptItemInline(admin.TabularInline):
    model = ReceiptItem
    extra = 0
    can_delete = False
    fields = ("line_no", "item_code", "item_name", "unit_of_measure", "quantity", "standard", "amount", "remark")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Receipt)
class ReceiptAdmin(RegionScopedAdmin, admin.ModelAdmin):
    """Receipts are read-only here: they change only through issuance services."""

    scope_region_paths = ("region_code",)

    list_display = (
        "receipt_code",
        "number_text",
        "unit",
        "kind",
        "payer_name",
        "total_amount",
        "status",
        "sign_status",
        "sandbox",
        "issued_at",
    )
    list_filter = ("status", "sign_status", "is_red", "sandbox", "kind", "source")
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


@admin.register(ReceiptJob)
class ReceiptJobAdmin(RegionScopedAdmin, admin.ModelAdmin):
    """The pipeline's outbox: watch it, and send dead jobs back once their cause is fixed."""

    scope_region_paths = ("receipt__region_code",)

    list_display = ("id", "receipt", "step", "state", "attempts", "available_at", "last_error")
    list_filter = ("state", "step")
    search_fields = ("receipt__receipt_code", "receipt__bus_no", "last_error")
    list_select_related = ("receipt",)
    actions = ["requeue"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in ReceiptJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="重新排队所选失败任务", permissions=["change"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[ReceiptJob]) -> None:
        requeued = sum(job_requeue(job_id=job.pk) for job in queryset.filter(state=ReceiptJob.State.DEAD))
        self.message_user(request, f"已重新排队 {requeued} 个任务。", level=messages.SUCCESS)
