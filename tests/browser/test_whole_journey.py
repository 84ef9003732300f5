"""The whole journey of a receipt with real processes (issue #5).

An interface unit issues receipts through the signed API of a running server (pytest-django's
live server, on PostgreSQL); a real Celery worker signs them and pushes their events to the
real national platform simulator, which fails half of its requests (first storing the events
and losing the answer, then storing nothing). The worker is killed (SIGKILL) in the middle of a
delivery and another one takes over with the sweeper's help. Chromium opens a receipt's QR link
and sees it genuine; a reimbursing party verifies and enters it (a second entry, and another
party's claim beyond the remainder, are refused); the unit red-offsets it, and the party's own
HTTP receiver gets one validly signed ``receipt.red_offset`` callback (after a failed first
call) while the bureau gets its alert. In the end the simulator holds every event of every
receipt exactly once, in ``seq`` order, and nothing is lost, duplicated or dead.
"""

from __future__ import annotations

import datetime
import os
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from issuance.models import Receipt, SignStatus
from issuance.tasks import receipt_jobs_sweep_task
from tests.conftest import nontax_payload, outpatient_payload
from tests.support.api import SignedClient
from tests.support.browser import qr_path
from tests.support.journey import LiveApi, webhook_receiver
from tests.support.natsim import Natsim
from tests.support.parties import make_party
from tests.support.processes import celery_worker, national_workers, wait_until
from verification.models import PartyCredential, ReimbursingParty
from verification.services import party_credential_create
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.national.models import NationalEvent
from zhongtai.national.tasks import national_events_sweep_task
from zhongtai.webhooks.models import DeliveryStatus, RedOffsetAlert, WebhookDelivery
from zhongtai.webhooks.tasks import webhooks_sweep_task

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

BATCH = 20
SEED = 20261127
# Each request to the simulator takes this long until the worker is killed: long enough to be
# sure the kill lands while a request is on its way, not between two.
SLOW_MS = 1500
ACTOR = Actor.system("tests")
_Sent = NationalEvent.State


@pytest.fixture
def platform(tmp_path: Path, natsim: Natsim, pki: dict[str, Any]) -> Iterator[dict[str, str]]:
    """The live server and the workers share files and the broker, and push to the simulator.

    Returns the workers' environment (tests.support.processes.national_workers).
    """
    # The cache and the broker share the test Redis database: clearing it drops captchas and
    # rate-limit counters and any message an earlier run left behind.
    cache.clear()
    try:
        with national_workers(tmp_path, natsim, pki) as env:
            yield {**env, "EREC_SIGN_IN_REQUEST": "false"}
    finally:
        cache.clear()


def _party(name: str, party_type: str, first17: str, base_url: str) -> tuple[ReimbursingParty, LiveApi]:
    """A reimbursing party and its signed client (an ``entry`` credential) on the live server."""
    party = make_party(name, party_type, first17)
    issued = party_credential_create(party=party, actor=ACTOR, scope=PartyCredential.Scope.ENTRY)
    return party, LiveApi(base_url, issued.credential.app_id, issued.secret)


def _entry(receipt: Receipt, amount: str, reference: str) -> dict[str, str]:
    return {
        "checkCode": receipt.check_code,
        "kind": "reimbursement",
        "amount": amount,
        "entryDate": receipt.issue_date.isoformat(),
        "reference": reference,
    }


def _sweep() -> None:
    """What beat does (every 30 s and 60 s), with the retries' backoff over: the clock moved on."""
    receipt_jobs_sweep_task()
    now = timezone.now()
    NationalEvent.objects.filter(state=_Sent.PENDING).update(available_at=now)
    national_events_sweep_task()
    WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED).update(next_attempt_at=now)
    webhooks_sweep_task()


def _swept(check: Callable[[], bool]) -> Callable[[], bool]:
    def sweep_then_check() -> bool:
        _sweep()
        return check()

    return sweep_then_check


def _all_signed() -> bool:
    return not Receipt.objects.exclude(sign_status=SignStatus.SIGNED).exists()


def _all_delivered() -> bool:
    return not NationalEvent.objects.exclude(state=_Sent.DELIVERED).exists()


def test_issue_verify_reimburse_red_offset_with_a_failing_platform_and_a_killed_worker(
    page: Page,
    console_errors: list[str],
    live_server: Any,
    api: SignedClient,
    natsim: Natsim,
    platform: dict[str, str],
) -> None:
    unit_api = LiveApi(live_server.url, api.app_id, api.secret)

    # 1. Given a simulator that fails half of the requests (storing the events, then losing the
    # answer) and answers slowly, when the unit issues a batch and a single receipt through the
    # API and a worker signs and pushes them, and is killed (SIGKILL) while a request is out
    natsim.control(failRate=0.5, failMode="drop_answer", delayMs=SLOW_MS, seed=SEED)
    with celery_worker("journey-doomed", **platform) as doomed:
        batch = unit_api.post(
            "/api/v1/receipts/batch", {"receipts": [nontax_payload(f"JB{n:02d}") for n in range(BATCH)]}
        )
        assert batch.status == 200, batch.body
        assert batch.body["created"] == BATCH
        single = unit_api.post("/api/v1/receipts/issue", outpatient_payload("JS01"))
        assert single.status == 201, single.body
        assert single.body["signStatus"] == SignStatus.PENDING  # the workers sign, not the request
        assert wait_until(lambda: NationalEvent.objects.filter(state=_Sent.SENDING).exists(), interval=0.05)
        time.sleep(0.3)  # the claim is taken and the payload built: the request is on its way
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    in_flight = set(
        NationalEvent.objects.filter(state=_Sent.SENDING).values_list("receipt__receipt_code", "receipt__number", "seq")
    )
    assert in_flight, "the worker was not delivering when it was killed"
    assert not _all_delivered()
    # the simulator stored what the dead worker sent: its answer is lost with the worker
    assert wait_until(lambda: in_flight <= {(e["receiptCode"], e["number"], e["seq"]) for e in natsim.events()})

    # 2. When the simulator fails differently now (storing nothing) and another worker takes
    # over with the sweeper, every receipt gets signed
    natsim.control(failMode="error", delayMs=100)
    with celery_worker("journey-survivor", **platform), webhook_receiver() as receiver:
        assert wait_until(_swept(_all_signed), timeout=60, interval=1)
        receipt = Receipt.objects.get(bus_no="JS01")

        # 3. Then Chromium opens the receipt's QR link and sees it genuine, at once (no captcha)
        response = page.goto(qr_path(receipt))
        assert response is not None and response.status == 200
        assert page.get_by_role("heading", name="查验通过：该票据为真").is_visible()
        facts = page.locator("dl.facts").inner_text()
        assert receipt.number_text in facts and "25.00" in facts and "李*" in facts
        assert page.locator(".statuses .badge").inner_text() == "正常"
        assert console_errors == []

        # 4. A party with a callback address verifies the receipt through its API and enters it
        insurance, insurance_api = _party(
            "湖南省医疗保障局", ReimbursingParty.PartyType.MEDICAL_INSURANCE, "11430000MB1E6F7H8", live_server.url
        )
        _, insurer_api = _party(
            "中国人寿湖南分公司", ReimbursingParty.PartyType.COMMERCIAL_INSURANCE, "91430000MA4J9K1L2", live_server.url
        )
        registered = insurance_api.put("/api/v1/public/webhook", {"url": receiver.url})
        assert registered.status == 201, registered.body
        receiver.secret = registered.body["secret"]
        path = f"/api/v1/public/receipts/{receipt.receipt_code}/{receipt.number_text}"
        verified = insurance_api.get(f"{path}?checkCode={receipt.check_code}")
        assert verified.status == 200, verified.body
        assert verified.body["genuine"] is True and verified.body["status"] == "issued"
        assert verified.body["remainingAmount"] == "25.00" and verified.body["entries"] == []
        entered = insurance_api.post(f"{path}/entries", _entry(receipt, "15.00", "YB-2026-0001"))
        assert entered.status == 201, entered.body
        entry_id = entered.body["entry"]["entryId"]
        assert entered.body["remainingAmount"] == "10.00"
        # a second entry by the same party is refused, naming the first
        again = insurance_api.post(f"{path}/entries", _entry(receipt, "5.00", "YB-2026-0002"))
        assert again.status == 409 and again.body["code"] == "ENTRY_DUPLICATE", again.body
        assert again.body["extra"]["entryId"] == entry_id and again.body["extra"]["amount"] == "15.00"
        assert "本单位已于" in again.body["message"] and "15.00 元" in again.body["message"]
        # and another party claiming more than remains is refused, naming who claimed it
        over = insurer_api.post(f"{path}/entries", _entry(receipt, "12.00", "RS-2026-0001"))
        assert over.status == 409 and over.body["code"] == "ENTRY_EXCEEDS_REMAINING", over.body
        assert over.body["extra"]["remainingAmount"] == "10.00"
        assert [c["partyName"] for c in over.body["extra"]["claimedBy"]] == [insurance.name]
        assert insurance.name in over.body["message"]

        # 5. When the unit red-offsets it, and the party's receiver fails the first call
        receiver.answer_with(503)
        red = unit_api.post(
            f"/api/v1/receipts/{receipt.receipt_code}/{receipt.number_text}/red-offset",
            {"reason": "患者退费", "busNo": "JR01"},
        )
        assert red.status == 201, red.body
        assert red.body["isRed"] is True and red.body["totalAmount"] == "-25.00"

        def finished() -> bool:
            delivered = WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).exists()
            return _all_signed() and _all_delivered() and delivered

        assert wait_until(_swept(finished), timeout=90, interval=1)

    # Then the party got exactly one event, validly signed, though it was called twice
    assert all(call.signature_valid for call in receiver.calls)
    assert [call.answered for call in receiver.calls] == [503, 200]
    assert [call.headers["X-Erec-Attempt"] for call in receiver.calls] == ["1", "2"]
    assert len({call.headers["X-Erec-Event-Id"] for call in receiver.calls}) == 1
    assert len(receiver.events) == 1
    event = next(iter(receiver.events.values()))
    assert event["type"] == "receipt.red_offset"
    data = event["data"]
    assert (data["receiptCode"], data["receiptNumber"]) == (receipt.receipt_code, receipt.number_text)
    assert (data["redReceiptCode"], data["redReceiptNumber"]) == (red.body["receiptCode"], red.body["receiptNumber"])
    assert data["reason"] == "患者退费"
    assert [(e["entryId"], e["amount"], e["reference"]) for e in data["entries"]] == [
        (entry_id, "15.00", "YB-2026-0001")
    ]
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED
    # and the bureau has its alert for the red-offset of a reimbursed receipt
    alert = RedOffsetAlert.objects.get()
    red_receipt = Receipt.objects.get(bus_no="JR01")
    assert (alert.receipt_id, alert.red_receipt_id) == (receipt.pk, red_receipt.pk)
    assert alert.claimed_amount == Decimal("15.00")
    assert alert.state == RedOffsetAlert.State.OPEN
    assert [e["partyName"] for e in alert.entries] == [insurance.name]

    # and the simulator holds every event of every receipt exactly once, in seq order
    _assert_national_exactly_once(natsim, receipt=receipt, red_receipt=red_receipt)
    # and the killed worker's receipts were signed once each
    assert Receipt.objects.count() == BATCH + 2
    assert AuditEvent.objects.filter(action="receipt.sign").count() == BATCH + 2
    assert not AuditEvent.objects.filter(action__in=["national_event.dead", "webhook.dead"]).exists()


def _assert_national_exactly_once(natsim: Natsim, *, receipt: Receipt, red_receipt: Receipt) -> None:
    ours = list(NationalEvent.objects.values_list("receipt__receipt_code", "receipt__number", "seq", "type", "state"))
    assert len(ours) == BATCH + 4  # every issued, and the single's entered and red_offset
    assert {state for *_, state in ours} == {_Sent.DELIVERED}  # none dead, none waiting
    stored = natsim.events()
    held = Counter((e["receiptCode"], e["number"], e["seq"], e["type"]) for e in stored)
    assert set(held) == {(code, number, seq, kind) for code, number, seq, kind, _ in ours}
    assert set(held.values()) == {1}
    by_receipt: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for stored_event in stored:
        by_receipt[(stored_event["receiptCode"], stored_event["number"])].append(stored_event)
    for events in by_receipt.values():
        events.sort(key=lambda e: e["seq"])
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        received = [datetime.datetime.fromisoformat(e["receivedAt"]) for e in events]
        assert received == sorted(received), "a receipt's events arrived out of order"
    original = by_receipt[(receipt.receipt_code, receipt.number)]
    assert [e["type"] for e in original] == ["issued", "entered", "red_offset"]
    assert original[1]["data"]["amount"] == "15.00"
    assert (original[2]["data"]["redCode"], original[2]["data"]["redNumber"]) == (
        red_receipt.receipt_code,
        red_receipt.number,
    )
    assert [e["type"] for e in by_receipt[(red_receipt.receipt_code, red_receipt.number)]] == ["issued"]
    # it failed requests, was offered some events again (lost answers, the killed worker) and
    # answered those duplicate: stored once each
    counters = natsim.stats()["counters"]
    assert counters["failuresInjected"] > 0
    assert counters["duplicates"] > 0
    assert counters["accepted"] == len(stored) == len(ours)
    assert counters["rejected"] == 0
    assert sum(e["offered"] for e in stored) == counters["accepted"] + counters["duplicates"]
    assert NationalEvent.objects.filter(attempts__gt=1).exists()
