"""The steps of the receipt pipeline run by workers: sign (unit, then 财政监制) and render.

A worker runs a step over a chunk of receipts at once (``issuance.jobs.jobs_run``):
the receipts are loaded together, what they share (certificates, unsealed keys, the
chain verdict, the province's CA) is looked up once per chunk in a
:class:`SigningContext`, and the results are written in bulk, in one transaction that
also finishes the chunk's jobs. Each receipt still succeeds or fails on its own.

Each step is idempotent: it re-reads the receipts, does nothing for a receipt whose
result is already recorded, and records results only for rows still waiting for
them (a conditional UPDATE), so that two workers racing on one receipt leave one
signature and one file.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from issuance.datafile import SupervisedSigning, datafile_parse, datafile_sign_and_supervise_many, receipt_xml_build
from issuance.jobs import ChunkHandler, PermanentJobError, jobs_create, jobs_done_with
from issuance.layout import render_receipt_pdf
from issuance.layout.datafile_data import layout_data_from_datafile
from issuance.layout.receipt_data import province_names
from issuance.models import Receipt, ReceiptItem, ReceiptJob, SignStatus, _receipt_file_path
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor, audit_build
from zhongtai.core.lookups import id_array, sql_in
from zhongtai.masterdata.models import FinanceBureau, ReceiptKind, Region, Unit
from zhongtai.national import services as national
from zhongtai.signing import sm2
from zhongtai.signing.models import Certificate
from zhongtai.signing.selectors import (
    ca_certificates_der,
    ca_hierarchy_get,
    certificate_chain_verify,
    certificate_current_for_bureau,
    certificate_current_for_unit,
    signing_key_get,
)
from zhongtai.signing.services import CaHierarchy, province_of
from zhongtai.signing.x509 import ChainVerdict, certificate_parse

logger = logging.getLogger(__name__)
PIPELINE = Actor.system("pipeline")

Outcomes = dict[int, BaseException | None]


def supervising_bureau(unit: Unit) -> FinanceBureau:
    """The bureau whose seal supervises the unit's receipts: the province's finance department."""
    return _bureau_of_province(province_of(unit.region))


def _bureau_of_province(province: Region) -> FinanceBureau:
    try:
        return province.bureau  # loaded with the unit by _load; one query otherwise
    except FinanceBureau.DoesNotExist as exc:
        raise PermanentJobError(f"{province.name}没有财政部门，无法加盖财政监制章。") from exc


def _load(receipt_ids: list[int]) -> list[Receipt]:
    """The receipts with what their data file and layout file show: four queries (five with red receipts).

    Their lines are in ``loaded_items``, in no particular order.

    Kinds and units are prefetched rather than joined: a chunk usually holds one unit's
    receipts of one or two kinds, and prefetching gives every receipt the same instance
    instead of building one per row. The unit comes with its region, the region's
    ancestors (at most three levels) and their finance bureaus, from which the province,
    its seal and its CA are found. ``number_shared`` says whether another receipt of the
    same environment carries the receipt's code and number (the platform's check before
    it supervises: see _number_is_unique).
    """
    same_number = Receipt.objects.filter(
        receipt_code=OuterRef("receipt_code"), number=OuterRef("number"), sandbox=OuterRef("sandbox")
    ).exclude(pk=OuterRef("pk"))
    return list(
        Receipt.objects.annotate(number_shared=Exists(same_number))
        .prefetch_related(
            "kind",
            Prefetch("unit", queryset=Unit.objects.select_related(*_REGION_AND_BUREAUS)),
            # A list per receipt: cheaper than a prefetched manager (a queryset made per receipt).
            Prefetch("items", to_attr="loaded_items"),
            "related_receipt",  # the original of a red receipt: rare, no query without one
        )
        .filter(pk__any=receipt_ids)
        .order_by("pk")
    )


# A unit's region up to the province (regions have three levels), each with its bureau.
_REGION_AND_BUREAUS = ("region__bureau", "region__parent__bureau", "region__parent__parent__bureau")


@dataclass(frozen=True, slots=True)
class _Original:
    """The original of a red receipt, as its data file names it."""

    receipt_code: str
    number: int

    @property
    def number_text(self) -> str:
        return f"{self.number:010d}"


class _ItemRow(NamedTuple):
    """One line of a receipt, the fields its data file shows (``receipt_xml_build`` reads them)."""

    line_no: int
    item_code: str
    item_name: str
    quantity: Decimal
    unit_of_measure: str
    standard: Decimal
    amount: Decimal
    remark: str


# The receipt columns the sign step reads, in _ReceiptRow's order (after pk).
_ROW_FIELDS = (
    "sign_status",
    "unit_id",
    "kind_id",
    "related_receipt_id",
    "receipt_code",
    "number",
    "check_code",
    "region_code",
    "sandbox",
    "is_red",
    "issued_at",
    "issue_date",
    "currency",
    "total_amount",
    "payee_name",
    "payee_account",
    "payee_bank",
    "payer_type",
    "payer_code",
    "payer_name",
    "payer_account",
    "payer_bank",
    "pay_mode",
    "bus_no",
    "remark",
    "handling_person",
    "checker",
    "ext",
    "number_shared",
)


@dataclass(slots=True)
class _ReceiptRow:
    """A receipt as the sign step reads it: its columns, its unit and kind (shared instances), its lines.

    What ``receipt_xml_build`` reads of a Receipt, and what signing and recording need
    (pk, status, environment, code and number, and whether that pair is shared: see
    _number_is_unique). Loaded as rows, not model instances: building a Receipt and its
    ReceiptItems per receipt cost more than anything else the step does besides SM2.
    """

    pk: int
    sign_status: str
    unit_id: int
    kind_id: int
    related_receipt_id: int | None
    receipt_code: str
    number: int
    check_code: str
    region_code: str
    sandbox: bool
    is_red: bool
    issued_at: datetime.datetime
    issue_date: datetime.date
    currency: str
    total_amount: Decimal
    payee_name: str
    payee_account: str
    payee_bank: str
    payer_type: int
    payer_code: str
    payer_name: str
    payer_account: str
    payer_bank: str
    pay_mode: str
    bus_no: str | None
    remark: str
    handling_person: str
    checker: str
    ext: dict[str, Any]
    number_shared: bool
    unit: Unit = field(init=False)
    kind: ReceiptKind = field(init=False)
    related_receipt: _Original | None = field(init=False, default=None)
    items: list[_ItemRow] = field(init=False, default_factory=list)

    @property
    def number_text(self) -> str:
        return f"{self.number:010d}"


def _load_rows(receipt_ids: list[int]) -> list[_ReceiptRow]:
    """The receipts to sign, as rows with their lines, units and kinds: four queries (five with red receipts).

    The same data as :func:`_load` gives the render step: every unit comes with its region,
    the region's ancestors and their finance bureaus (for the province, its seal and its CA),
    and ``number_shared`` says whether another receipt of the same environment carries the
    receipt's code and number.
    """
    rows = [_ReceiptRow(*values) for values in _RECEIPT_ROWS.rows(receipt_ids)]
    if not rows:
        return rows
    by_pk = {row.pk: row for row in rows}
    for receipt_id, *line in _ITEM_ROWS.rows(list(by_pk)):
        by_pk[receipt_id].items.append(_ItemRow._make(line))
    units = Unit.objects.select_related(*_REGION_AND_BUREAUS).in_bulk({row.unit_id for row in rows})
    kinds = ReceiptKind.objects.in_bulk({row.kind_id for row in rows})
    originals = {row.related_receipt_id for row in rows if row.related_receipt_id is not None}
    original_of: dict[int, _Original] = {}
    if originals:
        found = Receipt.objects.filter(pk__in=originals).values_list("pk", "receipt_code", "number")
        original_of = {pk: _Original(receipt_code=code, number=number) for pk, code, number in found}
    for row in rows:
        row.unit = units[row.unit_id]
        row.kind = kinds[row.kind_id]
        if row.related_receipt_id is not None:
            row.related_receipt = original_of[row.related_receipt_id]
    return rows


class _IdsQuery:
    """A ``values_list()`` query of the rows whose column is ``__any`` of a list of ids.

    On PostgreSQL the ids are one array parameter, so the statement does not depend on
    them: it is compiled once per database and then run as it is, with the row converters
    Django would apply. Compiling it per chunk (joins, select list, ordering) and walking
    the ids one by one (``resolve_lookup_value``, ``get_prep_value``, ``get_db_prep_value``)
    cost the sign step more than reading the rows. Elsewhere (SQLite: one placeholder per
    id) the queryset runs as usual.
    """

    def __init__(self, build: Callable[[list[int]], QuerySet[Any, tuple[Any, ...]]]) -> None:
        self._build = build
        self._compiled: dict[str, _CompiledIdsQuery] = {}

    def rows(self, ids: list[int]) -> list[tuple[Any, ...]]:
        if connection.vendor != "postgresql":
            return list(self._build(ids))
        if not ids:  # as the lookup: no value at all matches no row
            return []
        compiled = self._compiled.get(connection.alias)
        if compiled is None:
            compiled = self._compiled[connection.alias] = self._compile()
        params = list(compiled.params)
        # The array as its literal, cast by the statement (``%s::bigint[]``). Duplicates match nothing more.
        params[compiled.ids_at] = id_array(ids)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not compiled.converters:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for at, (converters, expression) in compiled.converters:
                value = values[at]
                for converter in converters:
                    value = converter(value, expression, connection)
                values[at] = value
            converted.append(tuple(values))
        return converted

    def _compile(self) -> _CompiledIdsQuery:
        compiler = self._build([0]).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        ids_at = [at for at, param in enumerate(params) if isinstance(param, list)]
        if len(ids_at) != 1:
            raise RuntimeError(f"expected the ids as one array parameter, got {params!r}")
        converters = compiler.get_converters([expression for expression, *_ in compiler.select[: compiler.col_count]])
        return _CompiledIdsQuery(sql=sql, params=tuple(params), ids_at=ids_at[0], converters=list(converters.items()))


@dataclass(frozen=True, slots=True)
class _CompiledIdsQuery:
    sql: str
    params: tuple[Any, ...]
    ids_at: int
    converters: list[tuple[int, tuple[list[Callable[..., Any]], Any]]]


def _receipt_rows(receipt_ids: list[int]) -> QuerySet[Receipt, tuple[Any, ...]]:
    same_number = Receipt.objects.filter(
        receipt_code=OuterRef("receipt_code"), number=OuterRef("number"), sandbox=OuterRef("sandbox")
    ).exclude(pk=OuterRef("pk"))
    return (
        Receipt.objects.annotate(number_shared=Exists(same_number))
        .filter(pk__any=receipt_ids)
        .order_by("pk")
        .values_list("pk", *_ROW_FIELDS)
    )


def _item_rows(receipt_ids: list[int]) -> QuerySet[ReceiptItem, tuple[Any, ...]]:
    items = ReceiptItem.objects.filter(receipt_id__any=receipt_ids).order_by()
    return items.values_list("receipt_id", *_ItemRow._fields)


_RECEIPT_ROWS = _IdsQuery(_receipt_rows)
_ITEM_ROWS = _IdsQuery(_item_rows)


_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True)
class _Raised:
    exc: Exception


def _once(cache: dict[_K, _V | _Raised], key: _K, compute: Callable[[], _V]) -> _V:
    """``compute()`` the first time ``key`` is asked for; the same answer, or the same error, after."""
    if key not in cache:
        try:
            cache[key] = compute()
        except Exception as exc:  # every receipt that asks again gets the same refusal
            cache[key] = _Raised(exc)
    answer = cache[key]
    if isinstance(answer, _Raised):
        raise answer.exc
    return answer


@dataclass
class SigningContext:
    """Everything a chunk of receipts shares for signing, looked up at most once per chunk.

    Lives for one call: nothing here survives the chunk, so a certificate revoked or
    renewed, a new CRL or a new CA applies from the next chunk on. All receipts of a
    chunk are signed at the same ``signing_time``, at which the unit certificates are
    chosen and their chains verified. (The verification itself, a function of the
    certificates' bytes and that time, may be answered from :func:`chain_verdict`.)
    """

    signing_time: datetime.datetime
    _provinces: dict[int, Region | _Raised] = field(default_factory=dict)
    _unit_certificates: dict[int, Certificate | _Raised | None] = field(default_factory=dict)
    _bureaus: dict[int, FinanceBureau | _Raised] = field(default_factory=dict)
    _seal_certificates: dict[int, Certificate | _Raised | None] = field(default_factory=dict)
    _keys: dict[int, sm2.PrivateKey | _Raised] = field(default_factory=dict)
    _public_keys: dict[int, sm2.PublicKey | _Raised] = field(default_factory=dict)
    _verdicts: dict[int, ChainVerdict | _Raised] = field(default_factory=dict)
    _hierarchies: dict[int, CaHierarchy | _Raised | None] = field(default_factory=dict)
    _intermediates: dict[str, list[bytes] | _Raised] = field(default_factory=dict)

    def province(self, region: Region) -> Region:
        return _once(self._provinces, region.pk, lambda: province_of(region))

    def unit_certificate(self, unit: Unit) -> Certificate | None:
        return _once(
            self._unit_certificates, unit.pk, lambda: certificate_current_for_unit(unit=unit, now=self.signing_time)
        )

    def bureau(self, unit: Unit) -> FinanceBureau:
        province = self.province(unit.region)
        return _once(self._bureaus, province.pk, lambda: _bureau_of_province(province))

    def seal_certificate(self, bureau: FinanceBureau) -> Certificate | None:
        return _once(
            self._seal_certificates,
            bureau.pk,
            lambda: certificate_current_for_bureau(bureau=bureau, now=self.signing_time),
        )

    def signer(self, certificate: Certificate) -> Callable[[bytes], bytes]:
        key = _once(self._keys, certificate.pk, lambda: signing_key_get(certificate=certificate))
        return lambda data: sm2.sign(key, data)

    def verifier(self, certificate: Certificate) -> Callable[[bytes, bytes], bool]:
        public = _once(
            self._public_keys, certificate.pk, lambda: sm2.public_key_from_der(bytes(certificate.public_key_der))
        )
        return lambda data, signature: sm2.verify(public, data, signature)

    def check_chain(self, certificate: Certificate, *, unit: Unit) -> None:
        """The unit's certificate must chain to its province's root and be unrevoked at signing time."""
        verdict = _once(self._verdicts, certificate.pk, lambda: self._chain_verdict(certificate, unit))
        if not verdict.valid:
            raise PermanentJobError(f"单位签名证书校验未通过：{verdict.reason}")

    def _chain_verdict(self, certificate: Certificate, unit: Unit) -> ChainVerdict:
        province = self.province(unit.region)
        hierarchy = _once(self._hierarchies, province.pk, lambda: ca_hierarchy_get(province=province))
        if hierarchy is None or hierarchy.root.certificate is None:
            raise PermanentJobError("本省尚未建立证书认证体系（CA）。")
        # Revocation comes from the platform's own records (unit_certificate() returns only
        # unrevoked certificates); the CRL is for third parties and may be days old.
        return chain_verdict(
            bytes(certificate.der),
            at=self.signing_time,
            trusted_root_der=bytes(hierarchy.root.certificate.der),
            intermediates=tuple(_once(self._intermediates, "issuing CAs", ca_certificates_der)),
        )


# The verdicts of certificate_chain_verify that outlive a chunk (see chain_verdict).
_ChainKey = tuple[bytes, bytes, tuple[bytes, ...]]
_verdicts: dict[_ChainKey, tuple[ChainVerdict, datetime.datetime, datetime.datetime]] = {}
_VERDICTS_KEPT = 512


def chain_verdict(
    certificate_der: bytes, *, at: datetime.datetime, trusted_root_der: bytes, intermediates: tuple[bytes, ...]
) -> ChainVerdict:
    """``certificate_chain_verify(...)``, remembered in this process while its answer cannot change.

    Without CRLs the verification is a function of the certificates' bytes and of the
    signing time alone: path building, SM2 signatures, CA flags, key usage and path
    lengths depend only on the bytes, and the time only decides whether each certificate
    of the chain is within its validity period. So a valid verdict is reused for the same
    certificate, root and intermediates (the key: a new CA or a new certificate is a new
    key) at any signing time within the validity periods of every certificate that could
    be in its chain (the leaf, the root, and each intermediate whose subject the chain
    names). Invalid verdicts are never reused. Which certificate is current and whether it
    is revoked are still read from the database for every chunk (SigningContext).
    """
    key = (certificate_der, trusted_root_der, intermediates)
    kept = _verdicts.get(key)
    if kept is not None and kept[1] <= at <= kept[2]:
        return kept[0]
    verdict = certificate_chain_verify(
        certificate_der, at=at, trusted_root_der=trusted_root_der, intermediates=list(intermediates)
    )
    if verdict.valid:
        members = [certificate_parse(certificate_der), certificate_parse(trusted_root_der)]
        members += [c for c in map(certificate_parse, intermediates) if c.subject_text in verdict.chain]
        if len(_verdicts) >= _VERDICTS_KEPT:
            _verdicts.clear()
        _verdicts[key] = (verdict, max(c.not_before for c in members), min(c.not_after for c in members))
    return verdict


@dataclass
class _Signed:
    receipt: _ReceiptRow
    xml: bytes
    unit_cert: Certificate
    seal_cert: Certificate
    name: str = ""


class _AwaitingUnit(Exception):
    """The unit signs on its own premises (two-step interface): nothing for a worker to do."""


def receipts_sign(receipt_ids: list[int]) -> Outcomes:
    """Unit signature with each unit's hosted key, then the platform's checks and the supervision seal.

    Returns receipt id -> None (signed now, or nothing left to do) or the error that
    receipt failed with; a PermanentJobError means retrying cannot help.
    """
    loaded = _load_rows(receipt_ids)
    outcomes: Outcomes = dict.fromkeys(receipt_ids)
    for missing in set(receipt_ids) - {r.pk for r in loaded}:
        outcomes[missing] = Receipt.DoesNotExist(f"receipt {missing} does not exist")
    # A receipt no longer pending is done already (signed, or awaiting its unit's signature).
    receipts = [r for r in loaded if r.sign_status == SignStatus.PENDING]
    if not receipts:
        return outcomes
    ctx = SigningContext(signing_time=timezone.now().replace(microsecond=0))
    prepared: list[_Signed] = []
    documents: list[SupervisedSigning] = []
    awaiting: list[int] = []
    units: dict[int, _UnitSigning | _Raised] = {}
    for receipt in receipts:
        try:
            item, document = _prepare(receipt, ctx, units)
        except _AwaitingUnit:
            awaiting.append(receipt.pk)
        except Exception as exc:
            outcomes[receipt.pk] = exc
        else:
            prepared.append(item)
            documents.append(document)
    if awaiting:
        Receipt.objects.filter(pk__in=awaiting, sign_status=SignStatus.PENDING).update(
            sign_status=SignStatus.AWAITING_UNIT
        )
    # All documents of the chunk side by side: the SM2 operations of each kind run back to back.
    signed: list[_Signed] = []
    for item, result in zip(prepared, datafile_sign_and_supervise_many(documents), strict=True):
        if isinstance(result, Exception):
            outcomes[item.receipt.pk] = result
        else:
            item.xml = result
            signed.append(item)
    outcomes.update(_store_and_record(signed, signed_at=ctx.signing_time))
    return outcomes


def _number_is_unique(receipt: _ReceiptRow) -> Callable[[str, int], bool]:
    """Whether (code, number) of the data file is the receipt's own and no other receipt's, in its environment.

    Production and the sandbox (联调测试) number apart, so a pair is unique within its
    environment. A unique constraint keeps it so; this is the platform's own check before
    it supervises, answered from ``number_shared`` (_load) for the receipt's own pair.
    """

    def check(code: str, number: int) -> bool:
        if (code, number) == (receipt.receipt_code, receipt.number):
            return not receipt.number_shared
        # The data file says otherwise than the receipt: ask the database.
        same = Receipt.objects.filter(receipt_code=code, number=number, sandbox=receipt.sandbox)
        return list(same.values_list("pk", flat=True)) == [receipt.pk]

    return check


@dataclass(frozen=True)
class _UnitSigning:
    """What every receipt of one unit is signed with in a chunk: its certificate, the seal's, and their keys."""

    unit_cert: Certificate
    seal_cert: Certificate
    unit_signer: Callable[[bytes], bytes]
    unit_verify: Callable[[bytes, bytes], bool]
    seal_signer: Callable[[bytes], bytes]


def _unit_signing(unit: Unit, ctx: SigningContext) -> _UnitSigning:
    """The certificates and checks a unit's receipts need: valid unit certificate, hosted key, seal, chain."""
    unit_cert = ctx.unit_certificate(unit)
    if unit_cert is None:
        raise PermanentJobError(f"单位 {unit.code} 没有有效的签名证书，请先签发证书。")
    if unit_cert.key_custody != Certificate.KeyCustody.HOSTED:
        raise _AwaitingUnit
    bureau = ctx.bureau(unit)
    seal_cert = ctx.seal_certificate(bureau)
    if seal_cert is None:
        raise PermanentJobError(f"{bureau.name}没有有效的财政监制章证书。")
    ctx.check_chain(unit_cert, unit=unit)
    return _UnitSigning(
        unit_cert=unit_cert,
        seal_cert=seal_cert,
        unit_signer=ctx.signer(unit_cert),
        unit_verify=ctx.verifier(unit_cert),
        seal_signer=ctx.signer(seal_cert),
    )


def _prepare(
    receipt: _ReceiptRow, ctx: SigningContext, units: dict[int, _UnitSigning | _Raised]
) -> tuple[_Signed, SupervisedSigning]:
    """The certificates and checks a receipt's signing needs (once per unit and chunk), and its unsigned data file."""
    signing = _once(units, receipt.unit_id, lambda: _unit_signing(receipt.unit, ctx))
    document = SupervisedSigning(
        xml=receipt_xml_build(receipt, items=receipt.items),
        unit_signer=signing.unit_signer,
        unit_certificate_serial=signing.unit_cert.serial_number,
        unit_verify=signing.unit_verify,
        number_is_unique=_number_is_unique(receipt),
        signer=signing.seal_signer,
        certificate_serial=signing.seal_cert.serial_number,
        signing_time=ctx.signing_time,
    )
    return _Signed(receipt=receipt, xml=b"", unit_cert=signing.unit_cert, seal_cert=signing.seal_cert), document


def _store_and_record(signed: list[_Signed], *, signed_at: datetime.datetime) -> Outcomes:
    """Save each data file, then record the signatures of the receipts still pending in one transaction."""
    outcomes: Outcomes = {}
    stored: list[_Signed] = []
    for item in signed:
        try:
            item.name = default_storage.save(_receipt_file_path(item.receipt, "einvoice.xml"), ContentFile(item.xml))
        except Exception as exc:
            outcomes[item.receipt.pk] = exc
        else:
            stored.append(item)
    if not stored:
        return outcomes
    try:
        lost = _record_signed(stored, signed_at=signed_at)
    except Exception as exc:
        # Rolled back (what runs after the commit cannot raise): our files would be orphans.
        for item in stored:
            _delete_quietly(item.name)
            outcomes[item.receipt.pk] = exc
        return outcomes
    for item in stored:
        outcomes[item.receipt.pk] = None
    if lost:
        logger.info("%s receipts were signed by another worker first; dropped our files", len(lost))
    return outcomes


def _record_signed(stored: list[_Signed], *, signed_at: datetime.datetime) -> list[_Signed]:
    """Status, file and serials of the receipts still pending, their audit rows and render jobs; returns the losers.

    The sign jobs of all of them (a receipt another worker signed first needs nothing more
    either) are finished in the same transaction.
    """
    with transaction.atomic():
        won = _mark_signed(stored, signed_at=signed_at)
        winners = [item for item in stored if item.receipt.pk in won]
        lost = [item for item in stored if item.receipt.pk not in won]
        if winners:
            _audit_signed(winners, signed_at=signed_at)
            jobs_create(receipts=[item.receipt for item in winners], step=ReceiptJob.Step.RENDER, existing_ok=True)
            # Their events for the national platform can go now: handed over after the commit, no query.
            national.receipts_signed_dispatch(receipt_ids=[i.receipt.pk for i in winners if not i.receipt.sandbox])
        jobs_done_with(receipt_ids=[item.receipt.pk for item in stored])
        # Another worker signed these first: keep its files, drop ours.
        names = [item.name for item in lost]
        if names:
            transaction.on_commit(lambda: [_delete_quietly(name) for name in names], robust=True)
    return lost


def _mark_signed(stored: list[_Signed], *, signed_at: datetime.datetime) -> set[int]:
    """The conditional UPDATE of every receipt still pending, at once; returns the ids it took.

    ``filter(pk=..., sign_status=PENDING).update(...)`` per receipt, in one statement per
    pair of certificates: each receipt gets its own file name (on PostgreSQL from two
    arrays unnested side by side, elsewhere from a CASE), and RETURNING (PostgreSQL,
    SQLite >= 3.35) says which rows were still pending, so a receipt another worker
    signed first is left alone and reported lost.
    """
    quote = connection.ops.quote_name
    table = quote(Receipt._meta.db_table)
    column = {name: quote(Receipt._meta.get_field(name).column) for name in _SIGNED_FIELDS}
    pk = quote(Receipt._meta.pk.column)  # type: ignore[union-attr]
    by_certificates: dict[tuple[str, str], list[_Signed]] = defaultdict(list)
    for item in stored:
        by_certificates[(item.unit_cert.serial_number, item.seal_cert.serial_number)].append(item)
    won: set[int] = set()
    with connection.cursor() as cursor:
        for (unit_serial, seal_serial), items in by_certificates.items():
            ids = [item.receipt.pk for item in items]
            names = [item.name for item in items]
            params: list[object] = [
                SignStatus.SIGNED.value,
                connection.ops.adapt_datetimefield_value(signed_at),
                unit_serial,
                seal_serial,
            ]
            assignments = (
                f"{column['sign_status']} = %s, {column['signed_at']} = %s, "
                f"{column['unit_cert_serial']} = %s, {column['supervisor_cert_serial']} = %s, "
            )
            if connection.vendor == "postgresql":
                # Two array parameters instead of 600 scalars (see zhongtai.core.lookups).
                sql = (
                    f"UPDATE {table} SET {assignments}{column['datafile']} = named.name "
                    f"FROM unnest(%s::bigint[], %s::text[]) AS named(id, name) "
                    f"WHERE {table}.{pk} = named.id AND {table}.{column['sign_status']} = %s "
                    f"RETURNING {table}.{pk}"
                )
                params += [id_array(ids), names, SignStatus.PENDING.value]
            else:
                sql = (
                    f"UPDATE {table} SET {assignments}"
                    f"{column['datafile']} = CASE {pk} {' '.join(['WHEN %s THEN %s'] * len(items))} END "
                    f"WHERE {pk} IN ({', '.join(['%s'] * len(ids))}) AND {column['sign_status']} = %s "
                    f"RETURNING {pk}"
                )
                for receipt_id, name in zip(ids, names, strict=True):
                    params += [receipt_id, name]
                params += [*ids, SignStatus.PENDING.value]
            cursor.execute(sql, params)
            won.update(row[0] for row in cursor.fetchall())
    return won


_SIGNED_FIELDS = ("sign_status", "signed_at", "unit_cert_serial", "supervisor_cert_serial", "datafile")


def _audit_signed(winners: list[_Signed], *, signed_at: datetime.datetime) -> None:
    """One ``receipt.sign`` audit row per receipt signed, as ``audit_build`` makes it: one INSERT … SELECT per unit.

    The rows of one unit and pair of certificates differ only in the receipt (its id and
    region code), so each group is one row of ``audit_build`` that the database copies
    for each receipt, taking those two from the receipt table: building a model instance
    per receipt only to read its fields back cost more than the rest of recording.
    """
    groups: dict[tuple[int, str, str], list[_Signed]] = defaultdict(list)
    for item in winners:
        groups[(item.receipt.unit_id, item.unit_cert.serial_number, item.seal_cert.serial_number)].append(item)
    quote = connection.ops.quote_name
    receipt_pk = quote(Receipt._meta.pk.column)  # type: ignore[union-attr]
    from_receipt = {
        "object_id": f"CAST({receipt_pk} AS {AuditEvent._meta.get_field('object_id').db_type(connection)})",
        "region_code": quote(Receipt._meta.get_field("region_code").column),
    }
    fields = [field for field in AuditEvent._meta.concrete_fields if not field.primary_key]
    with connection.cursor() as cursor:
        for items in groups.values():
            first = items[0]
            row = audit_build(
                actor=PIPELINE,
                action="receipt.sign",
                object_type="receipt",
                object_id=first.receipt.pk,
                unit_code=first.receipt.unit.code,
                region_code=first.receipt.region_code,
                data={
                    "unitCert": first.unit_cert.serial_number,
                    "supervisorCert": first.seal_cert.serial_number,
                    "signedAt": signed_at.isoformat(),
                },
            )
            selects: list[str] = []
            params: list[object] = []
            for field in fields:
                if field.name in from_receipt:
                    selects.append(from_receipt[field.name])
                else:  # what the ORM would write for the row, occurred_at (auto_now_add) included
                    selects.append("%s")
                    params.append(field.get_db_prep_save(field.pre_save(row, add=True), connection))
            ids = [item.receipt.pk for item in items]
            among, among_params = sql_in(connection, receipt_pk, ids)
            cursor.execute(
                f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
                f"SELECT {', '.join(selects)} FROM {quote(Receipt._meta.db_table)} WHERE {among}",
                [*params, *among_params],
            )


def _delete_quietly(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:  # a leftover file is harmless; the receipt names the file that counts
        logger.warning("could not delete %s", name, exc_info=True)


def receipts_render(receipt_ids: list[int]) -> Outcomes:
    """The layout file (PDF) with the signed data file attached, for each receipt that has none yet."""
    outcomes: Outcomes = {}
    receipts = {r.pk: r for r in _load(receipt_ids)}
    for receipt_id in receipt_ids:
        receipt = receipts.get(receipt_id)
        try:
            if receipt is None:
                raise Receipt.DoesNotExist(f"receipt {receipt_id} does not exist")
            _render_one(receipt)
        except Exception as exc:
            outcomes[receipt_id] = exc
        else:
            outcomes[receipt_id] = None
    return outcomes


def _render_one(receipt: Receipt) -> None:
    if receipt.layout_file:
        return
    if receipt.sign_status != SignStatus.SIGNED or not receipt.datafile:
        raise PermanentJobError("票据尚未完成签章，不能生成版式文件。")
    with receipt.datafile.open("rb") as handle:
        xml = handle.read()
    # The layout file shows what was signed: it is drawn from the signed data file itself.
    province_name, seal_name = province_names(receipt.region_code)
    content = layout_data_from_datafile(
        datafile_parse(xml), province_name=province_name, supervision_seal_name=seal_name
    )
    pdf = render_receipt_pdf(content, xml=xml)
    name = default_storage.save(_receipt_file_path(receipt, "einvoice.pdf"), ContentFile(pdf))
    won = Receipt.objects.filter(pk=receipt.pk, layout_file="").update(layout_file=name)
    if not won:
        default_storage.delete(name)


def _one(step: ChunkHandler, receipt: Receipt) -> None:
    error = step([receipt.pk])[receipt.pk]
    if error is not None:
        raise error


def receipt_sign(receipt: Receipt) -> None:
    """Sign one receipt (the chunk step over one receipt); raises what the receipt failed with."""
    _one(receipts_sign, receipt)


def receipt_render(receipt: Receipt) -> None:
    """Render one receipt's layout file; raises what the receipt failed with."""
    _one(receipts_render, receipt)


STEP_CHUNK_HANDLERS: dict[str, ChunkHandler] = {
    ReceiptJob.Step.SIGN: receipts_sign,
    ReceiptJob.Step.RENDER: receipts_render,
}

STEP_HANDLERS: dict[str, Callable[[Receipt], None]] = {
    ReceiptJob.Step.SIGN: receipt_sign,
    ReceiptJob.Step.RENDER: receipt_render,
}
