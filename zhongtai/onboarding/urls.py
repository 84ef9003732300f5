"""The onboarding and rollout workbench, under /workbench/ (namespace ``onboarding``)."""

from __future__ import annotations

from django.urls import path

from zhongtai.onboarding import views

app_name = "onboarding"

urlpatterns = [
    path("", views.home, name="home"),
    path("applications/<int:pk>/", views.application_detail, name="application-detail"),
    path("applications/<int:pk>/confirm", views.application_confirm, name="application-confirm"),
    path("applications/<int:pk>/approve", views.application_approve, name="application-approve"),
    path("applications/<int:pk>/reject", views.application_reject, name="application-reject"),
    path("applications/<int:pk>/resubmit", views.application_resubmit, name="application-resubmit"),
    path("applications/<int:pk>/reveal", views.application_reveal, name="application-reveal"),
    path("connection/new", views.connection_new, name="connection-new"),
    path("go-live/new", views.go_live_new, name="go-live-new"),
    path("paper-stop/new", views.paper_stop_new, name="paper-stop-new"),
    path("checklist/", views.checklist, name="checklist"),
    path("units/<int:pk>/", views.unit_detail, name="unit"),
    path("units/<int:pk>/live", views.unit_live, name="unit-live"),
    path("rollout/", views.rollout, name="rollout"),
    path("rollout/regions/<str:code>/", views.rollout_region, name="rollout-region"),
    path("rollout/deadlines", views.deadline_set, name="deadline-set"),
    path("rollout/deadlines/<int:pk>/delete", views.deadline_delete, name="deadline-delete"),
    path("import/", views.unit_import, name="unit-import"),
    path("import/template.xlsx", views.unit_import_template_download, name="unit-import-template"),
    path("import/errors/<str:token>.xlsx", views.unit_import_errors, name="unit-import-errors"),
]
