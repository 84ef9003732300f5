"""Reconciliation figures (对账): for interface units, and the platform's side of the national reconciliation."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Count, Q, Sum

from issuance.models import Receipt, SignStatus
from zhongtai.masterdata.models import Unit
from zhongtai.national.client import DayFigures
from zhongtai.national.models import EventType, NationalEvent
from zhongtai.national.payloads import CENT

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


# --- the national platform's daily reconciliation (全国平台对账) ------------------------------


@dataclass(frozen=True)
class NationalDay:
    """The platform's own figures of one issue day, as docs/national.md defines them.

    Only signed production receipts count (sandbox receipts are never pushed, and a
    receipt is pushed once signed). ``hashes`` maps (code, number) to the SHA-256 of the
    data file as stored ("" when it cannot be read: that receipt then differs).
    """

    figures: DayFigures
    hashes: dict[tuple[str, int], str]


def national_day_figures(*, day: datetime.date) -> NationalDay:
    """Count, blue and red counts, net amount and the digest of the day's receipts' data-file hashes."""
    receipts = (
        Receipt.objects.filter(issue_date=day, sandbox=False, sign_status=SignStatus.SIGNED)
        .only("receipt_code", "number", "is_red", "total_amount", "datafile", "sandbox")
        .order_by("receipt_code", "number")
    )
    blue = red = 0
    amount = Decimal("0.00")
    hashes: dict[tuple[str, int], str] = {}
    for receipt in receipts.iterator(chunk_size=2000):
        if receipt.is_red:
            red += 1
        else:
            blue += 1
        amount += receipt.total_amount
        hashes[(receipt.receipt_code, receipt.number)] = _datafile_sha256(receipt)
    figures = DayFigures(
        count=blue + red, blue_count=blue, red_count=red, amount=amount.quantize(CENT), digest=hashes_digest(hashes)
    )
    return NationalDay(figures=figures, hashes=hashes)


def hashes_digest(hashes: dict[tuple[str, int], str]) -> str:
    """SHA-256 (hex) of the sorted lines ``{receiptCode}{number:010d}:{dataFileSha256}\\n``."""
    lines = sorted(f"{code}{number:010d}:{sha}\n" for (code, number), sha in hashes.items())
    return hashlib.sha256("".join(lines).encode("ascii")).hexdigest()


def _datafile_sha256(receipt: Receipt) -> str:
    digest = hashlib.sha256()
    try:
        with receipt.datafile.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
    except (OSError, ValueError):  # missing or unreadable: reported as a difference, not a crash
        return ""
    return digest.hexdigest()


def national_undelivered(*, day: datetime.date) -> tuple[int, set[tuple[str, int]]]:
    """Events of the day's production receipts not delivered yet, and the receipts whose ``issued`` is among them."""
    events = NationalEvent.objects.filter(receipt__issue_date=day, receipt__sandbox=False).exclude(
        state=NationalEvent.State.DELIVERED
    )
    issued = events.filter(type=EventType.ISSUED).values_list("receipt__receipt_code", "receipt__number")
    return events.count(), {(code, number) for code, number in issued}
