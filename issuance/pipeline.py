"""The steps of the receipt pipeline run by workers: sign (unit, then 财政监制) and render.

Each step is idempotent: it re-reads the receipt, does nothing if the step's result
is already recorded, and records its result with a conditional UPDATE so that two
workers racing on one receipt leave one signature and one file.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from issuance.datafile import datafile_sign, datafile_supervise, receipt_xml_build
from issuance.jobs import PermanentJobError, jobs_create
from issuance.layout import layout_data_from_receipt, render_receipt_pdf
from issuance.models import Receipt, ReceiptJob, SignStatus, _receipt_file_path
from zhongtai.audit.services import Actor, audit_record
from zhongtai.masterdata.models import FinanceBureau, Unit
from zhongtai.signing import sm2
from zhongtai.signing.models import Certificate
from zhongtai.signing.selectors import (
    ca_hierarchy_get,
    certificate_chain_verify,
    certificate_current_for_bureau,
    certificate_current_for_unit,
    crl_latest,
    signing_key_get,
)
from zhongtai.signing.services import province_of

logger = logging.getLogger(__name__)
PIPELINE = Actor.system("pipeline")


def _load(receipt_id: int) -> Receipt:
    return (
        Receipt.objects.select_related("kind", "unit", "unit__region", "issuing_point", "related_receipt")
        .prefetch_related("items")
        .get(pk=receipt_id)
    )


def supervising_bureau(unit: Unit) -> FinanceBureau:
    """The bureau whose seal supervises the unit's receipts: the province's finance department."""
    province = province_of(unit.region)
    try:
        return FinanceBureau.objects.get(region=province)
    except FinanceBureau.DoesNotExist as exc:
        raise PermanentJobError(f"{province.name}没有财政部门，无法加盖财政监制章。") from exc


def _signer(certificate: Certificate) -> Callable[[bytes], bytes]:
    key = signing_key_get(certificate=certificate)
    return lambda data: sm2.sign(key, data)


def _check_chain(certificate: Certificate, *, at: datetime.datetime) -> None:
    """The unit's certificate must chain to the province's root and be unrevoked at signing time."""
    hierarchy = ca_hierarchy_get(province=province_of(certificate.unit.region))  # type: ignore[union-attr]
    if hierarchy is None or hierarchy.root.certificate is None:
        raise PermanentJobError("本省尚未建立证书认证体系（CA）。")
    crl = crl_latest(authority=hierarchy.issuing)
    verdict = certificate_chain_verify(
        bytes(certificate.der),
        at=at,
        trusted_root_der=bytes(hierarchy.root.certificate.der),
        crl_der=bytes(crl.der) if crl is not None else None,
    )
    if not verdict.valid:
        raise PermanentJobError(f"单位签名证书校验未通过：{verdict.reason}")


def receipt_sign(receipt: Receipt) -> None:
    """Unit signature with the unit's hosted key, then the platform's checks and the supervision seal."""
    receipt = _load(receipt.pk)
    if receipt.sign_status != SignStatus.PENDING:
        return
    unit_cert = certificate_current_for_unit(unit=receipt.unit)
    if unit_cert is None:
        raise PermanentJobError(f"单位 {receipt.unit.code} 没有有效的签名证书，请先签发证书。")
    if unit_cert.key_custody != Certificate.KeyCustody.HOSTED:
        # The unit signs on its own premises (two-step interface); nothing for a worker to do.
        Receipt.objects.filter(pk=receipt.pk, sign_status=SignStatus.PENDING).update(
            sign_status=SignStatus.AWAITING_UNIT
        )
        return
    bureau = supervising_bureau(receipt.unit)
    seal_cert = certificate_current_for_bureau(bureau=bureau)
    if seal_cert is None:
        raise PermanentJobError(f"{bureau.name}没有有效的财政监制章证书。")
    signing_time = timezone.now().replace(microsecond=0)
    _check_chain(unit_cert, at=signing_time)
    unit_public = sm2.public_key_from_der(bytes(unit_cert.public_key_der))
    xml = datafile_sign(
        receipt_xml_build(receipt),
        role="unit",
        signer=_signer(unit_cert),
        certificate_serial=unit_cert.serial_number,
        signing_time=signing_time,
    )
    xml = datafile_supervise(
        xml,
        unit_verify=lambda data, signature: sm2.verify(unit_public, data, signature),
        number_is_unique=lambda code, number: (
            list(Receipt.objects.filter(receipt_code=code, number=number).values_list("pk", flat=True)) == [receipt.pk]
        ),
        signer=_signer(seal_cert),
        certificate_serial=seal_cert.serial_number,
        signing_time=signing_time,
    )
    _record_signed(receipt, xml=xml, unit_cert=unit_cert, seal_cert=seal_cert, signed_at=signing_time)


def _record_signed(
    receipt: Receipt, *, xml: bytes, unit_cert: Certificate, seal_cert: Certificate, signed_at: datetime.datetime
) -> None:
    name = default_storage.save(_receipt_file_path(receipt, "einvoice.xml"), ContentFile(xml))
    with transaction.atomic():
        won = Receipt.objects.filter(pk=receipt.pk, sign_status=SignStatus.PENDING).update(
            sign_status=SignStatus.SIGNED,
            signed_at=signed_at,
            datafile=name,
            unit_cert_serial=unit_cert.serial_number,
            supervisor_cert_serial=seal_cert.serial_number,
        )
        if not won:
            # Another worker signed it first: keep its file, drop ours.
            transaction.on_commit(lambda: default_storage.delete(name))
            return
        audit_record(
            actor=PIPELINE,
            action="receipt.sign",
            object_type="receipt",
            object_id=receipt.pk,
            unit_code=receipt.unit.code,
            region_code=receipt.region_code,
            data={
                "unitCert": unit_cert.serial_number,
                "supervisorCert": seal_cert.serial_number,
                "signedAt": signed_at.isoformat(),
            },
        )
        jobs_create(receipts=[receipt], step=ReceiptJob.Step.RENDER, existing_ok=True)


def receipt_render(receipt: Receipt) -> None:
    """The layout file (PDF) with the signed data file attached."""
    receipt = _load(receipt.pk)
    if receipt.layout_file:
        return
    if receipt.sign_status != SignStatus.SIGNED or not receipt.datafile:
        raise PermanentJobError("票据尚未完成签章，不能生成版式文件。")
    with receipt.datafile.open("rb") as handle:
        xml = handle.read()
    pdf = render_receipt_pdf(layout_data_from_receipt(receipt), xml=xml)
    name = default_storage.save(_receipt_file_path(receipt, "einvoice.pdf"), ContentFile(pdf))
    won = Receipt.objects.filter(pk=receipt.pk, layout_file="").update(layout_file=name)
    if not won:
        default_storage.delete(name)


STEP_HANDLERS: dict[str, Callable[[Receipt], None]] = {
    ReceiptJob.Step.SIGN: receipt_sign,
    ReceiptJob.Step.RENDER: receipt_render,
}
