"""The reimbursing parties' API, mounted under /api/v1/public/ (config/urls.py)."""

from __future__ import annotations

from django.urls import path

from verification import apis

urlpatterns = [
    path("public/entries", apis.EntryListApi.as_view(), name="public-entry-list"),
    path(
        "public/receipts/<str:receipt_code>/<str:number>",
        apis.PublicReceiptApi.as_view(),
        name="public-receipt-detail",
    ),
    path(
        "public/receipts/<str:receipt_code>/<str:number>/datafile",
        apis.PublicReceiptDataFileApi.as_view(),
        name="public-receipt-datafile",
    ),
    path(
        "public/receipts/<str:receipt_code>/<str:number>/entries",
        apis.EntryCreateApi.as_view(),
        name="public-entry-create",
    ),
    path(
        "public/receipts/<str:receipt_code>/<str:number>/entries/<str:entry_id>/cancel",
        apis.EntryCancelApi.as_view(),
        name="public-entry-cancel",
    ),
]
