"""The portal (门户) for units and bureaus, under /portal/ (namespace ``portal``)."""

from __future__ import annotations

from django.urls import path

from qianduan import dashboard

app_name = "portal"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
]
