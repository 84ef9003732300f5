"""Reads of public verification: finding a receipt by its elements, its verdict, its entries."""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, models
from django.db.models import QuerySet, Sum
from django.utils import timezone

from issuance.models import Receipt, SignStatus
from issuance.states import ReceiptStatus
from issuance.verifier import CHECK_TITLES, DatabaseTrust, receipt_file_verify
from verification.models import ReceiptEntry, ReimbursingParty, VerificationCounter
from verification.provinces import province_name
from zhongtai.masterdata.models import ReceiptKind, Unit
from zhongtai.signing.models import Certificate, CertificateAuthority

# Compared when no receipt has the code and number, so that a missing receipt costs the same
# work as a wrong check code. Not hex: it never equals a check code.
_DUMMY_CHECK_CODE = "zzzzzz"
ZERO = Decimal("0.00")

# The receipt's columns an answer uses (page, API, verdict key, optional elements): a receipt
# row is wide, and a verification reads one per request. The rest are deferred (loaded if read).
ANSWER_FIELDS = (
    "id",
    "receipt_code",
    "number",
    "check_code",
    "sandbox",
    "status",
    "is_red",
    "issue_date",
    "total_amount",
    "total_amount_upper",
    "payer_type",
    "payer_name",
    "region_code",
    "sign_status",
    "signed_at",
    "datafile",
    "unit_cert_serial",
    "supervisor_cert_serial",
    "kind",
    "unit",
)
KIND_FIELDS = ("id", "code", "name")
UNIT_FIELDS = ("id", "code", "name", "credit_code")


def _column(model: type[models.Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _answer_sql() -> tuple[str, tuple[str, ...]]:
    """The one query of a verification, written once per process: (SQL, its fixed parameters).

    The receipt's answer columns, its kind's and unit's, the state of trust
    (:func:`trust_generation`) and whether an active entry stands, by code and number. Built
    from the models' metadata rather than through the ORM on every request: compiling the
    equivalent queryset (select_related, only, a subquery, raw SQL) cost a verification
    more CPU than the query itself (docs/verification.md, "Speed"). Plain SQL both
    PostgreSQL and SQLite run; ``Receipt.objects.raw`` maps the receipt's columns (the
    database converters applied), the others are read by position.
    """
    quote = connection.ops.quote_name
    selected = [f"r.{_column(Receipt, name)}" for name in ANSWER_FIELDS]
    selected += [f"k.{_column(ReceiptKind, name)} AS {quote('kind__' + name)}" for name in KIND_FIELDS]
    selected += [f"u.{_column(Unit, name)} AS {quote('unit__' + name)}" for name in UNIT_FIELDS]
    trust_sql, trust_params = _trust_generation_parts()
    entry_exists = (
        f"EXISTS (SELECT 1 FROM {_table(ReceiptEntry)} e WHERE e.{_column(ReceiptEntry, 'receipt')} = r.id"
        f" AND e.{_column(ReceiptEntry, 'status')} = %s)"
    )
    sql = (
        f"SELECT {', '.join(selected)}, {trust_sql} AS trust_generation, {entry_exists} AS has_active_entries"
        f" FROM {_table(Receipt)} r"
        f" JOIN {_table(ReceiptKind)} k ON k.id = r.{_column(Receipt, 'kind')}"
        f" JOIN {_table(Unit)} u ON u.id = r.{_column(Receipt, 'unit')}"
        f" WHERE r.{_column(Receipt, 'receipt_code')} = %s AND r.{_column(Receipt, 'number')} = %s"
        f" AND r.{_column(Receipt, 'sandbox')} = %s ORDER BY r.id LIMIT 1"
    )
    return sql, (*trust_params, ReceiptEntry.Status.ACTIVE.value)


@functools.cache
def _counted_answer_sql(*, relaxed: bool) -> str:
    """PostgreSQL only: :func:`_answer_sql` that also counts the verification, in the same statement.

    A data-modifying CTE: the counter row is inserted or incremented (as
    ``verification_count_increment`` does) only when the row found has the check code given
    (compared case-insensitively), is signed and has its data file — exactly when
    :func:`receipt_find_by_elements` returns it. The count (this increment's) comes back as
    ``verification_count``, NULL when nothing was counted. ``relaxed`` adds
    ``set_config('synchronous_commit', 'off', true)``, the function form of ``SET LOCAL``:
    the statement is its own implicit transaction, so it covers exactly this increment.
    """
    answer, _fixed = _answer_sql()
    counter = _table(VerificationCounter)
    relax = " AND set_config('synchronous_commit', 'off', true) = 'off'" if relaxed else ""
    return (
        f"WITH a AS ({answer}),"
        f" c AS (INSERT INTO {counter} (receipt_id, count, last_verified_at)"
        f" SELECT a.id, 1, %s FROM a WHERE lower(a.{_column(Receipt, 'check_code')}) = %s"
        f" AND a.{_column(Receipt, 'sign_status')} = %s AND COALESCE(a.{_column(Receipt, 'datafile')}, '') <> ''"
        f"{relax}"
        f" ON CONFLICT (receipt_id) DO UPDATE SET count = {counter}.count + 1,"
        " last_verified_at = excluded.last_verified_at RETURNING count)"
        " SELECT a.*, (SELECT c.count FROM c) AS verification_count FROM a"
    )


def _answer_receipt(*, receipt_code: str, number: int, counted_check_code: str | None = None) -> Receipt | None:
    """The production receipt with this code and number, its kind and unit attached, or None.

    With ``counted_check_code`` (PostgreSQL), the same statement counts the verification when
    that check code matches (:func:`_counted_answer_sql`); the receipt carries the count as
    ``verification_count`` (None when nothing was counted).
    """
    sql, fixed = _answer_sql()
    params: list[object] = [*fixed, receipt_code, number, False]
    if counted_check_code is not None:
        # Outside a caller's transaction only: inside one, the setting would cover all of it.
        sql = _counted_answer_sql(relaxed=not connection.in_atomic_block)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        params += [now, counted_check_code.strip().lower(), SignStatus.SIGNED.value]
    found = list(Receipt.objects.raw(sql, params))
    if not found:
        return None
    receipt = found[0]
    values = receipt.__dict__
    db = receipt._state.db
    # Model.from_db: the related rows as the ORM loads them (fields not read stay deferred).
    receipt.kind = ReceiptKind.from_db(db, list(KIND_FIELDS), [values.pop("kind__" + n) for n in KIND_FIELDS])
    receipt.unit = Unit.from_db(db, list(UNIT_FIELDS), [values.pop("unit__" + n) for n in UNIT_FIELDS])
    receipt.has_active_entries = bool(receipt.has_active_entries)
    receipt.trust_generation = str(receipt.trust_generation)
    return receipt


def receipt_find_by_elements(
    *,
    receipt_code: str,
    number: int,
    check_code: str,
    issue_date: datetime.date | None = None,
    total_amount: Decimal | None = None,
    payer_name: str | None = None,
) -> Receipt | None:
    """The receipt the public may see with these elements (查验要素), or None (查无此票).

    None, alike, for no such receipt, a wrong check code, a sandbox receipt (联调测试票据, never
    valid), a receipt whose signatures are not complete, or an optional element (issue date,
    total, payer) that does not match. The check code is compared in constant time, against
    a dummy when there is no row, so that both cases do the same work.
    """
    candidate = _answer_receipt(receipt_code=receipt_code, number=number)
    return elements_accepted(
        candidate,
        check_code=check_code,
        issue_date=issue_date,
        total_amount=total_amount,
        payer_name=payer_name,
    )


def elements_accepted(
    candidate: Receipt | None,
    *,
    check_code: str,
    issue_date: datetime.date | None = None,
    total_amount: Decimal | None = None,
    payer_name: str | None = None,
) -> Receipt | None:
    """``candidate`` (the row found by code and number) if the other elements hold, else None."""
    stored = candidate.check_code if candidate is not None else _DUMMY_CHECK_CODE
    matched = hmac.compare_digest(stored.lower().encode(), check_code.strip().lower().encode())
    if candidate is None or not matched:
        return None
    if candidate.sign_status != SignStatus.SIGNED or not candidate.datafile:
        return None
    if issue_date is not None and candidate.issue_date != issue_date:
        return None
    if total_amount is not None and candidate.total_amount != total_amount:
        return None
    if payer_name and candidate.payer_name.strip() != payer_name.strip():
        return None
    return candidate


def receipt_public_get(*, receipt_id: int) -> Receipt | None:
    """A receipt by id for a download link: only a signed production receipt."""
    return (
        Receipt.objects.filter(pk=receipt_id, sandbox=False, sign_status=SignStatus.SIGNED)
        .select_related("kind", "unit")
        .first()
    )


# --- the verdict on both signatures -----------------------------------------------------------


@dataclass(frozen=True)
class CheckLine:
    name: str
    title: str
    ok: bool | None
    code: str


@dataclass(frozen=True)
class ReceiptVerdict:
    """Whether the stored, signed data file proves the receipt genuine (真票), and each check."""

    genuine: bool
    checks: tuple[CheckLine, ...]
    reason: str  # the first failure, in Chinese; "" when genuine


def _trust_generation_parts() -> tuple[str, list[str]]:
    """SQL naming the state of trust, as text (with its parameters); see :func:`trust_generation`.

    Plain SQL that both PostgreSQL and SQLite run, so that it can ride along with the receipt's
    own query: the revoked certificates' count and latest revocation time, and the active
    roots' count, smallest, largest and summed certificate ids.
    """
    certificates = Certificate._meta.db_table
    authorities = CertificateAuthority._meta.db_table
    sql = (
        f"(SELECT COUNT(*) || ':' || COALESCE(CAST(MAX(revoked_at) AS TEXT), '') FROM {certificates}"
        " WHERE status = %s) || '|' || "
        f"(SELECT COUNT(*) || ':' || COALESCE(MIN(certificate_id), 0) || ':' || COALESCE(MAX(certificate_id), 0)"
        f" || ':' || COALESCE(SUM(certificate_id), 0) FROM {authorities} WHERE kind = %s AND status = %s)"
    )
    params = [
        Certificate.Status.REVOKED.value,
        CertificateAuthority.Kind.ROOT.value,
        CertificateAuthority.Status.ACTIVE.value,
    ]
    return sql, params


def trust_generation() -> str:
    """Changes whenever the verdict of an unchanged data file could change.

    The verifier trusts the platform's records: the province's root CA and the revocations
    recorded for certificates. Revocations are final (never undone) and only added, so their
    count and latest time name them. The active roots are named by their count and the
    smallest, largest and summed certificate ids, which tell apart any two sets of up to three
    roots (a province has one, two while a root is renewed): adding, retiring or re-keying a
    root changes it. :func:`receipt_find_by_elements` reads the same value in the receipt's
    own query, so a verification pays no extra round trip for it.
    """
    sql, params = _trust_generation_parts()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return str(cursor.fetchone()[0])


def _verdict_key(receipt: Receipt, generation: str | None = None) -> str:
    """The verdict's cache key: the receipt, its file, signing time, certificates and the state of trust."""
    if generation is None:
        generation = getattr(receipt, "trust_generation", None) or trust_generation()
    basis = "|".join(
        [
            receipt.datafile.name,
            receipt.signed_at.isoformat() if receipt.signed_at else "",
            receipt.unit_cert_serial,
            receipt.supervisor_cert_serial,
            generation,
        ]
    )
    return f"verify:verdict:{receipt.pk}:{hashlib.sha256(basis.encode()).hexdigest()[:32]}"


def _verdict_compute(receipt: Receipt) -> ReceiptVerdict:
    with receipt.datafile.open("rb") as handle:
        content = handle.read()
    verdict = receipt_file_verify(content=content, trust=DatabaseTrust())
    checks = tuple(CheckLine(c.name, CHECK_TITLES.get(c.name, c.name), c.ok, c.code) for c in verdict.checks)
    summary = verdict.summary
    if not verdict.valid:
        reason = verdict.failures[0].reason if verdict.failures else "数据文件未通过验证。"
        return ReceiptVerdict(False, checks, reason)
    # Valid signatures over another receipt's data would prove nothing about this one.
    same = summary is not None and (
        summary.receipt_code,
        summary.number,
        summary.check_code,
        Decimal(summary.total_amount or "0"),
    ) == (receipt.receipt_code, receipt.number_text, receipt.check_code, receipt.total_amount)
    if not same:
        return ReceiptVerdict(False, checks, "数据文件所载票据与平台登记的票据不一致。")
    return ReceiptVerdict(True, checks, "")


def receipt_verdict(*, receipt: Receipt) -> ReceiptVerdict:
    """Both signatures, their certificate chains, revocation and roles (issuance/verifier.py).

    The stored, signed data file is verified against the platform's trust anchors. The
    result is cached per receipt: a data file never changes once signed, and the key also
    names the file, the signing time and the state of trust (revocations, roots), so that a
    revoked certificate or a re-signed receipt is verified afresh. The status is never
    cached: callers read it from the receipt.
    """
    key = _verdict_key(receipt)
    cached = cache.get(key)
    if isinstance(cached, dict):
        return ReceiptVerdict(
            genuine=bool(cached["genuine"]),
            checks=tuple(CheckLine(*line) for line in cached["checks"]),
            reason=str(cached["reason"]),
        )
    verdict = _verdict_compute(receipt)
    cache.set(
        key,
        {
            "genuine": verdict.genuine,
            "checks": [[c.name, c.title, c.ok, c.code] for c in verdict.checks],
            "reason": verdict.reason,
        },
        timeout=settings.EREC_VERIFY_VERDICT_CACHE_SECONDS,
    )
    return verdict


# --- status and entries -------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryBrief:
    """An active entry as another party (or the public API) may see it."""

    entry_id: int
    party_name: str
    party_type: str
    kind: str
    kind_label: str
    amount: Decimal
    entry_date: datetime.date
    entered_at: datetime.datetime
    mine: bool

    @property
    def own_entry_id(self) -> int | None:
        """The entry's id for the party that made it (to cancel it); hidden from other parties."""
        return self.entry_id if self.mine else None


@dataclass(frozen=True)
class EntriesSummary:
    """The active entries of a receipt; amounts None when its ledger is kept elsewhere (another province)."""

    total_amount: Decimal
    claimed_amount: Decimal | None
    remaining_amount: Decimal | None
    entries: tuple[EntryBrief, ...]
    reimbursed_flag: bool | None = None  # what another province's platform says, when it keeps the ledger

    @property
    def reimbursed(self) -> bool:
        return self.reimbursed_flag if self.reimbursed_flag is not None else bool(self.entries)


def receipt_active_entries(*, receipt: Receipt) -> QuerySet[ReceiptEntry]:
    return (
        ReceiptEntry.objects.filter(receipt=receipt, status=ReceiptEntry.Status.ACTIVE)
        .select_related("party")
        .order_by("entered_at", "id")
    )


def receipt_entries_summary(*, receipt: Receipt, party: ReimbursingParty | None = None) -> EntriesSummary:
    """What the active entries claim of the receipt, and what remains (read from the entries themselves).

    A receipt found by :func:`receipt_find_by_elements` says in its own query whether any
    entry stands (``has_active_entries``); most have none, and then nothing more is read.
    """
    if getattr(receipt, "has_active_entries", True) is False:
        total = receipt.total_amount if receipt.total_amount > 0 else ZERO
        return EntriesSummary(total, ZERO, total, ())
    entries = tuple(
        EntryBrief(
            entry_id=entry.pk,
            party_name=entry.party.name,
            party_type=entry.party.party_type,
            kind=entry.kind,
            kind_label=entry.get_kind_display(),
            amount=entry.amount,
            entry_date=entry.entry_date,
            entered_at=entry.entered_at,
            mine=party is not None and entry.party_id == party.pk,
        )
        for entry in receipt_active_entries(receipt=receipt)
    )
    total = receipt.total_amount if receipt.total_amount > 0 else ZERO
    claimed = sum((entry.amount for entry in entries), ZERO)
    return EntriesSummary(total, claimed, max(total - claimed, ZERO), entries)


def receipt_is_reimbursed(*, receipt: Receipt) -> bool:
    return ReceiptEntry.objects.filter(receipt=receipt, status=ReceiptEntry.Status.ACTIVE).exists()


def receipt_status_labels(*, receipt: Receipt, reimbursed: bool) -> list[str]:
    """The public status (状态): 正常 / 已冲红 / 已换开纸质票据, and 已报销 when any entry stands."""
    return status_labels_for(status=receipt.status, reimbursed=reimbursed)


def status_labels_for(*, status: str, reimbursed: bool) -> list[str]:
    if status == ReceiptStatus.ISSUED:
        labels = [] if reimbursed else [ReceiptStatus.ISSUED.label]
    else:
        labels = [ReceiptStatus(status).label]
    if reimbursed:
        labels.append("已报销")
    return labels


def verification_count_get(*, receipt: Receipt) -> int:
    return VerificationCounter.objects.filter(receipt=receipt).values_list("count", flat=True).first() or 0


@dataclass(frozen=True)
class ReceiptAnswer:
    """What a verification answers: the receipt, its verdict, its public status and entries."""

    receipt: Receipt
    verdict: ReceiptVerdict
    status_labels: tuple[str, ...]
    entries: EntriesSummary
    verification_count: int

    source = "province"  # answered from this province's own records (``ForeignAnswer``: "national")

    @property
    def status_label(self) -> str:
        return "、".join(self.status_labels)

    @property
    def province(self) -> str:
        return self.receipt.receipt_code[:2]

    @property
    def province_name(self) -> str:
        return province_name(self.receipt.receipt_code)


def receipt_answer_get(
    *, receipt: Receipt, verification_count: int, party: ReimbursingParty | None = None
) -> ReceiptAnswer:
    """The answer to a verification of ``receipt`` (found by its elements)."""
    entries = receipt_entries_summary(receipt=receipt, party=party)
    return ReceiptAnswer(
        receipt=receipt,
        verdict=receipt_verdict(receipt=receipt),
        status_labels=tuple(receipt_status_labels(receipt=receipt, reimbursed=entries.reimbursed)),
        entries=entries,
        verification_count=verification_count,
    )


# --- a party's entries --------------------------------------------------------------------------


def entry_list(
    *,
    party: ReimbursingParty,
    receipt_code: str | None = None,
    number: int | None = None,
    since: datetime.datetime | None = None,
) -> QuerySet[ReceiptEntry]:
    """The party's own entries (active and cancelled), oldest first; nobody else's."""
    entries = ReceiptEntry.objects.filter(party=party).select_related("receipt", "party")
    if receipt_code is not None:
        entries = entries.filter(receipt__receipt_code=receipt_code)
    if number is not None:
        entries = entries.filter(receipt__number=number)
    if since is not None:
        entries = entries.filter(entered_at__gte=since)
    return entries.order_by("entered_at", "id")


def entry_get_for_party(
    *, party: ReimbursingParty, entry_id: int, receipt_code: str, number: int
) -> ReceiptEntry | None:
    """One of the party's entries, on the receipt named; another party's entry is None (404)."""
    return (
        ReceiptEntry.objects.filter(
            pk=entry_id, party=party, receipt__receipt_code=receipt_code, receipt__number=number, receipt__sandbox=False
        )
        .select_related("receipt", "party")
        .first()
    )


def entries_claimed_total(*, receipt: Receipt) -> Decimal:
    value = ReceiptEntry.objects.filter(receipt=receipt, status=ReceiptEntry.Status.ACTIVE).aggregate(s=Sum("amount"))
    return value["s"] or ZERO
