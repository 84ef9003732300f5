from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet

from zhongtai.masterdata.models import FeeStandard, Region, Unit


def region_subtree_units(*, region: Region) -> QuerySet[Unit]:
    """Units supervised by ``region``'s bureau: its own and those of every region below."""
    return Unit.objects.filter(region__code__startswith=region.code_prefix)


def region_ancestors_codes(code: str) -> list[str]:
    """The codes of a region and its ancestors, most specific first (430102, 430100, 430000)."""
    codes = [code]
    if not code.endswith("00"):
        codes.append(code[:4] + "00")
    if not code.endswith("0000"):
        codes.append(code[:2] + "0000")
    return codes


def fee_standards_for(*, fee_item_ids: list[int], region_code: str, day: datetime.date) -> dict[int, FeeStandard]:
    """The standard in force on ``day`` for each fee item, for a unit in ``region_code``.

    A region's own standard wins over its city's, which wins over the province-wide one.
    """
    ancestry = region_ancestors_codes(region_code)
    rank = {code: index for index, code in enumerate(ancestry)}
    candidates = (
        FeeStandard.objects.filter(fee_item_id__in=fee_item_ids, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .filter(Q(region__isnull=True) | Q(region__code__in=ancestry))
        .select_related("region")
        .order_by("valid_from", "id")
    )
    chosen: dict[int, tuple[int, FeeStandard]] = {}
    for standard in candidates:
        specificity = rank[standard.region.code] if standard.region else len(ancestry)
        current = chosen.get(standard.fee_item_id)
        # Lower specificity wins; among equals the later valid_from (iteration order) wins.
        if current is None or specificity <= current[0]:
            chosen[standard.fee_item_id] = (specificity, standard)
    return {item_id: pair[1] for item_id, pair in chosen.items()}
