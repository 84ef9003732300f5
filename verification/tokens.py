"""Download links of the public answer page: signed, expiring tokens.

A token names one receipt (by its database id, which nobody can guess the link from) and one
file, signed with the SECRET_KEY and a salt of its own and stamped with its time; it is
refused once ``EREC_VERIFY_DOWNLOAD_SECONDS`` have passed or when a single character changed.
So the links cannot be enumerated: only an answer page that found the receipt hands them out.

A receipt of another province has no id here: its token carries the elements it was found
with (code, number, check code, and the issue date and total if they were given), and the
download asks the national platform again (verification/foreign.py caches the answer briefly).
Only its data file (XML) can be named.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.conf import settings
from django.core import signing

_SALT = "verification.download.v1"


class FileKind(StrEnum):
    PDF = "pdf"  # the layout file (版式文件)
    XML = "xml"  # the signed data file (数据文件)


@dataclass(frozen=True)
class ForeignElements:
    """The elements another province's receipt was found with."""

    receipt_code: str
    number: int
    check_code: str
    issue_date: datetime.date | None = None
    total_amount: Decimal | None = None


@dataclass(frozen=True)
class DownloadTarget:
    receipt_id: int | None  # None for another province's receipt
    kind: FileKind
    foreign: ForeignElements | None = None


def download_token_make(*, receipt_id: int, kind: FileKind) -> str:
    return signing.dumps({"r": receipt_id, "f": kind.value}, salt=_SALT, compress=False)


def download_token_make_foreign(*, elements: ForeignElements) -> str:
    """A link to the data file (XML) of another province's receipt."""
    payload = {
        "c": elements.receipt_code,
        "n": elements.number,
        "k": elements.check_code,
        "d": elements.issue_date.isoformat() if elements.issue_date else "",
        "a": format(elements.total_amount, "f") if elements.total_amount is not None else "",
        "f": FileKind.XML.value,
    }
    return signing.dumps(payload, salt=_SALT, compress=False)


def _foreign_read(payload: dict) -> DownloadTarget | None:
    code, number, check_code = payload.get("c"), payload.get("n"), payload.get("k")
    if not isinstance(code, str) or not isinstance(number, int) or not isinstance(check_code, str):
        return None
    try:
        day = datetime.date.fromisoformat(payload["d"]) if payload.get("d") else None
        amount = Decimal(payload["a"]) if payload.get("a") else None
    except (TypeError, ValueError, InvalidOperation):
        return None
    if payload.get("f") != FileKind.XML.value:
        return None
    elements = ForeignElements(code, number, check_code, day, amount)
    return DownloadTarget(receipt_id=None, kind=FileKind.XML, foreign=elements)


def download_token_read(token: str) -> DownloadTarget | None:
    """The file a token names; None when it is forged, altered or expired."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.EREC_VERIFY_DOWNLOAD_SECONDS)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if isinstance(payload, dict) and "c" in payload:
        return _foreign_read(payload)
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int):
        return None
    try:
        return DownloadTarget(receipt_id=payload["r"], kind=FileKind(payload.get("f")))
    except ValueError:
        return None
