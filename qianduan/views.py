from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from issuance.models import Receipt
from zhongtai.masterdata.models import FeeItem, ReceiptKind, Region, Unit


def home(request: HttpRequest) -> HttpResponse:
    """The platform's front door: what is here and where each kind of user goes."""
    context = {
        "region_count": Region.objects.count(),
        "unit_count": Unit.objects.count(),
        "interface_unit_count": Unit.objects.filter(connection_mode=Unit.ConnectionMode.INTERFACE).count(),
        "kind_count": ReceiptKind.objects.count(),
        "fee_item_count": FeeItem.objects.count(),
        "receipt_count": Receipt.objects.count(),
    }
    return render(request, "qianduan/home.html", context)
