"""Helpers of the simulator's tests: real signed receipts of the test PKI turned into events."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from issuance.models import Receipt
from tests.issuance.test_verifier import issue_signed
from tests.support.natsim import Natsim
from zhongtai.signing import x509 as certs

OCCURRED = "2026-11-27T10:00:00+08:00"


def certificates_pem(pki: dict[str, Any]) -> str:
    """The unit's and the seal's certificates, and the issuing CA between them and the root."""
    ders = [pki["unit_cert"].der, pki["seal_cert"].der, pki["ca"].issuing.certificate.der]
    return b"".join(certs.der_to_pem(bytes(der)) for der in ders).decode("ascii")


def issued_event(receipt: Receipt, pki: dict[str, Any], *, content: bytes | None = None) -> dict[str, Any]:
    data_file = content if content is not None else receipt.datafile.open("rb").read()
    related = receipt.related_receipt
    return {
        "receiptCode": receipt.receipt_code,
        "number": receipt.number,
        "seq": 1,
        "type": "issued",
        "occurredAt": OCCURRED,
        "data": {
            "issueDate": receipt.issue_date.isoformat(),
            "totalAmount": f"{receipt.total_amount:.2f}",
            "unitCode": receipt.unit.code,
            "unitName": receipt.unit.name,
            "kindCode": receipt.kind.code,
            "checkCode": receipt.check_code,
            "isRed": receipt.is_red,
            "relatedCode": related.receipt_code if related else None,
            "relatedNumber": related.number if related else None,
            "dataFile": base64.b64encode(data_file).decode("ascii"),
            "dataFileSha256": hashlib.sha256(data_file).hexdigest(),
            "certificates": certificates_pem(pki),
        },
    }


def status_event(receipt_code: str, number: int, seq: int, kind: str, **data: Any) -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        "red_offset": {"redCode": receipt_code, "redNumber": number + 1},
        "paper_converted": {"paperNumber": "ZZ00000001"},
        "paper_recovered": {"paperNumber": "ZZ00000001"},
        "entered": {
            "partyCode": "91430100MA4L000001",
            "partyName": "某报销单位",
            "amount": "10.00",
            "entryDate": "2026-11-27",
        },
        "entry_cancelled": {
            "partyCode": "91430100MA4L000001",
            "partyName": "某报销单位",
            "amount": "10.00",
            "entryDate": "2026-11-27",
        },
    }
    return {
        "receiptCode": receipt_code,
        "number": number,
        "seq": seq,
        "type": kind,
        "occurredAt": OCCURRED,
        "data": {**defaults[kind], **data},
    }


@pytest.fixture
def sim(natsim: Natsim, pki: dict[str, Any]) -> Natsim:
    """The simulator, emptied, with 430000 registered with the test PKI's root."""
    natsim.purge()
    natsim.register_pki(pki)
    return natsim


@pytest.fixture
def signed(api: Any, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Receipt:
    return issue_signed(api, django_capture_on_commit_callbacks)
