"""Read-only admin pages: every onboarding change goes through the workbench and its services
(with their rules and audit rows), never through an admin form. A bureau sees the rows of
its region's units, its region's deadlines and the province-wide ones."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from zhongtai.accounts.admin_scoping import RegionScopedAdmin
from zhongtai.onboarding.models import Application, CheckRecord, CredentialHandover, Deadline, UnitRollout


class ReadOnlyAdmin(RegionScopedAdmin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    scope_region_paths = ("unit__region__code",)
    list_display = ("id", "unit", "kind", "status", "filed_by", "submitted_at", "confirmed_by", "approved_by")
    list_filter = ("kind", "status")
    search_fields = ("unit__code", "unit__name", "system_name", "system_vendor")
    list_select_related = ("unit",)


@admin.register(CredentialHandover)
class CredentialHandoverAdmin(ReadOnlyAdmin):
    scope_region_paths = ("application__unit__region__code",)
    list_display = ("credential", "application", "sandbox", "created_at", "revealed_at", "revealed_by")
    list_filter = ("sandbox",)
    exclude = ("secret_encrypted",)
    list_select_related = ("credential", "application")


@admin.register(CheckRecord)
class CheckRecordAdmin(ReadOnlyAdmin):
    scope_region_paths = ("unit__region__code",)
    list_display = ("unit", "item", "first_passed_at", "last_passed_at", "count", "last_app_id")
    list_filter = ("item",)
    search_fields = ("unit__code", "unit__name")
    list_select_related = ("unit",)


@admin.register(UnitRollout)
class UnitRolloutAdmin(ReadOnlyAdmin):
    scope_region_paths = ("unit__region__code",)
    list_display = ("unit", "applied_at", "joint_test_at", "live_at", "live_basis", "paper_stopped_at")
    list_filter = ("live_basis",)
    search_fields = ("unit__code", "unit__name")
    list_select_related = ("unit",)


@admin.register(Deadline)
class DeadlineAdmin(ReadOnlyAdmin):
    scope_region_paths = ("region__code",)
    scope_null_is_province_wide = "region"  # an empty region is the province-wide deadline
    list_display = ("stage", "region", "due_date", "set_by", "set_at")
    list_filter = ("stage",)
    list_select_related = ("region",)
