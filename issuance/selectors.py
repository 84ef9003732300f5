from __future__ import annotations

import datetime

from django.db.models import QuerySet

from issuance.models import Receipt
from zhongtai.masterdata.models import Unit


def _unit_receipts(unit: Unit) -> QuerySet[Receipt]:
    # Every read of receipts by a unit goes through here: another unit's receipt is a 404.
    return Receipt.objects.filter(unit=unit).select_related("kind", "unit", "issuing_point", "related_receipt")


def receipt_get(*, unit: Unit, receipt_code: str, number: int) -> Receipt | None:
    return _unit_receipts(unit).prefetch_related("items").filter(receipt_code=receipt_code, number=number).first()


def receipt_get_by_bus_no(*, unit: Unit, bus_no: str) -> Receipt | None:
    return _unit_receipts(unit).prefetch_related("items").filter(bus_no=bus_no).first()


def receipt_list_by_bus_date(*, unit: Unit, bus_date: datetime.date) -> QuerySet[Receipt]:
    return _unit_receipts(unit).filter(bus_date=bus_date).order_by("receipt_code", "number")
