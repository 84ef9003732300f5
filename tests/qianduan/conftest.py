"""Receipts of the networked unit for the portal tests, issued and signed through the real services."""

from __future__ import annotations

from typing import Any

import pytest

from issuance.models import Receipt
from tests.conftest import nontax_payload
from tests.issuance.conftest import issue_direct


@pytest.fixture
def portal_receipts(
    networked_pki: Any, networked_unit: Any, unit: Any, django_capture_on_commit_callbacks: Any
) -> dict[str, Receipt]:
    """Two signed receipts of the networked unit (windows CK01, CK02) and one of the interface unit."""
    with django_capture_on_commit_callbacks(execute=True):
        mine = issue_direct(networked_unit, nontax_payload("P-1", issuingPointCode="CK01"))
    with django_capture_on_commit_callbacks(execute=True):
        second = issue_direct(
            networked_unit,
            nontax_payload("P-2", issuingPointCode="CK02", payer={"type": 2, "name": "湖南星城建设有限公司"}),
        )
    with django_capture_on_commit_callbacks(execute=True):
        theirs = issue_direct(unit, nontax_payload("H-1", payer={"type": 1, "name": "李四"}))
    for receipt in (mine, second, theirs):
        receipt.refresh_from_db()
    return {"mine": mine, "second": second, "theirs": theirs}
