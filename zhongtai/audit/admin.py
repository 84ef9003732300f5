from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from zhongtai.accounts.admin_scoping import RegionScopedAdmin
from zhongtai.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_region_paths = ("region_code",)
    list_display = ("occurred_at", "actor_type", "actor", "action", "object_type", "object_id", "unit_code")
    list_filter = ("actor_type", "action", "object_type")
    search_fields = ("actor", "object_id", "unit_code")
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
