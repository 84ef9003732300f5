"""receipt_sign_unfinished: the partial index on the receipts not signed, the only index on the status."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from issuance.models import Receipt, ReceiptItem, ReceiptJob, SignStatus
from zhongtai.audit.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _plan(queryset) -> str:  # type: ignore[no-untyped-def]
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: force the choice between indexes
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    "statuses",
    [
        [SignStatus.FAILED],
        [SignStatus.PENDING],
        [SignStatus.FAILED, SignStatus.AWAITING_UNIT],  # the portal's dashboard
    ],
)
def test_lists_of_unfinished_receipts_can_use_the_partial_index(statuses: list[str]) -> None:
    assert "receipt_sign_unfinished" in _plan(Receipt.objects.filter(sign_status__in=statuses))


def test_the_signed_are_not_in_it_and_the_status_has_no_other_index() -> None:
    assert "receipt_sign_unfinished" not in _plan(Receipt.objects.filter(sign_status=SignStatus.SIGNED))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [Receipt._meta.db_table, "%sign_status%"],
        )
        indexes = cursor.fetchall()
    assert [name for name, _ in indexes] == ["receipt_sign_unfinished"]
    assert "WHERE" in indexes[0][1]


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


def test_the_tables_the_sign_step_writes_carry_no_redundant_index() -> None:
    """Every index is paid for by every row the sign step writes: none twice, none for queries nobody runs."""
    for table in ("issuance_receipt", "issuance_receiptjob", "issuance_receiptitem", "audit_auditevent"):
        definitions = _indexes(table)
        assert not [name for name, sql in definitions.items() if "pattern_ops" in sql], table
        # A foreign key to the receipt is served by the unique index that starts with it.
        assert not [name for name, sql in definitions.items() if sql.endswith("(receipt_id)")], table


@pytest.mark.parametrize(
    ("queryset", "index"),
    [
        (lambda: ReceiptJob.objects.filter(receipt_id=1), "receipt_job_one_per_step"),
        (lambda: ReceiptItem.objects.filter(receipt_id=1), "receipt_item_line_unique"),
        (lambda: AuditEvent.objects.filter(action="receipt.sign"), "audit_action"),
        (lambda: AuditEvent.objects.filter(unit_code="430102001"), "audit_unit_code"),
    ],
)
def test_lookups_by_receipt_action_and_unit_still_use_an_index(queryset, index: str) -> None:  # type: ignore[no-untyped-def]
    assert index in _plan(queryset())
