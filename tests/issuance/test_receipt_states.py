"""The receipt status state machine (issuance.states) and receipt_transition."""

from __future__ import annotations

import pytest

from issuance.models import Receipt
from issuance.services import receipt_transition
from issuance.states import TRANSITIONS, ReceiptStatus, can_transition
from tests.conftest import nontax_payload
from tests.issuance.conftest import issue_direct
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit

ISSUED, PAPER, RED = ReceiptStatus.ISSUED, ReceiptStatus.PAPER_CONVERTED, ReceiptStatus.RED_OFFSET
ALLOWED = {(ISSUED, RED), (ISSUED, PAPER), (PAPER, ISSUED)}
ACTOR = Actor.user("clerk01")


@pytest.fixture
def receipt(unit: Unit) -> Receipt:
    return issue_direct(unit, nontax_payload())


def receipt_in(receipt: Receipt, status: str) -> Receipt:
    Receipt.objects.filter(pk=receipt.pk).update(status=status)
    receipt.refresh_from_db()
    return receipt


def transition_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="receipt.transition"))


@pytest.mark.parametrize(("current", "target"), [(c, t) for c in ReceiptStatus for t in ReceiptStatus])
def test_transition_table_allows_exactly_the_documented_moves(current: str, target: str) -> None:
    assert can_transition(current, target) is ((current, target) in ALLOWED)


def test_every_status_has_an_entry_in_the_table() -> None:
    assert set(TRANSITIONS) == set(ReceiptStatus)


def test_unknown_status_allows_nothing() -> None:
    assert not can_transition("voided", ISSUED)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transition_changes_the_status_and_writes_one_audit_row(
    receipt: Receipt, current: str, target: str
) -> None:
    # given a receipt in ``current``
    receipt_in(receipt, current)
    # when moved to ``target``
    moved = receipt_transition(receipt=receipt, target=target, actor=ACTOR, reason="退费")
    # then it is in ``target``, in the database too, and the change is audited
    assert moved.status == target
    assert Receipt.objects.get(pk=receipt.pk).status == target
    [event] = transition_events()
    assert (event.actor_type, event.actor) == (AuditEvent.ActorType.USER, "clerk01")
    assert (event.object_type, event.object_id) == ("receipt", str(receipt.pk))
    assert event.unit_code == receipt.unit.code
    assert event.region_code == receipt.region_code
    assert event.data == {"from": current, "to": target, "reason": "退费"}


@pytest.mark.parametrize(
    ("current", "target"),
    [(c, t) for c in ReceiptStatus for t in ReceiptStatus if (c, t) not in ALLOWED],
)
def test_refused_transition_raises_409_and_changes_nothing(receipt: Receipt, current: str, target: str) -> None:
    receipt_in(receipt, current)
    with pytest.raises(ApplicationError) as refused:
        receipt_transition(receipt=receipt, target=target, actor=ACTOR)
    assert refused.value.code == "TRANSITION_NOT_ALLOWED"
    assert refused.value.status_code == 409
    assert refused.value.extra == {"from": current, "to": target}
    assert Receipt.objects.get(pk=receipt.pk).status == current
    assert transition_events() == []


def test_red_offset_receipt_cannot_be_red_offset_again(receipt: Receipt) -> None:
    receipt_transition(receipt=receipt, target=RED, actor=ACTOR)
    with pytest.raises(ApplicationError, match="已冲红"):
        receipt_transition(receipt=receipt, target=RED, actor=ACTOR)
    assert len(transition_events()) == 1


def test_paper_copy_must_be_recovered_before_a_red_offset(receipt: Receipt) -> None:
    # given a receipt exchanged for paper
    receipt_transition(receipt=receipt, target=PAPER, actor=ACTOR)
    # then it cannot be red-offset directly
    with pytest.raises(ApplicationError):
        receipt_transition(receipt=receipt, target=RED, actor=ACTOR)
    # but once the paper copy is recovered (back to issued) it can
    receipt_transition(receipt=receipt, target=ISSUED, actor=ACTOR, reason="收回纸质票据")
    assert receipt_transition(receipt=receipt, target=RED, actor=ACTOR).status == RED
    assert [e.data["to"] for e in reversed(transition_events())] == [PAPER, ISSUED, RED]


def test_transition_checks_the_stored_status_not_a_stale_copy(receipt: Receipt) -> None:
    # given a copy loaded before another process red-offset the receipt
    stale = Receipt.objects.get(pk=receipt.pk)
    receipt_transition(receipt=receipt, target=RED, actor=ACTOR)
    assert stale.status == ISSUED
    # when the stale copy asks for a paper conversion
    with pytest.raises(ApplicationError) as refused:
        receipt_transition(receipt=stale, target=PAPER, actor=ACTOR)
    # then the stored status decides
    assert refused.value.extra == {"from": RED, "to": PAPER}
