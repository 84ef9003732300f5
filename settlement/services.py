"""Settlement services: the daily reconciliation with the national platform (全国平台对账).

For one issue day (Beijing), the platform's figures (count, blue and red counts, net
amount, the digest of the data files' hashes: docs/national.md) are compared with the
national platform's. When they differ, both sides' receipt lists are compared too, so
the record names the receipts each side lacks and those whose data files differ. A
difference that only waits for the outbox (the national platform lacks receipts whose
``issued`` event is not delivered yet, and nothing else differs) is told apart as
``pending``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from settlement.models import NationalReconciliation
from settlement.selectors import national_day_figures, national_undelivered
from zhongtai.audit.services import Actor, audit_record
from zhongtai.national import client
from zhongtai.national.client import DayFigures
from zhongtai.national.payloads import money_text

# Receipts listed per side in one record; the counts say how many there are in all.
LISTED_MAX = 1000
_FIELDS = (
    ("count", "票据数"),
    ("blue_count", "蓝票数"),
    ("red_count", "红票数"),
    ("amount", "净金额"),
    ("digest", "数据文件摘要"),
)


def national_reconcile(*, day: datetime.date, actor: Actor) -> NationalReconciliation:
    """Reconcile one issue day with the national platform and store the result (audited).

    Raises :class:`zhongtai.national.client.NationalUnavailable` when the national
    platform gives no usable answer (nothing is stored then).
    """
    ours = national_day_figures(day=day)
    theirs = client.reconciliation_get(day=day)
    differences = _differences(ours.figures, theirs)
    missing_national: list[dict[str, Any]] = []
    missing_platform: list[dict[str, Any]] = []
    mismatches: list[dict[str, Any]] = []
    if differences:
        listed = {(r.receipt_code, r.number): r.datafile_sha256 for r in client.reconciliation_receipts(day=day)}
        for key in sorted(ours.hashes.keys() - listed.keys()):
            missing_national.append(_row(key, ours.hashes[key]))
        for key in sorted(listed.keys() - ours.hashes.keys()):
            missing_platform.append(_row(key, listed[key]))
        for key in sorted(ours.hashes.keys() & listed.keys()):
            if ours.hashes[key] != listed[key]:
                mismatches.append({**_row(key, ours.hashes[key]), "nationalSha256": listed[key]})
    undelivered_events, undelivered_issued = national_undelivered(day=day)
    outcome = _outcome(
        differences=differences,
        missing_national=missing_national,
        missing_platform=missing_platform,
        mismatches=mismatches,
        undelivered_issued=undelivered_issued,
    )
    with transaction.atomic():
        record = NationalReconciliation.objects.create(
            day=day,
            province=client.province_region_code(),
            outcome=outcome,
            count=ours.figures.count,
            blue_count=ours.figures.blue_count,
            red_count=ours.figures.red_count,
            amount=ours.figures.amount,
            digest=ours.figures.digest,
            national_count=theirs.count,
            national_blue_count=theirs.blue_count,
            national_red_count=theirs.red_count,
            national_amount=theirs.amount,
            national_digest=theirs.digest,
            differences=differences,
            missing_national=missing_national[:LISTED_MAX],
            missing_platform=missing_platform[:LISTED_MAX],
            hash_mismatches=mismatches[:LISTED_MAX],
            undelivered_events=undelivered_events,
            undelivered_receipts=len(undelivered_issued),
            created_by=actor.name,
        )
        audit_record(
            actor=actor,
            action="national.reconcile",
            object_type="national_reconciliation",
            object_id=record.pk,
            region_code=record.province,
            data={
                "day": day.isoformat(),
                "outcome": outcome,
                "differences": [d["field"] for d in differences],
                "missingNational": len(missing_national),
                "missingPlatform": len(missing_platform),
                "hashMismatches": len(mismatches),
                "undeliveredEvents": undelivered_events,
            },
        )
    return record


def _differences(ours: DayFigures, theirs: DayFigures) -> list[dict[str, str]]:
    found = []
    for name, label in _FIELDS:
        mine, other = getattr(ours, name), getattr(theirs, name)
        if mine != other:
            found.append({"field": name, "label": label, "platform": _text(mine), "national": _text(other)})
    return found


def _text(value: object) -> str:
    return money_text(value) if isinstance(value, Decimal) else str(value)


def _row(key: tuple[str, int], sha: str) -> dict[str, Any]:
    code, number = key
    return {"receiptCode": code, "number": number, "dataFileSha256": sha}


def _outcome(
    *,
    differences: list[dict[str, str]],
    missing_national: list[dict[str, Any]],
    missing_platform: list[dict[str, Any]],
    mismatches: list[dict[str, Any]],
    undelivered_issued: set[tuple[str, int]],
) -> str:
    if not differences:
        return NationalReconciliation.Outcome.MATCHED
    only_waiting = (
        missing_national
        and not missing_platform
        and not mismatches
        and all((row["receiptCode"], row["number"]) in undelivered_issued for row in missing_national)
    )
    return NationalReconciliation.Outcome.PENDING if only_waiting else NationalReconciliation.Outcome.MISMATCHED
