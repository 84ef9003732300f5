"""Download links of the public answer page: signed, expiring tokens.

A token names one receipt (by its database id, which nobody can guess the link from) and one
file, signed with the SECRET_KEY and a salt of its own and stamped with its time; it is
refused once ``EREC_VERIFY_DOWNLOAD_SECONDS`` have passed or when a single character changed.
So the links cannot be enumerated: only an answer page that found the receipt hands them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core import signing

_SALT = "verification.download.v1"


class FileKind(StrEnum):
    PDF = "pdf"  # the layout file (版式文件)
    XML = "xml"  # the signed data file (数据文件)


@dataclass(frozen=True)
class DownloadTarget:
    receipt_id: int
    kind: FileKind


def download_token_make(*, receipt_id: int, kind: FileKind) -> str:
    return signing.dumps({"r": receipt_id, "f": kind.value}, salt=_SALT, compress=False)


def download_token_read(token: str) -> DownloadTarget | None:
    """The file a token names; None when it is forged, altered or expired."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.EREC_VERIFY_DOWNLOAD_SECONDS)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int):
        return None
    try:
        return DownloadTarget(receipt_id=payload["r"], kind=FileKind(payload.get("f")))
    except ValueError:
        return None
