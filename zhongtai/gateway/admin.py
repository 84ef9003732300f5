from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from zhongtai.accounts.admin_scoping import RegionScopedAdmin
from zhongtai.audit.services import Actor
from zhongtai.gateway.models import ApiCredential
from zhongtai.gateway.services import credential_revoke


@admin.register(ApiCredential)
class ApiCredentialAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_region_paths = ("unit__region__code",)
    list_display = ("app_id", "unit", "scope", "sandbox", "status", "label", "created_at", "revoked_at")
    list_filter = ("status", "scope", "sandbox")
    search_fields = ("app_id", "unit__code", "unit__name")
    readonly_fields = (
        "app_id",
        "unit",
        "scope",
        "sandbox",
        "status",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
    )
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Creation prints the secret once: use `manage.py issue_credentials`.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="吊销所选应用凭证")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiCredential]) -> None:
        for credential in queryset.select_related("unit"):
            credential_revoke(credential=credential, actor=Actor.user(request.user.get_username()))
        messages.success(request, f"已吊销 {queryset.count()} 个应用凭证。")
