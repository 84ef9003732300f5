"""Row locks of reimbursement and book entries, taken in one fixed order.

Order: the receipt's row first (``issuance.services.receipt_lock``, the lock red-offset and
every status change of the receipt take), then its ledger row, then an entry row. Nothing
in the platform takes them the other way round, so there is no cycle. Holding the receipt's
row also keeps its status still while an entry is recorded: a red-offset waits, or is seen.

On SQLite (the embedded default) ``SELECT … FOR UPDATE`` is a no-op; the IMMEDIATE
transaction mode takes the database's write lock at ``BEGIN`` and serialises writers.
"""

from __future__ import annotations

from django.db import transaction

from issuance.models import Receipt
from issuance.services import receipt_lock
from verification.models import ReceiptEntry, ReceiptLedger


def receipt_locked(*, receipt_id: int) -> Receipt:
    """The receipt's row, locked until the caller's transaction ends."""
    return receipt_lock(receipt_id=receipt_id)


def ledger_locked(*, receipt: Receipt) -> ReceiptLedger:
    """The receipt's ledger row, locked; created at nothing claimed if it has none yet.

    The caller holds the receipt's lock (:func:`receipt_locked`), so no one else can be
    creating the same ledger row at the same moment.
    """
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"
    ledger = ReceiptLedger.objects.select_for_update().filter(receipt_id=receipt.pk).first()
    if ledger is None:
        ledger = ReceiptLedger.objects.create(receipt_id=receipt.pk, total_amount=receipt.total_amount)
    return ledger


def entry_locked(*, entry_id: int) -> ReceiptEntry:
    """An entry's row, locked (after its receipt's and its ledger's)."""
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"
    return ReceiptEntry.objects.select_for_update(of=("self",)).select_related("party", "receipt").get(pk=entry_id)
