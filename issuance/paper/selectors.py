"""Reads of paper stock and paper copies: accounting per range, live copies, lookups."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Sum

from issuance.models import Receipt
from issuance.paper.models import PaperStock, PaperUse
from zhongtai.masterdata.models import Unit

PRINTED = PaperUse.State.PRINTED
VOIDED = PaperUse.State.VOIDED


@dataclass(frozen=True)
class StockSummary:
    """The accounting of one stock range: received = used + voided + on hand."""

    stock: PaperStock
    received: int
    used: int  # live printed copies
    voided: int  # misprints, recovered copies, damaged blanks, retired numbers
    on_hand: int

    @property
    def paper_code(self) -> str:
        return self.stock.paper_code


@dataclass(frozen=True)
class StockTotals:
    received: int = 0
    used: int = 0
    voided: int = 0
    on_hand: int = 0


def paper_stock_summaries(*, stocks: QuerySet[PaperStock], limit: int | None = None) -> list[StockSummary]:
    """Accounting of each range of ``stocks`` (already scoped by the caller), in one query."""
    rows = (
        stocks.select_related("unit")
        .annotate(
            used_count=Count("uses", filter=Q(uses__state=PRINTED)),
            voided_count=Count("uses", filter=Q(uses__state=VOIDED)),
        )
        .order_by("unit__code", "paper_code", "start_number")
    )
    if limit is not None:
        rows = rows[:limit]
    summaries = []
    for stock in rows:
        used, voided = stock.used_count, stock.voided_count
        summaries.append(
            StockSummary(stock=stock, received=stock.size, used=used, voided=voided, on_hand=stock.size - used - voided)
        )
    return summaries


def paper_stock_summary(*, unit: Unit) -> list[StockSummary]:
    """Per stock range of ``unit``: received, used (live printed), voided, on hand."""
    return paper_stock_summaries(stocks=PaperStock.objects.filter(unit=unit))


def paper_stock_totals(summaries: list[StockSummary]) -> StockTotals:
    return StockTotals(
        received=sum(s.received for s in summaries),
        used=sum(s.used for s in summaries),
        voided=sum(s.voided for s in summaries),
        on_hand=sum(s.on_hand for s in summaries),
    )


def paper_stock_totals_of(*, stocks: QuerySet[PaperStock]) -> StockTotals:
    """The accounting of all of ``stocks`` together, aggregated in the database (a province's worth)."""
    received = stocks.aggregate(n=Sum(F("end_number") - F("start_number") + 1))["n"] or 0
    counts = PaperUse.objects.filter(stock__in=stocks).aggregate(
        used=Count("id", filter=Q(state=PRINTED)), voided=Count("id", filter=Q(state=VOIDED))
    )
    used, voided = counts["used"], counts["voided"]
    return StockTotals(received=received, used=used, voided=voided, on_hand=received - used - voided)


def paper_outstanding_count(*, unit: Unit) -> int:
    """How many of the unit's receipts have a live paper copy (one per receipt by constraint)."""
    return PaperUse.objects.filter(receipt__unit=unit, state=PRINTED).count()


def paper_live_copy(*, receipt: Receipt) -> PaperUse | None:
    return PaperUse.objects.select_related("stock").filter(receipt=receipt, state=PRINTED).first()


def paper_stock_holding(*, stocks: QuerySet[PaperStock], paper_code: str, paper_number: int) -> PaperStock | None:
    """The range among ``stocks`` that holds the paper number, if any."""
    return (
        stocks.select_related("unit")
        .filter(paper_code=paper_code, start_number__lte=paper_number, end_number__gte=paper_number)
        .first()
    )


def paper_number_find(*, unit: Unit, paper_code: str, paper_number: int) -> tuple[PaperStock, PaperUse | None] | None:
    """The unit's range holding this paper number and the number's use (None while on hand)."""
    stock = paper_stock_holding(
        stocks=PaperStock.objects.filter(unit=unit), paper_code=paper_code, paper_number=paper_number
    )
    if stock is None:
        return None
    use = (
        PaperUse.objects.select_related("receipt", "replaces")
        .filter(paper_code=paper_code, paper_number=paper_number)
        .first()
    )
    return stock, use


def paper_first_free_number(*, stock: PaperStock) -> int | None:
    """The lowest number of the range that has no use yet; None when the range is used up.

    Two queries however large the range: if the first number is taken, the lowest free
    number is one above the lowest taken number whose successor is free.
    """
    taken = PaperUse.objects.filter(
        paper_code=stock.paper_code, paper_number__gte=stock.start_number, paper_number__lte=stock.end_number
    )
    if not taken.filter(paper_number=stock.start_number).exists():
        return stock.start_number
    successor_taken = PaperUse.objects.filter(paper_code=stock.paper_code, paper_number=OuterRef("paper_number") + 1)
    below_gap = (
        taken.filter(paper_number__lt=stock.end_number)
        .exclude(Exists(successor_taken))
        .aggregate(lowest=Min("paper_number"))["lowest"]
    )
    return None if below_gap is None else below_gap + 1


def paper_uses_recent(*, uses: QuerySet[PaperUse], limit: int = 50) -> list[PaperUse]:
    """The most recent uses among ``uses`` (already scoped by the caller), newest first."""
    return list(uses.select_related("stock__unit", "receipt", "replaces").order_by("-id")[:limit])
