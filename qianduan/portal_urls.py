"""The portal (门户) for units and bureaus, under /portal/ (namespace ``portal``)."""

from __future__ import annotations

from django.urls import path

from qianduan import dashboard, issue_views, paper_views, receipt_views, send_views

app_name = "portal"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("issue/", issue_views.issue, name="issue"),
    path("issue/check/", issue_views.issue_check, name="issue-check"),
    path("issue/items/", issue_views.issue_items, name="issue-items"),
    path("receipts/", receipt_views.receipt_list, name="receipt-list"),
    path("receipts/export/", receipt_views.receipt_export, name="receipt-export"),
    path("receipts/<str:receipt_code>/<str:number>/", receipt_views.receipt_detail, name="receipt-detail"),
    path("receipts/<str:receipt_code>/<str:number>/pdf/", receipt_views.receipt_pdf, name="receipt-pdf"),
    path("receipts/<str:receipt_code>/<str:number>/xml/", receipt_views.receipt_xml, name="receipt-xml"),
    path(
        "receipts/<str:receipt_code>/<str:number>/red-offset/",
        receipt_views.receipt_red_offset_view,
        name="receipt-red-offset",
    ),
    path("receipts/<str:receipt_code>/<str:number>/send/", send_views.receipt_send_view, name="receipt-send"),
    path("messages/", send_views.message_list_view, name="message-list"),
    path("paper/", paper_views.paper_stock, name="paper-stock"),
    path("paper/blank-void/", paper_views.paper_blank_void, name="paper-blank-void"),
    path("paper/<str:paper_code>/<str:paper_number>/print", paper_views.paper_print, name="paper-print"),
    path("paper/<str:paper_code>/<str:paper_number>/void", paper_views.paper_void, name="paper-void"),
    path(
        "receipts/<str:receipt_code>/<str:number>/paper/",
        paper_views.receipt_paper_convert_view,
        name="receipt-paper-convert",
    ),
]
