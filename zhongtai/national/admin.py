from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from zhongtai.accounts.admin_scoping import ReadOnlyScopedAdmin
from zhongtai.audit.services import Actor
from zhongtai.national.models import NationalEvent
from zhongtai.national.services import event_requeue


@admin.register(NationalEvent)
class NationalEventAdmin(ReadOnlyScopedAdmin):
    """The national outbox (全国平台推送): watch it, and send dead letters back once their cause is fixed.

    Read-only: events change only through the outbox. A bureau sees its region's receipts'
    events; requeueing needs the change permission (the province's administrators).
    """

    scope_region_paths = ("receipt__region_code",)
    list_display = (
        "id",
        "receipt",
        "seq",
        "type",
        "state",
        "attempts",
        "last_code",
        "available_at",
        "delivered_at",
        "occurred_at",
    )
    list_filter = ("state", "type", "last_code")
    search_fields = ("receipt__receipt_code", "receipt__bus_no", "last_code", "last_error")
    date_hierarchy = "occurred_at"
    list_select_related = ("receipt",)
    actions = ["requeue"]
    # "change" means the requeue action on the list; an event's own page is read-only.
    list_actions_change = True

    @admin.action(description="重新排队所选失败事件", permissions=["change"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[NationalEvent]) -> None:
        actor = Actor.user(request.user.get_username())
        dead = queryset.filter(state=NationalEvent.State.DEAD).order_by("receipt_id", "seq")
        # Each event on its own, a receipt's in seq order: one requeue, one audit row.
        requeued = sum(event_requeue(event_id=pk, actor=actor) for pk in dead.values_list("pk", flat=True))
        skipped = queryset.count() - requeued
        message = f"已重新排队 {requeued} 个事件。"
        if skipped:
            message += f"另有 {skipped} 个事件不是“失败待人工处理”状态，未作处理。"
        self.message_user(request, message, level=messages.SUCCESS)
