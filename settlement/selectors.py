"""Reconciliation figures (对账) for interface units."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Count, Q, Sum

from issuance.models import Receipt
from zhongtai.masterdata.models import Unit

Basis = Literal["issue", "business"]


def daily_totals(*, unit: Unit, day: datetime.date, basis: Basis, sandbox: bool = False) -> dict[str, Any]:
    """Counts and amounts per receipt kind for one day, blue and red separately.

    A red receipt counts on the day it was issued (its issue and business date), apart from
    the blue ones; its original stays counted as blue on its own day. Production and sandbox
    (联调测试) receipts are never counted together.
    """
    date_filter = Q(issue_date=day) if basis == "issue" else Q(bus_date=day)
    rows = (
        Receipt.objects.filter(date_filter, unit=unit, sandbox=sandbox)
        .values("kind__code", "kind__name")
        .annotate(
            blue_count=Count("id", filter=Q(is_red=False)),
            blue_amount=Sum("total_amount", filter=Q(is_red=False)),
            red_count=Count("id", filter=Q(is_red=True)),
            red_amount=Sum("total_amount", filter=Q(is_red=True)),
        )
        .order_by("kind__code")
    )
    zero = Decimal("0.00")
    kinds = []
    totals = {"count": 0, "amount": zero, "redCount": 0, "redAmount": zero}
    for row in rows:
        entry = {
            "kindCode": row["kind__code"],
            "kindName": row["kind__name"],
            "count": row["blue_count"],
            "amount": (row["blue_amount"] or zero).quantize(zero),
            "redCount": row["red_count"],
            "redAmount": (row["red_amount"] or zero).quantize(zero),
        }
        kinds.append(entry)
        for key in totals:
            totals[key] += entry[key]
    net = totals["amount"] + totals["redAmount"]
    return {
        "date": day.isoformat(),
        "basis": basis,
        "unitCode": unit.code,
        "kinds": [_money_strings(k) for k in kinds],
        "total": _money_strings({**totals, "netAmount": net}),
    }


def _money_strings(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: (format(v, "f") if isinstance(v, Decimal) else v) for k, v in entry.items()}
