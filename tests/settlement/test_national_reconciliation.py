"""The daily reconciliation with the national platform (全国平台对账) against a real simulator."""

from __future__ import annotations

import datetime
import hashlib
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from issuance.models import Receipt
from issuance.red_offset import receipt_red_offset
from settlement.models import NationalReconciliation
from settlement.selectors import national_day_figures
from settlement.services import national_reconcile
from settlement.tasks import national_reconcile_yesterday_task
from tests.support.natsim import Natsim
from tests.zhongtai.national.conftest import issue, point_at, sign
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit
from zhongtai.national.models import NationalEvent
from zhongtai.national.outbox import events_sweep
from zhongtai.national.services import receipt_events_resend

pytestmark = pytest.mark.integration

ACTOR = Actor.system("tests")


@pytest.fixture
def national(natsim: Natsim, pki: dict[str, Any], settings: Any) -> Natsim:
    return point_at(natsim, pki, settings)


def _receipts_of_today(unit: Unit) -> list[Receipt]:
    """Three blue receipts, one of them red-offset (a red receipt of -55.50), all signed."""
    receipts = sign(issue(unit, 3))
    red, _ = receipt_red_offset(receipt=receipts[0], reason="退费", actor=ACTOR, source=Receipt.Source.API)
    return [*receipts, *sign([red])]


def test_the_platforms_figures_follow_the_contract(unit: Unit, pki: Any) -> None:
    receipts = _receipts_of_today(unit)
    issue(unit, 1, prefix="UNSIGNED")  # not signed: not pushed, not counted
    issue(unit, 1, prefix="SANDBOX", sandbox=True)
    day = national_day_figures(day=timezone.localdate())
    assert (day.figures.count, day.figures.blue_count, day.figures.red_count) == (4, 3, 1)
    assert day.figures.amount == Decimal("111.00")  # 3 x 55.50 - 55.50
    lines = []
    for receipt in receipts:
        with receipt.datafile.open("rb") as handle:
            lines.append(f"{receipt.receipt_code}{receipt.number:010d}:{hashlib.sha256(handle.read()).hexdigest()}\n")
    assert day.figures.digest == hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()


def test_a_day_fully_delivered_matches(national: Natsim, unit: Unit, pki: Any) -> None:
    _receipts_of_today(unit)
    events_sweep()
    record = national_reconcile(day=timezone.localdate(), actor=ACTOR)
    assert record.outcome == NationalReconciliation.Outcome.MATCHED
    assert (record.count, record.national_count, record.national_blue_count, record.national_red_count) == (4, 4, 3, 1)
    assert record.amount == record.national_amount == Decimal("111.00")
    assert record.digest == record.national_digest
    assert record.differences == [] and record.missing_national == [] and record.undelivered_events == 0
    audit = AuditEvent.objects.get(action="national.reconcile")
    assert audit.data["outcome"] == "matched" and audit.region_code == "430000"


def test_receipts_the_national_platform_lost_are_listed(national: Natsim, unit: Unit, pki: Any) -> None:
    # given a delivered day, and then a national platform that lost everything it had
    receipts = _receipts_of_today(unit)
    events_sweep()
    national.purge()
    # and a receipt delivered afterwards
    later = sign(issue(unit, 1, prefix="LATER"))
    events_sweep()
    record = national_reconcile(day=timezone.localdate(), actor=ACTOR)
    # then it is a real mismatch: the receipts whose events were delivered are missing there
    assert record.outcome == NationalReconciliation.Outcome.MISMATCHED
    assert (record.count, record.national_count) == (5, 1)
    assert {d["field"] for d in record.differences} == {"count", "blue_count", "red_count", "amount", "digest"}
    assert {(row["receiptCode"], row["number"]) for row in record.missing_national} == {
        (r.receipt_code, r.number) for r in receipts
    }
    assert record.missing_platform == [] and record.hash_mismatches == []
    assert later[0].number not in {row["number"] for row in record.missing_national}
    # when an operator sends the missing receipts' events again
    for receipt in receipts:
        assert receipt_events_resend(receipt_id=receipt.pk, actor=Actor.user("ops")) >= 1
    assert AuditEvent.objects.filter(action="national_event.resend").count() == len(receipts)
    events_sweep()
    # then the day matches, each event stored once
    assert national_reconcile(day=timezone.localdate(), actor=ACTOR).outcome == NationalReconciliation.Outcome.MATCHED
    assert {e["offered"] for e in national.events()} == {1}


def test_a_difference_only_waiting_for_the_outbox_is_pending(
    national: Natsim, unit: Unit, pki: Any, settings: Any
) -> None:
    # given a delivered day, then two receipts whose events have not gone yet
    _receipts_of_today(unit)
    events_sweep()
    waiting = sign(issue(unit, 2, prefix="WAIT"))
    record = national_reconcile(day=timezone.localdate(), actor=ACTOR)
    # then the difference is told apart: the national platform lacks only undelivered receipts
    assert record.outcome == NationalReconciliation.Outcome.PENDING
    assert record.undelivered_events == 2 and record.undelivered_receipts == 2
    assert {row["number"] for row in record.missing_national} == {r.number for r in waiting}
    # and once they are delivered, the day matches
    events_sweep()
    assert national_reconcile(day=timezone.localdate(), actor=ACTOR).outcome == NationalReconciliation.Outcome.MATCHED
    assert NationalReconciliation.objects.count() == 2


def test_a_data_file_changed_after_delivery_is_a_hash_mismatch(national: Natsim, unit: Unit, pki: Any) -> None:
    [receipt] = sign(issue(unit, 1))
    events_sweep()
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    name = receipt.datafile.name
    with receipt.datafile.open("rb") as handle:
        content = handle.read()
    default_storage.delete(name)
    default_storage.save(name, ContentFile(content + b"\n"))
    record = national_reconcile(day=timezone.localdate(), actor=ACTOR)
    assert record.outcome == NationalReconciliation.Outcome.MISMATCHED
    assert [d["field"] for d in record.differences] == ["digest"]
    [row] = record.hash_mismatches
    assert row["number"] == receipt.number and row["dataFileSha256"] != row["nationalSha256"]


def test_the_command_reconciles_a_date_and_fails_on_a_mismatch(national: Natsim, unit: Unit, pki: Any) -> None:
    _receipts_of_today(unit)
    events_sweep()
    out = io.StringIO()
    call_command("national_reconcile", "--date", timezone.localdate().isoformat(), stdout=out)
    assert "一致" in out.getvalue()
    national.purge()
    out = io.StringIO()
    with pytest.raises(CommandError, match="对账不一致"):
        call_command("national_reconcile", "--date", timezone.localdate().isoformat(), stdout=out)
    assert "全国平台缺少" in out.getvalue()
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("national_reconcile", "--date", "2026-13-01")
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(CommandError, match="未来"):
        call_command("national_reconcile", "--date", tomorrow.isoformat())


def test_the_command_says_when_the_national_platform_is_off_or_down(national: Natsim, settings: Any) -> None:
    national.stop()
    try:
        with pytest.raises(CommandError, match="全国平台不可用"):
            call_command("national_reconcile", "--date", "2026-01-02")
    finally:
        national.start()
    settings.EREC_NATIONAL_URL = ""
    with pytest.raises(CommandError, match="EREC_NATIONAL_URL"):
        call_command("national_reconcile", "--date", "2026-01-02")


def test_the_nightly_task_reconciles_yesterday(national: Natsim) -> None:
    assert national_reconcile_yesterday_task() == NationalReconciliation.Outcome.MATCHED
    record = NationalReconciliation.objects.get()
    assert record.day == timezone.localdate() - datetime.timedelta(days=1)
    assert record.count == 0 and record.created_by == "national-reconcile"


def test_only_province_staff_see_the_reconciliations(
    national: Natsim, client: Client, province_admin: Any, city_staff: Any, unit: Unit, pki: Any
) -> None:
    sign(issue(unit, 1))
    with transaction.atomic():
        record = national_reconcile(day=timezone.localdate(), actor=ACTOR)
    url = "/admin/settlement/nationalreconciliation/"
    client.force_login(province_admin)
    page = client.get(url)
    assert page.status_code == 200
    assert [row.pk for row in page.context["cl"].result_list] == [record.pk]
    assert "待推送完成" in page.content.decode()
    assert client.get(f"{url}{record.pk}/change/").status_code == 200
    assert client.post(f"{url}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    client.force_login(city_staff)
    page = client.get(url)
    assert page.status_code == 200 and list(page.context["cl"].result_list) == []
    assert client.get(f"{url}{record.pk}/change/").status_code == 404
    assert NationalEvent.objects.count() == 1
