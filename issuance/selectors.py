from __future__ import annotations

import datetime

from django.db.models import QuerySet

from issuance.models import Receipt
from zhongtai.masterdata.models import Unit


def _unit_receipts(unit: Unit, sandbox: bool) -> QuerySet[Receipt]:
    # Every read of receipts by a unit goes through here: another unit's receipt is a 404, and
    # so is a receipt of the other environment (a sandbox credential never sees production's).
    return Receipt.objects.filter(unit=unit, sandbox=sandbox).select_related(
        "kind", "unit", "issuing_point", "related_receipt"
    )


def receipt_get(*, unit: Unit, receipt_code: str, number: int, sandbox: bool = False) -> Receipt | None:
    return (
        _unit_receipts(unit, sandbox).prefetch_related("items").filter(receipt_code=receipt_code, number=number).first()
    )


def receipt_get_by_bus_no(*, unit: Unit, bus_no: str, sandbox: bool = False) -> Receipt | None:
    return _unit_receipts(unit, sandbox).prefetch_related("items").filter(bus_no=bus_no).first()


def receipt_list_by_bus_date(*, unit: Unit, bus_date: datetime.date, sandbox: bool = False) -> QuerySet[Receipt]:
    return _unit_receipts(unit, sandbox).filter(bus_date=bus_date).order_by("receipt_code", "number")


def receipt_list_by_bus_nos(*, unit: Unit, bus_nos: list[str], sandbox: bool = False) -> QuerySet[Receipt]:
    """The unit's receipts with these busNos, only the fields a status row shows."""
    return Receipt.objects.filter(unit=unit, sandbox=sandbox, bus_no__in=bus_nos).only(
        "bus_no", "receipt_code", "number", "status", "sign_status", "layout_file"
    )
