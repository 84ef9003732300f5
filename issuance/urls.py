from __future__ import annotations

from django.urls import path

from issuance import apis, file_apis

urlpatterns = [
    path("receipts", apis.ReceiptListApi.as_view(), name="receipt-list"),
    path("receipts/issue", apis.ReceiptIssueApi.as_view(), name="receipt-issue"),
    path("receipts/batch", apis.ReceiptBatchIssueApi.as_view(), name="receipt-batch"),
    path("receipts/status", file_apis.ReceiptStatusApi.as_view(), name="receipt-status"),
    path("receipts/by-bus-no/<str:bus_no>", apis.ReceiptByBusNoApi.as_view(), name="receipt-by-bus-no"),
    path("receipts/<str:receipt_code>/<str:number>", apis.ReceiptDetailApi.as_view(), name="receipt-detail"),
    path(
        "receipts/<str:receipt_code>/<str:number>/red-offset",
        apis.ReceiptRedOffsetApi.as_view(),
        name="receipt-red-offset",
    ),
    path(
        "receipts/<str:receipt_code>/<str:number>/datafile",
        file_apis.ReceiptDataFileApi.as_view(),
        name="receipt-datafile",
    ),
    path(
        "receipts/<str:receipt_code>/<str:number>/layout-file",
        file_apis.ReceiptLayoutFileApi.as_view(),
        name="receipt-layout-file",
    ),
    path(
        "receipts/<str:receipt_code>/<str:number>/signing-payload",
        file_apis.ReceiptSigningPayloadApi.as_view(),
        name="receipt-signing-payload",
    ),
    path(
        "receipts/<str:receipt_code>/<str:number>/unit-signature",
        file_apis.ReceiptUnitSignatureApi.as_view(),
        name="receipt-unit-signature",
    ),
]
