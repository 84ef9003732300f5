"""Row locks of paper conversion, always taken in one fixed order.

Order: the receipt, then the paper use, then the unit's stock ranges (ascending id).
Receiving stock takes only the lock of its paper code. Nothing slow (drawing the
PDF) runs while these locks are held.

On SQLite ``select_for_update`` is a no-op: the IMMEDIATE transaction mode takes the
database's write lock at BEGIN, which serialises every writer anyway.
"""

from __future__ import annotations

import zlib

from django.db import connection, transaction

from issuance.models import Receipt
from issuance.paper.models import PaperStock, PaperUse

# The first key of PostgreSQL's two-key advisory locks: one namespace for paper codes.
_PAPER_CODE_LOCK_SPACE = zlib.crc32(b"erec:paper-code") & 0x7FFFFFFF


def _in_transaction() -> None:
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"


def lock_receipt(*, receipt_id: int) -> Receipt:
    _in_transaction()
    return Receipt.objects.select_for_update(of=("self",)).select_related("unit", "kind").get(pk=receipt_id)


def lock_use(*, use_id: int) -> PaperUse:
    _in_transaction()
    return PaperUse.objects.select_for_update(of=("self",)).get(pk=use_id)


def lock_unit_stocks(*, unit_id: int) -> list[PaperStock]:
    """The unit's stock ranges, locked in id order, returned lowest paper code and number first."""
    _in_transaction()
    rows = list(PaperStock.objects.select_for_update(of=("self",)).filter(unit_id=unit_id).order_by("id"))
    return sorted(rows, key=lambda stock: (stock.paper_code, stock.start_number))


def lock_paper_code(*, paper_code: str) -> None:
    """Serialise everyone who adds stock of ``paper_code`` until the transaction ends.

    The ranges of one code may be held by any unit of the province, and a new range has
    no row to lock yet, so PostgreSQL takes a transaction-scoped advisory lock on the code.
    """
    _in_transaction()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_PAPER_CODE_LOCK_SPACE, int(paper_code)])
