"""Error codes of public verification and the reimbursing parties' API (docs/api.md lists them)."""

from __future__ import annotations

from zhongtai.core.errors import ErrorCode


class VerificationError(ErrorCode):
    # The same answer for a missing receipt, a wrong check code, a sandbox receipt and a
    # receipt whose signatures are not complete yet: nothing tells them apart (查无此票).
    NO_SUCH_RECEIPT = "NO_SUCH_RECEIPT"
    PARTY_INACTIVE = "PARTY_INACTIVE"
    PARTY_INVALID = "PARTY_INVALID"
    ENTRY_DUPLICATE = "ENTRY_DUPLICATE"
    ENTRY_EXCEEDS_REMAINING = "ENTRY_EXCEEDS_REMAINING"
    ENTRY_RECEIPT_RED_OFFSET = "ENTRY_RECEIPT_RED_OFFSET"
    ENTRY_DATE_INVALID = "ENTRY_DATE_INVALID"
    ENTRY_NOT_FOUND = "ENTRY_NOT_FOUND"
    ENTRY_ALREADY_CANCELLED = "ENTRY_ALREADY_CANCELLED"
    # Cross-province verification (跨省查验) through the national platform.
    NATIONAL_UNAVAILABLE = "NATIONAL_UNAVAILABLE"
    ENTRY_FOREIGN_RECEIPT = "ENTRY_FOREIGN_RECEIPT"
