from __future__ import annotations

from zhongtai.core.errors import ErrorCode


class MessagingError(ErrorCode):
    """Why a message to a payer was refused."""

    CHANNEL_UNKNOWN = "CHANNEL_UNKNOWN"
    RECIPIENT_INVALID = "RECIPIENT_INVALID"
    RECEIPT_NOT_SIGNED = "RECEIPT_NOT_SIGNED"
    RECEIPT_SANDBOX = "RECEIPT_SANDBOX"
    SEND_LIMIT_REACHED = "SEND_LIMIT_REACHED"
