"""Writes of public verification: parties and credentials, entries, the verification counter.

Every state change writes its audit row in the same transaction. Entries are recorded and
cancelled under the receipt's row lock (verification/locks.py), with the receipt's ledger
updated in the same transaction: the ledger's check constraint guarantees in the database
that the active entries of a receipt never claim more than its total, and a partial unique
constraint that one party holds at most one active entry per receipt.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

from issuance.jobs import receipt_step_run_now
from issuance.models import Receipt, ReceiptJob, SignStatus
from issuance.states import ReceiptStatus
from verification.errors import VerificationError
from verification.locks import entry_locked, ledger_locked, receipt_locked
from verification.models import PartyCredential, ReceiptEntry, ReceiptLedger, ReimbursingParty, VerificationCounter
from verification.selectors import _answer_receipt, elements_accepted, receipt_active_entries, receipt_find_by_elements
from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError, CommonError
from zhongtai.core.money import FEN
from zhongtai.gateway.crypto import secret_encrypt
from zhongtai.national import services as national

CANCEL_REASON_MAX = 200
_PARTY_FIELDS = ("name", "party_type", "credit_code", "contact_person", "contact_phone", "contact_email", "status")


def _beijing(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def _money(value: Decimal) -> str:
    return format(Decimal(value).quantize(FEN), "f")


# --- parties and credentials ----------------------------------------------------------------


def _party_validated(party: ReimbursingParty) -> None:
    try:
        party.full_clean()
    except ValidationError as exc:
        fields = {name: "；".join(str(m) for m in messages) for name, messages in exc.message_dict.items()}
        raise ApplicationError(
            VerificationError.PARTY_INVALID, "报销/入账单位信息校验未通过。", {"fields": fields}
        ) from None


def party_create(
    *,
    name: str,
    party_type: str,
    credit_code: str,
    actor: Actor,
    contact_person: str = "",
    contact_phone: str = "",
    contact_email: str = "",
) -> ReimbursingParty:
    """A new reimbursing party (报销/入账单位); its credit code is validated like units'."""
    party = ReimbursingParty(
        name=name.strip(),
        party_type=party_type,
        credit_code=credit_code.strip().upper(),
        contact_person=contact_person.strip(),
        contact_phone=contact_phone.strip(),
        contact_email=contact_email.strip(),
    )
    _party_validated(party)
    with transaction.atomic():
        party.save()
        audit_record(
            actor=actor,
            action="party.create",
            object_type="reimbursing_party",
            object_id=party.pk,
            data={"name": party.name, "partyType": party.party_type, "creditCode": party.credit_code},
        )
    return party


def party_update(*, party: ReimbursingParty, changes: dict[str, Any], actor: Actor) -> ReimbursingParty:
    """Change a party's fields (name, type, credit code, contacts, status), validated and audited."""
    unknown = set(changes) - set(_PARTY_FIELDS)
    if unknown:
        raise ApplicationError(
            CommonError.INVALID_INPUT, "未知字段。", {"fields": {name: "未知字段。" for name in unknown}}
        )
    with transaction.atomic():
        current = ReimbursingParty.objects.select_for_update().get(pk=party.pk)
        before = {name: getattr(current, name) for name in changes}
        for name, value in changes.items():
            setattr(current, name, value)
        _party_validated(current)
        current.save()
        after = {name: getattr(current, name) for name in changes}
        audit_record(
            actor=actor,
            action="party.update",
            object_type="reimbursing_party",
            object_id=current.pk,
            data={"before": before, "after": after},
        )
    return current


@dataclass(frozen=True)
class IssuedPartyCredential:
    credential: PartyCredential
    secret: str  # shown once, never stored in clear


def party_credential_create(
    *,
    party: ReimbursingParty,
    actor: Actor,
    label: str = "",
    scope: str = PartyCredential.Scope.ENTRY,
    app_id: str | None = None,
    secret: str | None = None,
) -> IssuedPartyCredential:
    """New credentials for a party (app id ``pk…`` and a random secret). ``app_id``/``secret`` for demo data only."""
    if scope not in PartyCredential.Scope.values:
        raise ApplicationError(
            CommonError.INVALID_INPUT, "未知的权限范围。", {"fields": {"scope": "应为 entry 或 read。"}}
        )
    app_id = app_id or "pk" + secrets.token_hex(10)
    secret = secret or secrets.token_urlsafe(32)
    with transaction.atomic():
        credential = PartyCredential.objects.create(
            party=party,
            app_id=app_id,
            secret_encrypted=secret_encrypt(secret),
            label=label,
            scope=scope,
            created_by=actor.name,
        )
        audit_record(
            actor=actor,
            action="party_credential.create",
            object_type="party_credential",
            object_id=app_id,
            data={"party": party.pk, "partyName": party.name, "scope": scope, "label": label},
        )
    return IssuedPartyCredential(credential=credential, secret=secret)


def party_credential_revoke(*, credential: PartyCredential, actor: Actor) -> PartyCredential:
    """Revoke a credential at once (idempotent); its signed requests are refused from then on."""
    with transaction.atomic():
        updated = PartyCredential.objects.filter(pk=credential.pk, status=PartyCredential.Status.ACTIVE).update(
            status=PartyCredential.Status.REVOKED, revoked_at=timezone.now(), revoked_by=actor.name
        )
        if updated:
            audit_record(
                actor=actor,
                action="party_credential.revoke",
                object_type="party_credential",
                object_id=credential.app_id,
                data={"party": credential.party_id},
            )
    credential.refresh_from_db()
    return credential


# --- the verification counter -----------------------------------------------------------------


def verification_count_increment(*, receipt: Receipt) -> int:
    """Count one verification of ``receipt`` (atomic across hosts); the count including this one.

    A statistic, not a state of the receipt: no audit row (there would be one per public
    check). One statement, ``INSERT … ON CONFLICT DO UPDATE SET count = count + 1 RETURNING
    count``: the first check of a receipt creates its row, every later one adds one under the
    row's lock, and the count returned is this increment's — one round trip, on PostgreSQL and
    on SQLite (3.35+) alike.

    On PostgreSQL, outside a caller's transaction, the statement goes in the same message as
    ``SET LOCAL synchronous_commit TO OFF``: the increment commits at once, atomically and
    visible to everyone, without waiting for its WAL to reach the disk (3-4 ms here, most of a
    verification's time). Only a crash of the database server itself can lose the increments
    of its last moments (at most 3 × ``wal_writer_delay``, 600 ms by default); the database
    stays consistent and nothing else is affected. docs/verification.md explains the choice.
    Inside a caller's transaction the setting would apply to all of it, so it is left alone.
    """
    now = timezone.now()
    connection = connections[router.db_for_write(VerificationCounter)]
    table = connection.ops.quote_name(VerificationCounter._meta.db_table)
    sql = (
        f"INSERT INTO {table} (receipt_id, count, last_verified_at) VALUES (%s, 1, %s) "
        f"ON CONFLICT (receipt_id) DO UPDATE SET count = {table}.count + 1, "
        "last_verified_at = excluded.last_verified_at RETURNING count"
    )
    relaxed = (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        # Two statements in one message need client-side binding (Django's default cursor).
        and not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
    )
    with connection.cursor() as cursor:
        if relaxed:
            # One simple-protocol message: PostgreSQL runs both statements as one implicit
            # transaction, so SET LOCAL covers exactly this increment.
            cursor.execute("SET LOCAL synchronous_commit TO OFF; " + sql, [receipt.pk, now])
            cursor.nextset()
        else:
            cursor.execute(sql, [receipt.pk, connection.ops.adapt_datetimefield_value(now)])
        return int(cursor.fetchone()[0])


def receipt_verify_counted(*, receipt_code: str, number: int, check_code: str) -> tuple[Receipt, int] | None:
    """The receipt these elements name (:func:`receipt_find_by_elements`) and its verification counted.

    None when the elements name no receipt the public may see; then nothing is counted. On
    PostgreSQL the receipt's query and the increment are one statement (a data-modifying
    CTE, verification/selectors.py ``_counted_answer_sql``): one round trip fewer per
    verification, the same count, and the same relaxed commit as
    :func:`verification_count_increment` outside a caller's transaction. Elsewhere (SQLite)
    the two statements run one after the other.
    """
    if connections[router.db_for_write(VerificationCounter)].vendor != "postgresql":
        receipt = receipt_find_by_elements(receipt_code=receipt_code, number=number, check_code=check_code)
        return None if receipt is None else (receipt, verification_count_increment(receipt=receipt))
    candidate = _answer_receipt(receipt_code=receipt_code, number=number, counted_check_code=check_code)
    receipt = elements_accepted(candidate, check_code=check_code)
    if receipt is None:
        return None
    count = receipt.verification_count
    if count is None:
        # The statement counts under the conditions elements_accepted checks, so this is not
        # expected; should the two ever disagree, the plain increment keeps the count exact.
        return receipt, verification_count_increment(receipt=receipt)
    return receipt, int(count)


# --- files ---------------------------------------------------------------------------------


def receipt_layout_file_content(*, receipt: Receipt) -> bytes | None:
    """The layout file (PDF); rendered now if no worker made it yet (the pipeline's own step, run once).

    None while another process is rendering it.
    """
    if not receipt.layout_file:
        receipt_step_run_now(receipt=receipt, step=ReceiptJob.Step.RENDER)
        receipt.refresh_from_db(fields=["layout_file"])
    if not receipt.layout_file:
        return None
    with receipt.layout_file.open("rb") as handle:
        return handle.read()


# --- entries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryOutcome:
    """An entry after a change, with its receipt's ledger as that change left it."""

    entry: ReceiptEntry
    total_amount: Decimal
    claimed_amount: Decimal

    @property
    def remaining_amount(self) -> Decimal:
        return self.total_amount - self.claimed_amount


def _claim_text(entry: ReceiptEntry) -> str:
    return f"{entry.party.name}已于 {_beijing(entry.entered_at)} {entry.get_kind_display()} {_money(entry.amount)} 元"


def _claim_extra(entry: ReceiptEntry) -> dict[str, Any]:
    return {
        "partyName": entry.party.name,
        "partyType": entry.party.party_type,
        "kind": entry.kind,
        "amount": _money(entry.amount),
        "entryDate": entry.entry_date.isoformat(),
        "enteredAt": timezone.localtime(entry.entered_at).isoformat(),
    }


def _duplicate_error(first: ReceiptEntry) -> ApplicationError:
    return ApplicationError(
        VerificationError.ENTRY_DUPLICATE,
        f"本单位已于 {_beijing(first.entered_at)} 对该票据登记{first.get_kind_display()} "
        f"{_money(first.amount)} 元（记录编号 {first.pk}），同一票据不能重复登记；如需更正，请先撤销该记录。",
        {"entryId": first.pk, "reference": first.reference, **_claim_extra(first)},
        status=409,
    )


def _exceeds_error(*, ledger: ReceiptLedger, amount: Decimal, claims: list[ReceiptEntry]) -> ApplicationError:
    remaining = ledger.remaining_amount
    if claims:
        who = "；".join(_claim_text(entry) for entry in claims)
        message = f"该票据剩余可报销/入账金额为 {_money(remaining)} 元，不足本次 {_money(amount)} 元：{who}。"
    else:
        message = f"本次金额 {_money(amount)} 元超过票据金额 {_money(ledger.total_amount)} 元。"
    return ApplicationError(
        VerificationError.ENTRY_EXCEEDS_REMAINING,
        message,
        {
            "requestedAmount": _money(amount),
            "totalAmount": _money(ledger.total_amount),
            "claimedAmount": _money(ledger.claimed_amount),
            "remainingAmount": _money(remaining),
            "claimedBy": [_claim_extra(entry) for entry in claims],
        },
        status=409,
    )


def _check_enterable(receipt: Receipt) -> None:
    if receipt.sandbox or receipt.sign_status != SignStatus.SIGNED:
        raise ApplicationError(VerificationError.NO_SUCH_RECEIPT, "查无此票。", status=404)
    if receipt.is_red or receipt.status == ReceiptStatus.RED_OFFSET:
        what = "红字票据" if receipt.is_red else "已冲红的票据"
        raise ApplicationError(
            VerificationError.ENTRY_RECEIPT_RED_OFFSET,
            f"{what}不能报销或入账。",
            {"status": receipt.status, "isRed": receipt.is_red},
            status=409,
        )


def _check_entry_date(receipt: Receipt, entry_date: datetime.date) -> None:
    today = timezone.localdate()
    if entry_date > today or entry_date < receipt.issue_date:
        raise ApplicationError(
            VerificationError.ENTRY_DATE_INVALID,
            f"报销/入账日期应在开票日期 {receipt.issue_date:%Y-%m-%d} 与今天 {today:%Y-%m-%d} 之间。",
            {"issueDate": receipt.issue_date.isoformat(), "today": today.isoformat()},
            status=422,
        )


def entry_record(
    *,
    party: ReimbursingParty,
    receipt: Receipt,
    kind: str,
    amount: Decimal,
    entry_date: datetime.date,
    reference: str,
    actor: Actor,
) -> EntryOutcome:
    """Record that ``party`` reimbursed (报销) or booked (入账) ``amount`` of ``receipt``.

    Refused: a red-offset or red receipt; a second active entry of the same party (naming the
    first); an amount above what remains (naming who claimed the rest, first claim first).
    Two parties claiming the last amount at the same moment queue on the receipt's row: the
    second sees the first's entry and is refused.
    """
    if kind not in ReceiptEntry.Kind.values:
        raise ApplicationError(CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": {"kind": "类型无效。"}})
    if amount <= 0 or amount != amount.quantize(FEN):
        fields = {"amount": "金额应大于 0，最多两位小数。"}
        raise ApplicationError(CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": fields})
    with transaction.atomic():
        locked = receipt_locked(receipt_id=receipt.pk)
        _check_enterable(locked)
        _check_entry_date(locked, entry_date)
        active = list(receipt_active_entries(receipt=locked))
        mine = next((entry for entry in active if entry.party_id == party.pk), None)
        if mine is not None:
            raise _duplicate_error(mine)
        ledger = ledger_locked(receipt=locked)
        if amount > ledger.remaining_amount:
            raise _exceeds_error(ledger=ledger, amount=amount, claims=active)
        try:
            with transaction.atomic():
                entry = ReceiptEntry.objects.create(
                    receipt=locked,
                    party=party,
                    kind=kind,
                    amount=amount,
                    entry_date=entry_date,
                    reference=reference.strip(),
                    entered_at=timezone.now(),
                    entered_by=actor.name,
                )
        except IntegrityError:
            # Only reachable if someone wrote without the receipt's lock: the constraint decided.
            first = receipt_active_entries(receipt=locked).filter(party=party).first()
            if first is None:
                raise
            raise _duplicate_error(first) from None
        ReceiptLedger.objects.filter(pk=ledger.pk).update(
            claimed_amount=F("claimed_amount") + amount, active_entries=F("active_entries") + 1
        )
        audit_record(
            actor=actor,
            action="receipt_entry.create",
            object_type="receipt_entry",
            object_id=entry.pk,
            unit_code=locked.unit.code,
            region_code=locked.region_code,
            data={
                "receiptCode": locked.receipt_code,
                "number": locked.number_text,
                "party": party.pk,
                "partyName": party.name,
                "kind": kind,
                "amount": _money(amount),
                "entryDate": entry_date.isoformat(),
                "reference": entry.reference,
            },
        )
        national.event_record_entry(receipt=locked, entry=entry, cancelled=False)
    return EntryOutcome(entry=entry, total_amount=ledger.total_amount, claimed_amount=ledger.claimed_amount + amount)


def entry_cancel(*, party: ReimbursingParty, entry: ReceiptEntry, reason: str, actor: Actor) -> EntryOutcome:
    """Cancel (撤销) one of the party's entries; its amount is free to claim again. Audited."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > CANCEL_REASON_MAX:
        fields = {"reason": f"请填写撤销原因（1-{CANCEL_REASON_MAX} 个字符）。"}
        raise ApplicationError(CommonError.INVALID_INPUT, "请求数据校验未通过。", {"fields": fields})
    if entry.party_id != party.pk:
        raise ApplicationError(VerificationError.ENTRY_NOT_FOUND, "未找到该报销/入账记录。", status=404)
    with transaction.atomic():
        locked_receipt = receipt_locked(receipt_id=entry.receipt_id)
        ledger = ledger_locked(receipt=locked_receipt)
        current = entry_locked(entry_id=entry.pk)
        if current.status != ReceiptEntry.Status.ACTIVE:
            assert current.cancelled_at is not None
            raise ApplicationError(
                VerificationError.ENTRY_ALREADY_CANCELLED,
                f"该记录已于 {_beijing(current.cancelled_at)} 撤销。",
                {"entryId": current.pk, "cancelledAt": timezone.localtime(current.cancelled_at).isoformat()},
                status=409,
            )
        now = timezone.now()
        ReceiptEntry.objects.filter(pk=current.pk, status=ReceiptEntry.Status.ACTIVE).update(
            status=ReceiptEntry.Status.CANCELLED, cancelled_at=now, cancelled_by=actor.name, cancel_reason=text
        )
        ReceiptLedger.objects.filter(pk=ledger.pk).update(
            claimed_amount=F("claimed_amount") - current.amount, active_entries=F("active_entries") - 1
        )
        audit_record(
            actor=actor,
            action="receipt_entry.cancel",
            object_type="receipt_entry",
            object_id=current.pk,
            unit_code=locked_receipt.unit.code,
            region_code=locked_receipt.region_code,
            data={
                "receiptCode": locked_receipt.receipt_code,
                "number": locked_receipt.number_text,
                "party": party.pk,
                "amount": _money(current.amount),
                "reason": text,
            },
        )
        national.event_record_entry(receipt=locked_receipt, entry=current, cancelled=True)
    current.refresh_from_db()
    return EntryOutcome(
        entry=current, total_amount=ledger.total_amount, claimed_amount=ledger.claimed_amount - current.amount
    )
