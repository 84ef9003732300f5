from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from zhongtai.accounts.admin_scoping import RegionScopedAdmin
from zhongtai.messaging.models import OutgoingMessage


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(RegionScopedAdmin, admin.ModelAdmin):
    """The outgoing-message log, read-only: messages change only through the outbox.

    Recipients are shown masked; the full address stays in the database for the workers.
    A bureau sees the messages of its region's units.
    """

    scope_region_paths = ("unit__region__code",)
    list_display = (
        "id",
        "created_at",
        "channel",
        "masked_recipient",
        "unit",
        "receipt",
        "status",
        "provider",
        "attempts",
        "sent_at",
    )
    list_filter = ("status", "channel")
    search_fields = ("receipt__receipt_code", "unit__code", "unit__name", "provider_message_id", "last_error")
    date_hierarchy = "created_at"
    list_select_related = ("unit", "receipt")
    exclude = ("recipient",)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return ["masked_recipient", *(f.name for f in OutgoingMessage._meta.fields if f.name != "recipient")]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="接收人")
    def masked_recipient(self, obj: OutgoingMessage) -> str:
        return obj.recipient_masked
