from __future__ import annotations

from django.urls import path

from issuance import apis

urlpatterns = [
    path("receipts", apis.ReceiptListApi.as_view(), name="receipt-list"),
    path("receipts/issue", apis.ReceiptIssueApi.as_view(), name="receipt-issue"),
    path("receipts/batch", apis.ReceiptBatchIssueApi.as_view(), name="receipt-batch"),
    path("receipts/by-bus-no/<str:bus_no>", apis.ReceiptByBusNoApi.as_view(), name="receipt-by-bus-no"),
    path("receipts/<str:receipt_code>/<str:number>", apis.ReceiptDetailApi.as_view(), name="receipt-detail"),
]
