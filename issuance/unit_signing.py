"""Two-step signing for units that keep their private key on their own premises (USB key, HSM).

1. prepare: the platform gives the exact bytes the unit signs (the canonical signed
   part of the data file, with the unit's certificate serial and a signing time);
2. submit: the unit sends its SM2 signature; the platform verifies it against the
   unit's certificate, checks the chain and the number, adds the 财政监制 signature
   and stores the signed data file.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from issuance.datafile import (
    DataFileError,
    datafile_add_signature,
    datafile_bytes_to_sign,
    datafile_supervise,
    datafile_verify_signature,
    receipt_xml_build,
)
from issuance.errors import IssuanceError
from issuance.jobs import jobs_create
from issuance.models import Receipt, ReceiptJob, SignStatus, _receipt_file_path
from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError
from zhongtai.national import services as national
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.models import Certificate
from zhongtai.signing.selectors import (
    ca_hierarchy_get,
    certificate_chain_verify,
    certificate_current_for_bureau,
    certificate_current_for_unit,
    signing_key_get,
)
from zhongtai.signing.services import province_of

# How far a submitted signing time may lie from the platform clock.
SIGNING_TIME_TOLERANCE = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class SigningPayload:
    certificate_serial: str
    signing_time: datetime.datetime
    bytes_to_sign: bytes
    unsigned_xml: bytes

    @property
    def sm3_hex(self) -> str:
        return sm2.sm3(self.bytes_to_sign).hex()

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.bytes_to_sign).hexdigest()


def _awaiting(receipt: Receipt) -> None:
    if receipt.sign_status != SignStatus.AWAITING_UNIT:
        raise ApplicationError(
            IssuanceError.UNIT_SIGNATURE_NOT_AWAITED,
            f"票据签章状态为“{receipt.get_sign_status_display()}”，不需要单位提交签名。",
            {"signStatus": receipt.sign_status},
            status=409,
        )


def _unit_certificate(receipt: Receipt, serial_hex: str | None = None) -> Certificate:
    certificate = certificate_current_for_unit(unit=receipt.unit)
    if certificate is None or certificate.key_custody != Certificate.KeyCustody.SUBSCRIBER:
        raise ApplicationError(IssuanceError.UNIT_CERTIFICATE_INVALID, "本单位没有有效的自持私钥签名证书。", status=409)
    if serial_hex is not None:
        try:
            same = certs.serial_from_hex(serial_hex) == certs.serial_from_hex(certificate.serial_number)
        except ValueError:
            same = False
        if not same:
            raise ApplicationError(
                IssuanceError.UNIT_CERTIFICATE_INVALID,
                "提交的证书序列号不是本单位当前有效的签名证书。",
                {"expected": certificate.serial_number},
                status=422,
            )
    return certificate


def receipt_signing_payload(*, receipt: Receipt) -> SigningPayload:
    """Step 1: what the unit must sign, with the signing time it must sign with."""
    _awaiting(receipt)
    certificate = _unit_certificate(receipt)
    signing_time = timezone.now().replace(microsecond=0)
    xml = receipt_xml_build(receipt)
    data = datafile_bytes_to_sign(
        xml, role="unit", certificate_serial=certificate.serial_number, signing_time=signing_time
    )
    return SigningPayload(certificate.serial_number, signing_time, data, xml)


def receipt_unit_signature_submit(
    *, receipt: Receipt, certificate_serial: str, signing_time: datetime.datetime, signature: bytes, actor: Actor
) -> Receipt:
    """Step 2: verify the unit's signature, supervise, store; idempotent for the same receipt."""
    _awaiting(receipt)
    certificate = _unit_certificate(receipt, certificate_serial)
    now = timezone.now()
    if abs(now - signing_time) > SIGNING_TIME_TOLERANCE:
        raise ApplicationError(
            IssuanceError.SIGNING_TIME_INVALID, "签名时间与平台时间相差超过 30 分钟，请重新获取待签数据。", status=422
        )
    _chain_check(certificate, at=signing_time)
    public = sm2.public_key_from_der(bytes(certificate.public_key_der))
    try:
        xml = datafile_add_signature(
            receipt_xml_build(receipt),
            role="unit",
            signature=signature,
            certificate_serial=certificate.serial_number,
            signing_time=signing_time,
        )
    except DataFileError as exc:
        raise ApplicationError(
            IssuanceError.UNIT_SIGNATURE_INVALID, f"单位签名无法写入数据文件：{exc}", status=422
        ) from exc
    check = datafile_verify_signature(xml, role="unit", verify=lambda d, s: sm2.verify(public, d, s))
    if not check.valid:
        raise ApplicationError(
            IssuanceError.UNIT_SIGNATURE_INVALID,
            "单位签名验证未通过：签名与待签数据或证书公钥不符。",
            {"reason": check.reason},
            status=422,
        )
    seal = _seal_certificate(receipt)
    seal_key = signing_key_get(certificate=seal)
    xml = datafile_supervise(
        xml,
        unit_verify=lambda d, s: sm2.verify(public, d, s),
        number_is_unique=lambda code, number: (
            list(
                Receipt.objects.filter(receipt_code=code, number=number, sandbox=receipt.sandbox).values_list(
                    "pk", flat=True
                )
            )
            == [receipt.pk]
        ),
        signer=lambda data: sm2.sign(seal_key, data),
        certificate_serial=seal.serial_number,
        signing_time=now.replace(microsecond=0),
    )
    name = default_storage.save(_receipt_file_path(receipt, "einvoice.xml"), ContentFile(xml))
    with transaction.atomic():
        won = Receipt.objects.filter(pk=receipt.pk, sign_status=SignStatus.AWAITING_UNIT).update(
            sign_status=SignStatus.SIGNED,
            signed_at=now,
            datafile=name,
            unit_cert_serial=certificate.serial_number,
            supervisor_cert_serial=seal.serial_number,
        )
        if not won:
            transaction.on_commit(lambda: default_storage.delete(name))
            raise ApplicationError(IssuanceError.UNIT_SIGNATURE_NOT_AWAITED, "票据已完成签章。", status=409)
        audit_record(
            actor=actor,
            action="receipt.sign",
            object_type="receipt",
            object_id=receipt.pk,
            unit_code=receipt.unit.code,
            region_code=receipt.region_code,
            data={
                "unitCert": certificate.serial_number,
                "supervisorCert": seal.serial_number,
                "keyCustody": "subscriber",
                "signedAt": now.isoformat(),
            },
        )
        jobs_create(receipts=[receipt], step=ReceiptJob.Step.RENDER, existing_ok=True)
        national.receipts_signed_dispatch(receipt_ids=[] if receipt.sandbox else [receipt.pk])
    receipt.refresh_from_db()
    return receipt


def _chain_check(certificate: Certificate, *, at: datetime.datetime) -> None:
    hierarchy = ca_hierarchy_get(province=province_of(certificate.unit.region))  # type: ignore[union-attr]
    if hierarchy is None or hierarchy.root.certificate is None:
        raise ApplicationError(IssuanceError.UNIT_CERTIFICATE_INVALID, "本省尚未建立证书认证体系。", status=409)
    # Revocation comes from the platform's own records (certificate_current_for_unit returns
    # only unrevoked certificates); the CRL is for third parties and may be days old.
    verdict = certificate_chain_verify(
        bytes(certificate.der), at=at, trusted_root_der=bytes(hierarchy.root.certificate.der)
    )
    if not verdict.valid:
        raise ApplicationError(
            IssuanceError.UNIT_CERTIFICATE_INVALID, f"单位签名证书校验未通过：{verdict.reason}", status=422
        )


def _seal_certificate(receipt: Receipt) -> Certificate:
    from issuance.jobs import PermanentJobError
    from issuance.pipeline import supervising_bureau

    try:
        bureau = supervising_bureau(receipt.unit)
    except PermanentJobError as exc:
        raise ApplicationError(IssuanceError.UNIT_CERTIFICATE_INVALID, str(exc), status=409) from exc
    seal = certificate_current_for_bureau(bureau=bureau)
    if seal is None:
        raise ApplicationError(
            IssuanceError.UNIT_CERTIFICATE_INVALID, f"{bureau.name}没有有效的财政监制章证书。", status=409
        )
    return seal
