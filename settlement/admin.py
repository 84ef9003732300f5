from __future__ import annotations

from django.contrib import admin

from settlement.models import NationalReconciliation
from zhongtai.accounts.admin_scoping import ReadOnlyScopedAdmin


@admin.register(NationalReconciliation)
class NationalReconciliationAdmin(ReadOnlyScopedAdmin):
    """The daily reconciliations with the national platform, read-only.

    Rows carry the province's region code, so only province-level staff see them.
    """

    scope_region_paths = ("province",)
    list_display = (
        "day",
        "outcome",
        "count",
        "national_count",
        "amount",
        "national_amount",
        "undelivered_events",
        "created_at",
        "created_by",
    )
    list_filter = ("outcome",)
    date_hierarchy = "day"
