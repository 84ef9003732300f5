"""Row locks of the messaging app (taken inside the requesting transaction, held briefly)."""

from __future__ import annotations

from django.db import transaction

from issuance.models import Receipt


def lock_receipt_for_sending(*, receipt_id: int) -> Receipt:
    """The receipt row, locked: concurrent send requests for one receipt queue here, so the
    daily limit counted after the lock cannot be passed by two requests at once."""
    assert transaction.get_connection().in_atomic_block, "lock outside a transaction"
    return Receipt.objects.select_for_update(of=("self",)).select_related("unit", "kind").get(pk=receipt_id)
