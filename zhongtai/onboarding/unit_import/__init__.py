"""Unit basic information collection (基础信息归集): the Excel template and its import.

A bureau downloads a template built for its region (``unit_import_template``), fills one
row per unit and uploads it (``units_import``). The file is checked first (type, size,
row count, header), then every row against the model rules and the user's scope; only
when no row has an error are all units created or updated, in one transaction with their
audit rows. Otherwise nothing is written and the caller gets every problem as (row,
column, message), and ``import_error_workbook`` turns them into an .xlsx with an error
column.

An existing unit (same unit code) is updated: the sheet is the truth for every column,
an empty optional cell clears the value, except the two code-list columns, where an
empty cell keeps the unit's current receipt kinds and fee items (clearing them would stop
the unit from issuing, which is done deliberately in the admin, never by a blank cell).
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction

from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor, audit_build, audit_record
from zhongtai.masterdata.models import FeeItem, ReceiptKind, Unit
from zhongtai.onboarding.errors import OnboardingError
from zhongtai.onboarding.unit_import.checks import Checker, open_sheet, read_rows, refuse
from zhongtai.onboarding.unit_import.columns import (
    COLUMNS,
    ERROR_HEADER,
    HEADERS,
    MAX_BYTES,
    MAX_ROWS,
    XLSX_CONTENT_TYPE,
    ImportOutcome,
    ParsedRow,
    RowError,
)
from zhongtai.onboarding.unit_import.workbooks import import_error_workbook, unit_import_template
from zhongtai.signing.services import unit_hosted_certificate_ensure

__all__ = [
    "COLUMNS",
    "ERROR_HEADER",
    "HEADERS",
    "MAX_BYTES",
    "MAX_ROWS",
    "XLSX_CONTENT_TYPE",
    "ImportOutcome",
    "RowError",
    "import_error_workbook",
    "unit_import_template",
    "units_import",
]

_UPDATE_FIELDS = [
    "name",
    "credit_code",
    "unit_type",
    "connection_mode",
    "region",
    "valid_from",
    "valid_to",
    "payee_name",
    "payee_account",
    "payee_bank",
    "contact_person",
    "contact_phone",
]


def units_import(*, scope: Scope, file_name: str, content: bytes) -> ImportOutcome:
    """Check an uploaded template and, only if every row is right, create or update all its units.

    File-level problems (type, size, header, row count) raise ``ApplicationError``; row
    problems come back in ``ImportOutcome.errors`` with nothing written.
    """
    scope.require(Permission.MANAGE_MASTERDATA)
    rows = read_rows(open_sheet(file_name, content))
    errors = Checker(scope, rows).check()
    outcome = ImportOutcome(file_name=file_name, rows=rows, errors=errors)
    if errors:
        return outcome
    try:
        _write(scope=scope, outcome=outcome, digest=hashlib.sha256(content).hexdigest())
    except IntegrityError as exc:
        # Someone created a unit with one of these codes while we checked: nothing was written.
        raise refuse(
            OnboardingError.IMPORT_CONFLICT, "导入期间单位数据被他人修改，未导入任何数据，请重新上传。"
        ) from exc
    return outcome


def _write(*, scope: Scope, outcome: ImportOutcome, digest: str) -> None:
    actor = Actor.user(scope.username)
    units = [row.unit for row in outcome.rows if row.unit is not None]
    assert len(units) == len(outcome.rows)
    new = [unit for unit in units if unit.pk is None]
    old = [unit for unit in units if unit.pk is not None]
    created = {id(unit) for unit in new}
    with transaction.atomic():
        Unit.objects.bulk_create(new, batch_size=500)
        Unit.objects.bulk_update(old, _UPDATE_FIELDS, batch_size=500)
        _set_lists(outcome.rows)
        audits = [
            audit_build(
                actor=actor,
                action="masterdata.unit_import_create" if id(unit) in created else "masterdata.unit_import_update",
                object_type="unit",
                object_id=unit.code,
                unit_code=unit.code,
                region_code=unit.region.code,
                data={"file_sha256": digest},
            )
            for unit in units
        ]
        AuditEvent.objects.bulk_create(audits, batch_size=500)
        # A new networked unit issues in the portal at once: the platform keeps its signing key.
        for unit in new:
            if unit.connection_mode == Unit.ConnectionMode.NETWORKED and unit.status == Unit.Status.ACTIVE:
                unit_hosted_certificate_ensure(unit=unit, actor=actor)
        audit_record(
            actor=actor,
            action="onboarding.units_import",
            object_type="unit_import",
            object_id=digest[:16],
            region_code=scope.region_prefix.ljust(6, "0") if scope.region_prefix else "",
            data={
                "file_name": outcome.file_name,
                "file_sha256": digest,
                "rows": len(units),
                "created": [u.code for u in new],
                "updated": [u.code for u in old],
            },
        )
    outcome.created = [u.code for u in new]
    outcome.updated = [u.code for u in old]


def _set_lists(rows: list[ParsedRow]) -> None:
    kinds = dict(ReceiptKind.objects.values_list("code", "pk"))
    items = dict(FeeItem.objects.values_list("code", "pk"))
    for relation, attribute, ids in (
        (Unit.allowed_kinds, "kind_codes", kinds),
        (Unit.allowed_fee_items, "item_codes", items),
    ):
        through = relation.through
        target = relation.rel.field.m2m_reverse_field_name()
        given = [row for row in rows if getattr(row, attribute) is not None]
        if not given:
            continue
        through.objects.filter(unit_id__in=[row.unit.pk for row in given]).delete()  # type: ignore[union-attr]
        through.objects.bulk_create(
            [
                through(unit_id=row.unit.pk, **{f"{target}_id": ids[code]})  # type: ignore[union-attr]
                for row in given
                for code in getattr(row, attribute)
            ],
            batch_size=1000,
        )
