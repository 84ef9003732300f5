"""Batches of the batch-issuance API, and ``batch.completed`` once all their receipts are signed.

A batch request answers at once; its receipts are signed afterwards by the pipeline. The
receipts a request *created* are remembered as one :class:`IssueBatch` (its id is the
answer's ``batchId``). A batch is complete when none of them is still waiting for a
signature (every one is 已签章 or 签章失败). Completion is decided by a conditional UPDATE
(``completed_at`` still empty), so it happens once whoever notices it first: the pipeline
after each chunk it signs, the request itself right after recording the batch (the
receipts may have been signed already), or the sweeper (receipts a unit signed itself).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from issuance.models import Receipt, ReceiptJob, SignStatus
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata.models import Unit
from zhongtai.webhooks.events import deliveries_create
from zhongtai.webhooks.models import EventType, IssueBatch, IssueBatchReceipt, WebhookEndpoint

logger = logging.getLogger(__name__)

UNFINISHED = (SignStatus.PENDING, SignStatus.AWAITING_UNIT)
# The sweeper looks this far back for batches the pipeline's hook did not see complete.
SWEEP_WINDOW = datetime.timedelta(days=7)


def batch_record(
    *, unit: Unit, credential: ApiCredential, sandbox: bool, receipts: Sequence[Receipt]
) -> IssueBatch | None:
    """Remember the receipts one batch request created; None if it created none."""
    if not receipts:
        return None
    with transaction.atomic():
        batch = IssueBatch.objects.create(
            unit=unit,
            credential=credential,
            sandbox=sandbox,
            region_code=unit.region.code,
            receipt_count=len(receipts),
        )
        IssueBatchReceipt.objects.bulk_create([IssueBatchReceipt(batch=batch, receipt=r) for r in receipts])
    # The pipeline may have signed them all before the batch existed (eager tasks, fast workers).
    batches_complete(_completable(IssueBatch.objects.filter(pk=batch.pk)))
    return batch


def _completable(batches: QuerySet[IssueBatch]) -> QuerySet[IssueBatch]:
    unfinished = IssueBatchReceipt.objects.filter(batch_id=OuterRef("pk"), receipt__sign_status__in=UNFINISHED)
    return batches.filter(completed_at__isnull=True).exclude(Exists(unfinished))


def batches_check_after_signing(*, receipt_ids: Iterable[int]) -> int:
    """The pipeline's hook after a chunk of signing jobs: complete the batches that are now done.

    One query finds the open batches of these receipts that have no unfinished receipt left
    (none, for receipts that are not in a batch); returns how many were completed.
    """
    ids = list(receipt_ids)
    if not ids:
        return 0
    return batches_complete(_completable(IssueBatch.objects.filter(items__receipt_id__any=ids).distinct()))


def batches_sweep(*, limit: int = 200) -> int:
    """Complete recent open batches whose receipts all finished (signed by their unit, a missed hook)."""
    since = timezone.now() - SWEEP_WINDOW
    return batches_complete(_completable(IssueBatch.objects.filter(created_at__gte=since)).order_by("pk")[:limit])


def batches_complete(candidates: Iterable[IssueBatch]) -> int:
    completed = 0
    for batch in candidates:
        completed += batch_complete(batch=batch)
    return completed


def batch_complete(*, batch: IssueBatch) -> bool:
    """Mark one batch complete (once) and write its ``batch.completed`` call, in one transaction."""
    with transaction.atomic():
        now = timezone.now()
        if not IssueBatch.objects.filter(pk=batch.pk, completed_at__isnull=True).update(completed_at=now):
            return False
        batch.completed_at = now
        endpoint = (
            WebhookEndpoint.objects.filter(
                api_credential_id=batch.credential_id,
                status=WebhookEndpoint.Status.ENABLED,
                api_credential__status=ApiCredential.Status.ACTIVE,
            )
            .select_related("unit")
            .first()
        )
        if endpoint is not None and EventType.BATCH_COMPLETED in endpoint.events:
            deliveries_create(
                endpoint_data=[(endpoint, batch_describe(batch=batch))],
                event_type=EventType.BATCH_COMPLETED,
                event_key=f"batch:{batch.pk}",
                region_code=batch.region_code,
            )
    return True


def batch_describe(*, batch: IssueBatch) -> dict[str, Any]:
    """The batch as the API and the ``batch.completed`` call show it: counts and each receipt."""
    rows = list(
        Receipt.objects.filter(pk__in=IssueBatchReceipt.objects.filter(batch_id=batch.pk).values("receipt_id"))
        .order_by("pk")
        .values("pk", "bus_no", "receipt_code", "number", "sign_status")
    )
    failed_ids = [row["pk"] for row in rows if row["sign_status"] == SignStatus.FAILED]
    errors = dict(
        ReceiptJob.objects.filter(receipt_id__in=failed_ids, step=ReceiptJob.Step.SIGN).values_list(
            "receipt_id", "last_error"
        )
    )
    counts = {status: 0 for status in SignStatus.values}
    receipts = []
    for row in rows:
        counts[row["sign_status"]] += 1
        receipts.append(
            {
                "busNo": row["bus_no"],
                "receiptCode": row["receipt_code"],
                "receiptNumber": f"{row['number']:010d}",
                "signStatus": row["sign_status"],
                "error": (errors.get(row["pk"]) or "签章失败") if row["sign_status"] == SignStatus.FAILED else None,
            }
        )
    return {
        "batchId": str(batch.public_id),
        "createdAt": timezone.localtime(batch.created_at).isoformat(),
        "completed": batch.completed_at is not None,
        "completedAt": timezone.localtime(batch.completed_at).isoformat() if batch.completed_at else None,
        "total": len(rows),
        "signed": counts[SignStatus.SIGNED],
        "failed": counts[SignStatus.FAILED],
        "pending": counts[SignStatus.PENDING] + counts[SignStatus.AWAITING_UNIT],
        "receipts": receipts,
    }


def batch_get(*, unit: Unit, batch_id: str, sandbox: bool) -> IssueBatch | None:
    """A batch of the caller's unit in the caller's environment; None for anything else."""
    return IssueBatch.objects.filter(public_id=batch_id, unit=unit, sandbox=sandbox).first()
