"""冲红: receipt_red_offset issues a red receipt mirroring the original, once, and marks the original 已冲红."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from lxml import etree

from issuance.jobs import jobs_due, jobs_run
from issuance.models import Receipt, ReceiptJob, SignStatus
from issuance.red_offset import PAPER_OUTSTANDING_MESSAGE, REASON_MAX_LENGTH, receipt_red_offset
from issuance.services import receipt_transition
from issuance.states import ReceiptStatus
from issuance.verifier import receipt_file_verify, trust_from_database
from settlement.selectors import daily_totals
from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import current_code, issue_direct
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Region, Unit
from zhongtai.numbering.models import NumberSequence
from zhongtai.numbering.services import number_range_hand_down, number_range_reserve

ACTOR = Actor.api_client("ak_tests")
REASON = "考试取消，全额退费"


def issue_signed(unit: Unit, capture: Any, payload: dict[str, Any]) -> Receipt:
    """A receipt issued and, after its commit, signed and rendered by the pipeline."""
    with capture(execute=True):
        receipt = issue_direct(unit, payload)
    receipt.refresh_from_db()
    assert receipt.sign_status == SignStatus.SIGNED
    return receipt


def red_offset(receipt: Receipt, capture: Any | None = None, **kwargs: Any) -> tuple[Receipt, bool]:
    """The service as the API calls it; with ``capture`` the red receipt is signed after its commit."""
    arguments: dict[str, Any] = {"reason": REASON, "actor": ACTOR, "source": Receipt.Source.API, **kwargs}
    if capture is None:
        return receipt_red_offset(receipt=receipt, **arguments)
    with capture(execute=True):
        return receipt_red_offset(receipt=receipt, **arguments)


def refused(call: Callable[[], object]) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    return caught.value


def next_number(sandbox: bool = False) -> int:
    return NumberSequence.objects.get(receipt_code=current_code(), sandbox=sandbox).next_number


@pytest.fixture
def original(unit: Unit, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Receipt:
    """A signed non-tax receipt of 55.50 (2 × 10.00 + 1 × 35.50) at issuing point MZ01."""
    return issue_signed(unit, django_capture_on_commit_callbacks, nontax_payload("ORIG1", remark="原备注"))


# --- the red receipt ------------------------------------------------------------------------------


def test_the_red_receipt_mirrors_the_original_with_negative_amounts(original: Receipt) -> None:
    # when the signed receipt is red-offset
    red, created = red_offset(original, bus_no="REFUND1")
    # then a new red receipt names it and reverses it line by line
    assert created
    red = Receipt.objects.select_related("related_receipt").get(pk=red.pk)
    assert (red.is_red, red.related_receipt, red.status) == (True, original, ReceiptStatus.ISSUED)
    assert (red.kind_id, red.unit_id, red.issuing_point_id, red.region_code) == (
        original.kind_id,
        original.unit_id,
        original.issuing_point_id,
        original.region_code,
    )
    for field in ("payer_type", "payer_name", "payer_phone", "payee_name", "pay_mode", "handling_person", "checker"):
        assert getattr(red, field) == getattr(original, field), field
    assert red.total_amount == Decimal("-55.50")
    assert red.total_amount_upper == "负伍拾伍元伍角整"
    lines = [(i.item_code, i.quantity, i.standard, i.amount) for i in red.items.order_by("line_no")]
    assert lines == [
        ("F0001", Decimal("-2"), Decimal("10.00"), Decimal("-20.00")),
        ("F0002", Decimal("-1"), Decimal("35.50"), Decimal("-35.50")),
    ]
    # with a number of its own, the next of the kind's current receipt code
    assert (red.receipt_code, red.number) == (current_code(), original.number + 1)
    assert len(red.check_code) == 6 and red.check_code != original.check_code
    assert (red.bus_no, red.bus_date, red.issue_date) == ("REFUND1", timezone.localdate(), timezone.localdate())
    assert red.remark == (
        f"冲红原票据：票据代码 {original.receipt_code}，票据号码 {original.number_text}。冲红原因：{REASON}"
    )
    assert (red.source, red.issued_by, red.sandbox) == ("api", "ak_tests", False)
    # and the original is 已冲红
    original.refresh_from_db()
    assert original.status == ReceiptStatus.RED_OFFSET


def test_the_medical_split_is_negated_with_the_amounts(
    unit: Unit, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # given a signed outpatient receipt of 25.00 split 15 + 5 + 5
    original = issue_signed(unit, django_capture_on_commit_callbacks, outpatient_payload())
    # when it is red-offset
    red, _ = red_offset(original, django_capture_on_commit_callbacks)
    # then its money fields are negated and add up to the red total; the rest is copied
    assert red.ext == {
        **original.ext,
        "fundPay": "-15.00",
        "personalAccountPay": "-5.00",
        "personalCashPay": "-5.00",
    }
    assert red.ext["visitNumber"] == original.ext["visitNumber"]
    assert sum(Decimal(red.ext[name]) for name in ("fundPay", "personalAccountPay", "personalCashPay")) == (
        red.total_amount
    )
    # and the red data file, split included, is signed like any other
    red.refresh_from_db()
    assert red.sign_status == SignStatus.SIGNED
    assert b"<FundPay>-15.00</FundPay>" in red.datafile.read()


def test_state_change_and_red_receipt_are_audited_together(original: Receipt) -> None:
    red, _ = red_offset(original, bus_no="REFUND1")
    [transition] = AuditEvent.objects.filter(action="receipt.transition")
    assert (transition.object_id, transition.actor) == (str(original.pk), "ak_tests")
    assert transition.data == {"from": "issued", "to": "red_offset", "reason": REASON}
    [event] = AuditEvent.objects.filter(action="receipt.red_offset")
    assert (event.object_type, event.object_id, event.unit_code) == ("receipt", str(red.pk), original.unit.code)
    assert event.data == {
        "receiptCode": red.receipt_code,
        "number": red.number_text,
        "original": {"receiptCode": original.receipt_code, "number": original.number_text},
        "reason": REASON,
        "busNo": "REFUND1",
        "total": "-55.50",
    }


def test_the_red_receipt_is_signed_and_its_files_verify_and_name_the_original(
    original: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    # given a red-offset whose signing outbox row was written with it
    red, _ = red_offset(original)
    assert list(ReceiptJob.objects.filter(receipt=red).values_list("step", "state")) == [("sign", "pending")]
    # when a worker runs the due jobs (the render job it creates runs after its commit)
    with django_capture_on_commit_callbacks(execute=True):
        jobs_run(job_ids=jobs_due())
    red.refresh_from_db()
    # then the red receipt is signed and rendered; both files verify and point at the original
    assert red.sign_status == SignStatus.SIGNED and red.layout_file
    xml = red.datafile.read()
    main = etree.fromstring(xml).find("EInvoiceData/Main")
    assert main is not None
    assert main.findtext("TotalAmount") == "-55.50"
    assert main.findtext("MainExt/RelatedInvoiceCode") == original.receipt_code
    assert main.findtext("MainExt/RelatedInvoiceNumber") == original.number_text
    for content in (xml, red.layout_file.read()):
        verdict = receipt_file_verify(content=content, trust=trust_from_database())
        assert verdict.valid, [check.reason for check in verdict.failures]


def test_red_receipts_count_apart_in_the_daily_reconciliation(original: Receipt, unit: Unit) -> None:
    # given a second receipt of the day, and the first one red-offset
    issue_direct(unit, nontax_payload("ORIG2"))
    red_offset(original)
    # then the day counts two blue receipts and one red one, and nets them
    today = timezone.localdate()
    figures = daily_totals(unit=unit, day=today, basis="issue")
    assert figures["kinds"] == [
        {
            "kindCode": "0101",
            "kindName": "非税收入统一票据",
            "count": 2,
            "amount": "111.00",
            "redCount": 1,
            "redAmount": "-55.50",
        }
    ]
    assert figures["total"]["netAmount"] == "55.50"
    # by business date too: the red receipt's business date is the day of the refund
    assert daily_totals(unit=unit, day=today, basis="business")["total"]["redCount"] == 1


# --- refusals ---------------------------------------------------------------------------------------


def assert_nothing_written(original: Receipt, status: str, numbers: int) -> None:
    """No red receipt, no number used, the original unchanged, nothing audited."""
    assert not Receipt.objects.filter(is_red=True).exists()
    assert Receipt.objects.get(pk=original.pk).status == status
    assert next_number() == numbers
    assert (
        not AuditEvent.objects.filter(action__in=["receipt.red_offset", "receipt.transition"])
        .exclude(data__to=ReceiptStatus.PAPER_CONVERTED)
        .exists()
    )


def test_a_second_red_offset_is_refused_and_names_the_first_red_receipt(original: Receipt) -> None:
    red, _ = red_offset(original, bus_no="FIRST")
    numbers = next_number()
    error = refused(lambda: red_offset(original, reason="再次冲红"))
    assert (error.code, error.status_code) == ("RECEIPT_ALREADY_RED_OFFSET", 409)
    assert error.extra["redReceipt"] == {"receiptCode": red.receipt_code, "receiptNumber": red.number_text}
    assert Receipt.objects.filter(is_red=True).count() == 1
    assert next_number() == numbers
    assert AuditEvent.objects.filter(action="receipt.red_offset").count() == 1


def test_a_receipt_exchanged_for_paper_must_have_its_paper_copy_voided_first(original: Receipt) -> None:
    # given a receipt exchanged for paper
    receipt_transition(receipt=original, target=ReceiptStatus.PAPER_CONVERTED, actor=ACTOR)
    numbers = next_number()
    # then it cannot be red-offset, and the message says what to do
    error = refused(lambda: red_offset(original))
    assert (error.code, error.status_code, error.message) == (
        "RECEIPT_PAPER_OUTSTANDING",
        409,
        "该票据已换开纸质票据，须先收回并作废纸质票据后才能冲红。",
    )
    assert error.message == PAPER_OUTSTANDING_MESSAGE
    assert_nothing_written(original, ReceiptStatus.PAPER_CONVERTED, numbers)
    # but once the paper copy is recovered (back to 正常) it can
    receipt_transition(receipt=original, target=ReceiptStatus.ISSUED, actor=ACTOR, reason="收回纸质票据")
    assert red_offset(original)[1] is True


def test_a_red_receipt_cannot_itself_be_red_offset(original: Receipt) -> None:
    red, _ = red_offset(original)
    Receipt.objects.filter(pk=red.pk).update(sign_status=SignStatus.SIGNED)
    red.refresh_from_db()
    numbers = next_number()
    error = refused(lambda: red_offset(red))
    assert (error.code, error.status_code) == ("RECEIPT_IS_RED", 422)
    assert next_number() == numbers
    assert Receipt.objects.filter(is_red=True).count() == 1


@pytest.mark.parametrize("sign_status", [SignStatus.PENDING, SignStatus.AWAITING_UNIT, SignStatus.FAILED])
def test_an_original_not_fully_signed_is_refused(unit: Unit, sign_status: str) -> None:
    # given a receipt whose data file does not carry both signatures yet
    receipt = issue_direct(unit, nontax_payload())
    Receipt.objects.filter(pk=receipt.pk).update(sign_status=sign_status)
    receipt.refresh_from_db()
    numbers = next_number()
    # then it cannot be red-offset yet
    error = refused(lambda: red_offset(receipt))
    assert (error.code, error.status_code, error.extra["signStatus"]) == ("NOT_SIGNED_YET", 409, sign_status)
    assert_nothing_written(receipt, ReceiptStatus.ISSUED, numbers)


@pytest.mark.parametrize(("receipt_sandbox", "caller_sandbox"), [(False, True), (True, False)])
def test_a_receipt_of_the_other_environment_is_refused(
    original: Receipt, receipt_sandbox: bool, caller_sandbox: bool
) -> None:
    Receipt.objects.filter(pk=original.pk).update(sandbox=receipt_sandbox)
    original.refresh_from_db()
    error = refused(lambda: red_offset(original, sandbox=caller_sandbox))
    assert (error.code, error.status_code, error.extra) == ("SANDBOX_MISMATCH", 409, {"sandbox": receipt_sandbox})
    assert not Receipt.objects.filter(is_red=True).exists()


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "x" * (REASON_MAX_LENGTH + 1), "退费\n重复", "退\t费"],
    ids=["empty", "blank", "too long", "line feed", "tab inside"],
)
def test_an_empty_over_long_or_control_character_reason_is_refused(original: Receipt, reason: str) -> None:
    numbers = next_number()
    error = refused(lambda: red_offset(original, reason=reason))
    assert (error.code, error.status_code) == ("RED_OFFSET_REASON_INVALID", 422)
    assert_nothing_written(original, ReceiptStatus.ISSUED, numbers)


def test_a_reason_of_the_maximum_length_is_taken_trimmed(original: Receipt) -> None:
    red, _ = red_offset(original, reason=" " + "退" * REASON_MAX_LENGTH + " ")
    assert red.remark.endswith("冲红原因：" + "退" * REASON_MAX_LENGTH)
    assert len(red.remark) <= Receipt._meta.get_field("remark").max_length


def test_a_suspended_unit_cannot_red_offset(original: Receipt, unit: Unit) -> None:
    Unit.objects.filter(pk=unit.pk).update(status=Unit.Status.SUSPENDED)
    original = Receipt.objects.get(pk=original.pk)
    error = refused(lambda: red_offset(original))
    assert (error.code, error.status_code) == ("UNIT_INACTIVE", 403)
    assert Receipt.objects.get(pk=original.pk).status == ReceiptStatus.ISSUED


# --- busNo idempotency ------------------------------------------------------------------------------


def test_the_same_bus_no_for_the_same_original_returns_the_same_red_receipt(original: Receipt) -> None:
    first, created = red_offset(original, bus_no="REFUND1")
    numbers = next_number()
    again, created_again = red_offset(original, bus_no="REFUND1", reason="重试")
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert [item.amount for item in again.items.all()] == [Decimal("-20.00"), Decimal("-35.50")]
    assert next_number() == numbers
    assert AuditEvent.objects.filter(action="receipt.red_offset").count() == 1


def test_a_bus_no_used_for_another_red_offset_conflicts(
    original: Receipt, unit: Unit, django_capture_on_commit_callbacks: Any
) -> None:
    first, _ = red_offset(original, bus_no="REFUND1")
    other = issue_signed(unit, django_capture_on_commit_callbacks, nontax_payload("ORIG2"))
    error = refused(lambda: red_offset(other, bus_no="REFUND1"))
    assert (error.code, error.status_code) == ("BUS_NO_CONFLICT", 409)
    assert error.extra == {"busNo": "REFUND1", "receiptCode": first.receipt_code, "receiptNumber": first.number_text}
    assert Receipt.objects.get(pk=other.pk).status == ReceiptStatus.ISSUED


def test_a_bus_no_of_an_issuance_conflicts(original: Receipt) -> None:
    # the unit's busNos are one space: the original's own busNo cannot name its refund
    error = refused(lambda: red_offset(original, bus_no="ORIG1"))
    assert (error.code, error.extra["receiptNumber"]) == ("BUS_NO_CONFLICT", original.number_text)
    assert Receipt.objects.get(pk=original.pk).status == ReceiptStatus.ISSUED


def test_a_malformed_bus_no_is_invalid_input(original: Receipt) -> None:
    error = refused(lambda: red_offset(original, bus_no="退费 1"))
    assert (error.code, list(error.extra["fields"])) == ("INVALID_INPUT", ["busNo"])


def test_without_a_bus_no_a_repeat_is_refused_as_already_red_offset(original: Receipt) -> None:
    red_offset(original)
    assert refused(lambda: red_offset(original)).code == "RECEIPT_ALREADY_RED_OFFSET"


# --- numbering --------------------------------------------------------------------------------------


def test_a_unit_in_range_mode_red_offsets_with_a_number_of_its_range(
    original: Receipt, unit: Unit, province: Region
) -> None:
    # given the unit switched to numbering from a range of 10 handed down to it
    year = timezone.localdate().year
    block = number_range_reserve(kind=original.kind, year=year, count=10, region=province, actor=ACTOR)
    mine = number_range_hand_down(parent_id=block.pk, count=10, to_unit=unit, actor=ACTOR)
    Unit.objects.filter(pk=unit.pk).update(numbering_mode=Unit.NumberingMode.RANGE)
    original = Receipt.objects.select_related("unit").get(pk=original.pk)
    numbers = next_number()
    # when it red-offsets, the red receipt takes the first number of its range, not of the sequence
    red, _ = red_offset(original)
    assert red.number == mine.start_number == original.number + 1
    mine.refresh_from_db()
    assert mine.cursor == mine.start_number + 1
    assert next_number() == numbers


# --- concurrency (PostgreSQL) -------------------------------------------------------------------------


def _race(receipts: list[Receipt], per_receipt: int, **kwargs: Any) -> list[tuple[int, bool | str]]:
    """``per_receipt`` threads red-offset each receipt at once; (original id, created or error code)."""
    results: list[tuple[int, bool | str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(receipts) * per_receipt)

    def worker(receipt: Receipt) -> None:
        try:
            barrier.wait()
            try:
                _, created = receipt_red_offset(
                    receipt=receipt, reason=REASON, actor=ACTOR, source=Receipt.Source.API, **kwargs
                )
                outcome: bool | str = created
            except ApplicationError as error:
                outcome = error.code
            with lock:
                results.append((receipt.pk, outcome))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(r,)) for r in receipts for _ in range(per_receipt)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_red_offsets_of_one_receipt_make_exactly_one_red_receipt(unit: Unit) -> None:
    # given five signed receipts (signing itself is not under test: marked signed)
    receipts = [issue_direct(unit, nontax_payload(f"C{n}")) for n in range(5)]
    Receipt.objects.update(sign_status=SignStatus.SIGNED)
    receipts = list(Receipt.objects.select_related("kind", "unit").order_by("pk"))
    # when four threads red-offset each of them at the same moment
    results = _race(receipts, 4)
    # then each receipt got exactly one red receipt; the others were told it is already red-offset
    assert len(results) == 20
    for receipt in receipts:
        outcomes = sorted(str(outcome) for pk, outcome in results if pk == receipt.pk)
        assert outcomes == ["RECEIPT_ALREADY_RED_OFFSET"] * 3 + ["True"], outcomes
        assert Receipt.objects.filter(related_receipt=receipt).count() == 1
        assert Receipt.objects.get(pk=receipt.pk).status == ReceiptStatus.RED_OFFSET
    # and the red receipts took the next numbers without gap or duplicate
    reds = sorted(Receipt.objects.filter(is_red=True).values_list("number", flat=True))
    assert reds == list(range(6, 11))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_red_offsets_with_one_bus_no_all_get_the_one_red_receipt(unit: Unit) -> None:
    receipt = issue_direct(unit, nontax_payload("C1"))
    Receipt.objects.update(sign_status=SignStatus.SIGNED)
    receipt = Receipt.objects.select_related("kind", "unit").get(pk=receipt.pk)
    results = _race([receipt], 6, bus_no="REFUND-SHARED")
    assert sorted(outcome for _, outcome in results) == [False] * 5 + [True]
    [red] = Receipt.objects.filter(is_red=True)
    assert (red.bus_no, red.related_receipt_id, red.number) == ("REFUND-SHARED", receipt.pk, 2)
