"""Row locks for number allocation, always taken in one fixed order.

Sequences are locked in ascending receipt-code order, ranges in ascending id, and a
transaction that needs both locks sequences first. Nothing slow (signing, rendering,
HTTP) may run while these locks are held.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from zhongtai.numbering.models import NumberRange, NumberSequence


def lock_sequences(*, receipt_codes: Iterable[str], sandbox: bool = False) -> dict[str, NumberSequence]:
    """The sequences of ``receipt_codes`` in one environment (production or sandbox), locked."""
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"
    codes = sorted(set(receipt_codes))
    rows = (
        NumberSequence.objects.select_for_update(of=("self",))
        .filter(receipt_code__in=codes, sandbox=sandbox)
        .order_by("receipt_code")
    )
    return {row.receipt_code: row for row in rows}


def lock_unit_ranges(*, unit_id: int, receipt_codes: Iterable[str]) -> list[NumberRange]:
    """The unit's ranges with numbers left, locked, in issuing order."""
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"
    return list(
        NumberRange.objects.select_for_update(of=("self",))
        .filter(unit_id=unit_id, receipt_code__in=sorted(set(receipt_codes)), cursor__lte=F("end_number"))
        .order_by("id")
    )


def lock_range(*, range_id: int) -> NumberRange:
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"
    return NumberRange.objects.select_for_update(of=("self",)).get(id=range_id)
