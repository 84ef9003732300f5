"""The steps of the receipt pipeline run by workers: sign (unit, then 财政监制) and render.

A worker runs a step over a chunk of receipts at once (``issuance.jobs.jobs_run``):
the receipts are loaded together, what they share (certificates, unsealed keys, the
chain verdict, the province's CA and CRL) is looked up once per chunk in a
:class:`SigningContext`, and the results are written in bulk. Each receipt still
succeeds or fails on its own.

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
from typing import TypeVar

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from issuance.datafile import SupervisedSigning, datafile_parse, datafile_sign_and_supervise_many, receipt_xml_build
from issuance.jobs import ChunkHandler, PermanentJobError, jobs_create
from issuance.layout import render_receipt_pdf
from issuance.layout.datafile_data import layout_data_from_datafile
from issuance.layout.receipt_data import province_names
from issuance.models import Receipt, ReceiptJob, SignStatus, _receipt_file_path
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor, audit_build
from zhongtai.masterdata.models import FinanceBureau, Region, Unit
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
from zhongtai.signing.x509 import ChainVerdict

logger = logging.getLogger(__name__)
PIPELINE = Actor.system("pipeline")

Outcomes = dict[int, BaseException | None]


def supervising_bureau(unit: Unit) -> FinanceBureau:
    """The bureau whose seal supervises the unit's receipts: the province's finance department."""
    return _bureau_of_province(province_of(unit.region))


def _bureau_of_province(province: Region) -> FinanceBureau:
    try:
        return FinanceBureau.objects.get(region=province)
    except FinanceBureau.DoesNotExist as exc:
        raise PermanentJobError(f"{province.name}没有财政部门，无法加盖财政监制章。") from exc


def _load(receipt_ids: list[int]) -> list[Receipt]:
    """The receipts with what their data file and layout file show: two queries (three with red receipts)."""
    return list(
        Receipt.objects.select_related("kind", "unit", "unit__region")
        .prefetch_related("items", "related_receipt")  # the original of a red receipt: rare, not joined
        .filter(pk__in=receipt_ids)
        .order_by("pk")
    )


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
    chosen and their chains verified.
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
        return certificate_chain_verify(
            bytes(certificate.der),
            at=self.signing_time,
            trusted_root_der=bytes(hierarchy.root.certificate.der),
            intermediates=_once(self._intermediates, "issuing CAs", ca_certificates_der),
        )


@dataclass
class _Signed:
    receipt: Receipt
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
    loaded = _load(receipt_ids)
    outcomes: Outcomes = dict.fromkeys(receipt_ids)
    for missing in set(receipt_ids) - {r.pk for r in loaded}:
        outcomes[missing] = Receipt.DoesNotExist(f"receipt {missing} does not exist")
    # A receipt no longer pending is done already (signed, or awaiting its unit's signature).
    receipts = [r for r in loaded if r.sign_status == SignStatus.PENDING]
    if not receipts:
        return outcomes
    ctx = SigningContext(signing_time=timezone.now().replace(microsecond=0))
    owners = _number_owners(receipts)
    prepared: list[_Signed] = []
    documents: list[SupervisedSigning] = []
    awaiting: list[int] = []
    for receipt in receipts:
        try:
            item, document = _prepare(receipt, ctx, owners)
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


def _number_owners(receipts: list[Receipt]) -> dict[tuple[str, int], list[int]]:
    """(receipt code, number) -> the receipts that carry it, for the chunk's receipts: one query."""
    owners: dict[tuple[str, int], list[int]] = defaultdict(list)
    rows = Receipt.objects.filter(
        receipt_code__in={r.receipt_code for r in receipts}, number__in={r.number for r in receipts}
    ).values_list("receipt_code", "number", "pk")
    for code, number, pk in rows:
        owners[(code, number)].append(pk)
    return owners


def _number_is_unique(receipt: Receipt, owners: dict[tuple[str, int], list[int]]) -> Callable[[str, int], bool]:
    def check(code: str, number: int) -> bool:
        if (code, number) in owners:
            return sorted(owners[(code, number)]) == [receipt.pk]
        # Not a pair of the chunk (the data file says otherwise than the receipt): ask the database.
        return list(Receipt.objects.filter(receipt_code=code, number=number).values_list("pk", flat=True)) == [
            receipt.pk
        ]

    return check


def _prepare(
    receipt: Receipt, ctx: SigningContext, owners: dict[tuple[str, int], list[int]]
) -> tuple[_Signed, SupervisedSigning]:
    """The certificates and checks a receipt's signing needs, and its unsigned data file."""
    unit_cert = ctx.unit_certificate(receipt.unit)
    if unit_cert is None:
        raise PermanentJobError(f"单位 {receipt.unit.code} 没有有效的签名证书，请先签发证书。")
    if unit_cert.key_custody != Certificate.KeyCustody.HOSTED:
        raise _AwaitingUnit
    bureau = ctx.bureau(receipt.unit)
    seal_cert = ctx.seal_certificate(bureau)
    if seal_cert is None:
        raise PermanentJobError(f"{bureau.name}没有有效的财政监制章证书。")
    ctx.check_chain(unit_cert, unit=receipt.unit)
    document = SupervisedSigning(
        xml=receipt_xml_build(receipt),
        unit_signer=ctx.signer(unit_cert),
        unit_certificate_serial=unit_cert.serial_number,
        unit_verify=ctx.verifier(unit_cert),
        number_is_unique=_number_is_unique(receipt, owners),
        signer=ctx.signer(seal_cert),
        certificate_serial=seal_cert.serial_number,
        signing_time=ctx.signing_time,
    )
    return _Signed(receipt=receipt, xml=b"", unit_cert=unit_cert, seal_cert=seal_cert), document


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
    """Status, file and serials of the receipts still pending, their audit rows and render jobs; returns the losers."""
    with transaction.atomic():
        won = _mark_signed(stored, signed_at=signed_at)
        winners = [item for item in stored if item.receipt.pk in won]
        lost = [item for item in stored if item.receipt.pk not in won]
        if winners:
            AuditEvent.objects.bulk_create([_audit(item, signed_at) for item in winners])
            jobs_create(receipts=[item.receipt for item in winners], step=ReceiptJob.Step.RENDER, existing_ok=True)
        # Another worker signed these first: keep its files, drop ours.
        names = [item.name for item in lost]
        if names:
            transaction.on_commit(lambda: [_delete_quietly(name) for name in names], robust=True)
    return lost


def _mark_signed(stored: list[_Signed], *, signed_at: datetime.datetime) -> set[int]:
    """The conditional UPDATE of every receipt still pending, at once; returns the ids it took.

    ``filter(pk=..., sign_status=PENDING).update(...)`` per receipt, in one statement:
    a CASE gives each receipt its file name, and RETURNING (PostgreSQL, SQLite >= 3.35)
    says which rows were still pending, so a receipt another worker signed first is
    left alone and reported lost.
    """
    quote = connection.ops.quote_name
    column = {name: quote(Receipt._meta.get_field(name).column) for name in _SIGNED_FIELDS}
    pk = quote(Receipt._meta.pk.column)  # type: ignore[union-attr]
    by_certificates: dict[tuple[str, str], list[_Signed]] = defaultdict(list)
    for item in stored:
        by_certificates[(item.unit_cert.serial_number, item.seal_cert.serial_number)].append(item)
    won: set[int] = set()
    with connection.cursor() as cursor:
        for (unit_serial, seal_serial), items in by_certificates.items():
            ids = [item.receipt.pk for item in items]
            sql = (
                f"UPDATE {quote(Receipt._meta.db_table)} SET {column['sign_status']} = %s, "
                f"{column['signed_at']} = %s, {column['unit_cert_serial']} = %s, "
                f"{column['supervisor_cert_serial']} = %s, "
                f"{column['datafile']} = CASE {pk} {' '.join(['WHEN %s THEN %s'] * len(items))} END "
                f"WHERE {pk} IN ({', '.join(['%s'] * len(ids))}) AND {column['sign_status']} = %s "
                f"RETURNING {pk}"
            )
            params: list[object] = [
                SignStatus.SIGNED.value,
                connection.ops.adapt_datetimefield_value(signed_at),
                unit_serial,
                seal_serial,
            ]
            for item in items:
                params += [item.receipt.pk, item.name]
            params += [*ids, SignStatus.PENDING.value]
            cursor.execute(sql, params)
            won.update(row[0] for row in cursor.fetchall())
    return won


_SIGNED_FIELDS = ("sign_status", "signed_at", "unit_cert_serial", "supervisor_cert_serial", "datafile")


def _audit(item: _Signed, signed_at: datetime.datetime) -> AuditEvent:
    return audit_build(
        actor=PIPELINE,
        action="receipt.sign",
        object_type="receipt",
        object_id=item.receipt.pk,
        unit_code=item.receipt.unit.code,
        region_code=item.receipt.region_code,
        data={
            "unitCert": item.unit_cert.serial_number,
            "supervisorCert": item.seal_cert.serial_number,
            "signedAt": signed_at.isoformat(),
        },
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
