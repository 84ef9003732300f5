"""The JSON of an event as ``POST /v1/events`` takes it (docs/national.md), built at sending time.

An ``issued`` event carries the receipt's signed data file as stored (base64 and its
SHA-256) and the PEM of the certificates that signed it, with the issuing CA's, so that
the receiver needs nothing but the province's root. Status events carry the data
written with them.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.utils import timezone

from issuance.models import Receipt, SignStatus
from zhongtai.national.models import EventType, NationalEvent
from zhongtai.signing.models import Certificate
from zhongtai.signing.x509 import der_to_pem

CENT = Decimal("0.01")


class PayloadUnavailable(Exception):
    """The event cannot be built now (its receipt's data file is missing or unreadable)."""


def money_text(amount: Decimal) -> str:
    """Two decimals, as the contract writes amounts: ``55.50``, ``-55.50``."""
    return format(amount.quantize(CENT), "f")


def receipt_datafile(receipt: Receipt) -> bytes:
    """The signed data file exactly as stored (the bytes whose SHA-256 the digests use)."""
    if receipt.sign_status != SignStatus.SIGNED or not receipt.datafile:
        raise PayloadUnavailable(f"票据 {receipt} 尚未完成签章，没有数据文件。")
    try:
        with receipt.datafile.open("rb") as handle:
            return handle.read()
    except OSError as exc:
        raise PayloadUnavailable(f"票据 {receipt} 的数据文件无法读取：{exc}") from exc


class CertificatePems:
    """The PEM of the certificates a chunk's receipts were signed with, looked up once per chunk."""

    def __init__(self, receipts: Iterable[Receipt]) -> None:
        serials = set()
        for receipt in receipts:
            serials.update({receipt.unit_cert_serial, receipt.supervisor_cert_serial})
        serials.discard("")
        rows = Certificate.objects.filter(serial_number__in=serials).select_related("issued_by")
        self._pems: dict[str, str] = {}
        self._issuers: dict[str, str] = {}
        for certificate in rows:
            self._pems[certificate.serial_number] = der_to_pem(bytes(certificate.der)).decode("ascii")
            issuer = _issuer_certificate(certificate)
            if issuer is not None:
                self._issuers[certificate.serial_number] = der_to_pem(bytes(issuer.der)).decode("ascii")

    def for_receipt(self, receipt: Receipt) -> str:
        """The unit's certificate, the supervision seal's, then their issuing CA's (each once)."""
        blocks: list[str] = []
        for serial in (receipt.unit_cert_serial, receipt.supervisor_cert_serial):
            pem = self._pems.get(serial)
            if pem is None:
                raise PayloadUnavailable(f"票据 {receipt} 的签名证书 {serial or '（空）'} 不存在。")
            blocks.append(pem)
        for serial in (receipt.unit_cert_serial, receipt.supervisor_cert_serial):
            issuer = self._issuers.get(serial)
            if issuer is not None and issuer not in blocks:
                blocks.append(issuer)
        return "".join(blocks)


def _issuer_certificate(certificate: Certificate) -> Certificate | None:
    """The certificate of the CA that issued ``certificate``, unless it is the root (self-signed) itself."""
    issuer = certificate.issued_by
    if issuer is None or issuer.issued_by_id is None:  # the receiver has the root already
        return None
    return issuer


def issued_data(receipt: Receipt, *, certificates: CertificatePems) -> dict[str, Any]:
    datafile = receipt_datafile(receipt)
    related = receipt.related_receipt
    return {
        "issueDate": receipt.issue_date.isoformat(),
        "totalAmount": money_text(receipt.total_amount),
        "unitCode": receipt.unit.credit_code,
        "unitName": receipt.unit.name,
        "kindCode": receipt.kind.code,
        "checkCode": receipt.check_code,
        "isRed": receipt.is_red,
        "relatedCode": related.receipt_code if related is not None else None,
        "relatedNumber": related.number if related is not None else None,
        "dataFile": base64.b64encode(datafile).decode("ascii"),
        "dataFileSha256": hashlib.sha256(datafile).hexdigest(),
        "certificates": certificates.for_receipt(receipt),
    }


def event_payload(event: NationalEvent, *, certificates: CertificatePems) -> dict[str, Any]:
    """One element of ``events`` for ``event`` (its receipt loaded with unit, kind and original)."""
    receipt = event.receipt
    data = issued_data(receipt, certificates=certificates) if event.type == EventType.ISSUED else dict(event.data)
    return {
        "receiptCode": receipt.receipt_code,
        "number": receipt.number,
        "seq": event.seq,
        "type": event.type,
        "occurredAt": timezone.localtime(event.occurred_at).isoformat(),
        "data": data,
    }
