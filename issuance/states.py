"""The receipt status state machine (票据状态).

Every status change goes through :func:`issuance.services.receipt_transition`, which
checks the transition against ``TRANSITIONS`` and claims the row conditionally.
"""

from __future__ import annotations

from django.db import models


class ReceiptStatus(models.TextChoices):
    ISSUED = "issued", "正常"
    PAPER_CONVERTED = "paper_converted", "已换开纸质票据"
    RED_OFFSET = "red_offset", "已冲红"


TRANSITIONS: dict[str, frozenset[str]] = {
    # A normal receipt can be red-offset (refund/correction) or exchanged for paper.
    ReceiptStatus.ISSUED: frozenset({ReceiptStatus.RED_OFFSET, ReceiptStatus.PAPER_CONVERTED}),
    # The paper copy must be recovered and voided (back to ISSUED) before a red-offset.
    ReceiptStatus.PAPER_CONVERTED: frozenset({ReceiptStatus.ISSUED}),
    # Red-offset is final: a receipt is never red-offset twice nor revived.
    ReceiptStatus.RED_OFFSET: frozenset(),
}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())
