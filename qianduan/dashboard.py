"""The first page after sign-in: today's figures and the next things to do, for the user's scope."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from issuance.models import SignStatus
from issuance.states import ReceiptStatus
from qianduan.access import portal_view
from zhongtai.accounts.scoping import Permission
from zhongtai.webhooks.selectors import alerts_open_for


@portal_view(Permission.VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    today = timezone.localdate()
    receipts = scope.receipts()
    today_figures = receipts.filter(issue_date=today).aggregate(
        count=Count("id"),
        amount=Sum("total_amount", filter=Q(is_red=False)),
        red_count=Count("id", filter=Q(is_red=True)),
    )
    attention = receipts.filter(sign_status__in=[SignStatus.FAILED, SignStatus.AWAITING_UNIT]).count()
    context = {
        "today": today,
        "today_count": today_figures["count"],
        "today_amount": today_figures["amount"] or 0,
        "today_red_count": today_figures["red_count"],
        "attention_count": attention,
        "paper_outstanding": receipts.filter(status=ReceiptStatus.PAPER_CONVERTED).count(),
        "recent": receipts.select_related("kind", "unit").order_by("-issued_at", "-id")[:10],
        "unit_count": scope.units().count() if scope.is_bureau else None,
        "unit": scope.units().first() if scope.is_unit else None,
        # Reimbursed receipts that were red-offset, waiting for the bureau (workbench link).
        "red_offset_alerts": alerts_open_for(scope=scope).count() if scope.is_bureau else None,
    }
    return render(request, "portal/dashboard.html", context)
