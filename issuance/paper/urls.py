from __future__ import annotations

from django.urls import path

from issuance.paper import apis

urlpatterns = [
    path("paper/stock", apis.PaperStockApi.as_view(), name="paper-stock"),
    path("paper/<str:paper_code>/<str:paper_number>/void", apis.PaperVoidApi.as_view(), name="paper-void"),
    path(
        "receipts/<str:receipt_code>/<str:number>/paper-conversion",
        apis.ReceiptPaperConvertApi.as_view(),
        name="paper-receipt-conversion",
    ),
    path(
        "receipts/<str:receipt_code>/<str:number>/paper-conversion/print",
        apis.ReceiptPaperPrintApi.as_view(),
        name="paper-receipt-print",
    ),
]
