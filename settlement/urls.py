from __future__ import annotations

from django.urls import path

from settlement import apis

urlpatterns = [
    path("reconciliation/daily", apis.DailyTotalsApi.as_view(), name="reconciliation-daily"),
]
