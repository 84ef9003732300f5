"""The joint-test checklist (联调测试检查项) fills itself from the unit's sandbox traffic:
real sandbox credentials, the signed client, the real API views, and the middleware."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from tests.conftest import nontax_payload
from tests.issuance.conftest import BATCH, DAILY, ISSUE, by_bus_no_url, detail_url
from tests.support.api import SignedClient
from tests.zhongtai.onboarding.conftest import login, scope
from zhongtai.audit.models import AuditEvent
from zhongtai.masterdata.models import Unit
from zhongtai.onboarding.models import Application, CheckItem, CheckRecord
from zhongtai.onboarding.services import checklist_record, credential_handover_reveal


def red_offset_url(body: dict[str, Any]) -> str:
    return f"/api/v1/receipts/{body['receiptCode']}/{body['receiptNumber']}/red-offset"


@pytest.fixture
def sandbox(approved_connection: Application, hospital_admin: Any, pki: Any) -> SignedClient:
    """The sandbox credentials of the approved connection, as the unit's system holds them."""
    handover = approved_connection.handover
    secret = credential_handover_reveal(scope=scope(hospital_admin), handover=handover)
    return SignedClient(handover.credential.app_id, secret)


def passed(unit: Unit) -> dict[str, int]:
    return dict(CheckRecord.objects.filter(unit=unit).values_list("item", "count"))


@pytest.mark.django_db
def test_sandbox_traffic_ticks_every_item(
    sandbox: SignedClient, unit: Unit, hospital_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a unit in joint test with nothing passed yet
    assert passed(unit) == {}

    # when its system issues, fetches, batch-issues, red-offsets and reconciles in the sandbox
    with django_capture_on_commit_callbacks(execute=True):
        issued = sandbox.post(ISSUE, nontax_payload("JT0001"))
    assert issued.status_code == 201, issued.json()
    body = issued.json()
    assert passed(unit) == {"issued": 1}
    assert sandbox.get(detail_url(body["receiptCode"], body["receiptNumber"])).status_code == 200
    assert sandbox.get(by_bus_no_url("JT0001")).status_code == 200
    assert passed(unit)["fetched"] == 2
    batch = sandbox.post(BATCH, {"receipts": [nontax_payload("JT0002"), nontax_payload("JT0003")]})
    assert batch.status_code == 200 and batch.json()["created"] == 2
    red = sandbox.post(red_offset_url(body), {"reason": "联调测试冲红"})
    assert red.status_code in (200, 201), red.json()
    daily = sandbox.get(f"{DAILY}?date={timezone.localdate().isoformat()}")
    assert daily.status_code == 200

    # then every checklist item passed, once each (fetched twice)
    assert passed(unit) == {"issued": 1, "fetched": 2, "batch_issued": 1, "red_offset": 1, "reconciled": 1}
    record = CheckRecord.objects.get(unit=unit, item=CheckItem.ISSUED)
    assert record.last_app_id == sandbox.app_id
    # and each first pass is audited once
    assert AuditEvent.objects.filter(action="onboarding.check_pass", unit_code=unit.code).count() == 5

    # and the checklist page shows every item ticked with when it first passed
    page = login(hospital_admin).get("/workbench/checklist/")
    assert page.status_code == 200 and page.context["checklist_complete"]
    html = page.content.decode()
    assert html.count("✔ 已通过") == 5
    assert timezone.localtime(record.first_passed_at).strftime("%Y-%m-%d %H:%M:%S") in html


@pytest.mark.django_db
def test_a_repeat_counts_and_keeps_the_first_time(sandbox: SignedClient, unit: Unit) -> None:
    sandbox.post(ISSUE, nontax_payload("JT0101"))
    first = CheckRecord.objects.get(unit=unit, item=CheckItem.ISSUED)
    sandbox.post(ISSUE, nontax_payload("JT0102"))
    sandbox.post(ISSUE, nontax_payload("JT0101"))  # the same busNo again: 200, the same receipt
    again = CheckRecord.objects.get(unit=unit, item=CheckItem.ISSUED)
    assert again.count == 3
    assert again.first_passed_at == first.first_passed_at
    assert again.last_passed_at >= first.last_passed_at


@pytest.mark.django_db
def test_failed_calls_tick_nothing(sandbox: SignedClient, unit: Unit) -> None:
    # a rule violation (422), a malformed request (400), an unknown receipt (404)
    assert sandbox.post(ISSUE, nontax_payload("JT0201", totalAmount="1.00")).status_code == 422
    assert sandbox.post(ISSUE, {"busNo": "JT0202"}).status_code == 400
    assert sandbox.get(detail_url("43010126", "0000009999")).status_code == 404
    # a batch answers 200 even when every receipt in it failed: that is not a passed batch
    batch = sandbox.post(BATCH, {"receipts": [nontax_payload("JT0203", totalAmount="1.00")]})
    assert batch.status_code == 200 and batch.json()["failed"] == 1
    assert passed(unit) == {}


@pytest.mark.django_db
def test_production_traffic_ticks_nothing(api: SignedClient, unit: Unit, pki: Any) -> None:
    # given the unit's production credentials (the api fixture)
    assert api.post(ISSUE, nontax_payload("PROD0001")).status_code == 201
    assert api.get(by_bus_no_url("PROD0001")).status_code == 200
    assert passed(unit) == {}


@pytest.mark.django_db
def test_recording_never_breaks_the_api_answer(
    sandbox: SignedClient, unit: Unit, caplog: pytest.LogCaptureFixture
) -> None:
    # given the checklist table gone (rolled back with the test)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(CheckRecord._meta.db_table)}")

    # when the unit's system issues in the sandbox
    with caplog.at_level(logging.ERROR, logger="zhongtai.onboarding.middleware"):
        response = sandbox.post(ISSUE, nontax_payload("JT0301"))

    # then the receipt is issued all the same, and the failure is logged
    assert response.status_code == 201, response.content
    assert response.json()["busNo"] == "JT0301"
    assert any("joint-test checklist" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_other_units_and_bureaus_see_the_checklist_only_in_scope(
    sandbox: SignedClient, unit: Unit, city_staff: Any, zhuzhou_staff: Any, auditor: Any, unit_admin: Any
) -> None:
    sandbox.post(ISSUE, nontax_payload("JT0401"))
    for user in (city_staff, auditor):
        page = login(user).get(f"/workbench/units/{unit.pk}/")
        assert page.status_code == 200
        assert [row.passed for row in page.context["checklist"]] == [True, False, False, False, False]
    assert login(zhuzhou_staff).get(f"/workbench/units/{unit.pk}/").status_code == 404
    assert login(unit_admin).get(f"/workbench/units/{unit.pk}/").status_code == 404
    # a bureau user has no checklist of their own
    assert login(city_staff).get("/workbench/checklist/").status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_lose_no_count(unit: Unit) -> None:
    # given 8 threads, each with its own database connection, recording the same item at once
    threads, per_thread = 8, 10
    barrier = threading.Barrier(threads)
    firsts: list[bool] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                firsts.append(checklist_record(unit=unit, item=CheckItem.ISSUED, app_id="ak_sandbox"))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    # then every call counted, exactly one was the first, and it was audited once
    assert not errors, errors
    assert CheckRecord.objects.get(unit=unit, item=CheckItem.ISSUED).count == threads * per_thread
    assert firsts.count(True) == 1
    assert AuditEvent.objects.filter(action="onboarding.check_pass").count() == 1
