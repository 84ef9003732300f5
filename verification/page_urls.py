"""The public verification page (查验), mounted at /verify/ (config/urls.py). No login."""

from __future__ import annotations

from django.urls import path

from verification import views

app_name = "verification"

urlpatterns = [
    path("", views.verify, name="verify"),
    path("download/<str:token>/", views.download, name="download"),
]
