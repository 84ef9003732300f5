"""One error shape for the whole platform.

Domain code raises :class:`ApplicationError` with a stable machine code (an
``ErrorCode`` member of the app that owns the rule) and a Chinese message for
people. The API maps it to ``{"code", "message", "extra"}``.
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.StrEnum):
    """Base for the per-app error-code enums. Members are ``NAME = "NAME"``."""


class CommonError(ErrorCode):
    INVALID_INPUT = "INVALID_INPUT"
    MALFORMED_BODY = "MALFORMED_BODY"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    AUTH_REQUIRED = "AUTH_REQUIRED"
    FORBIDDEN = "FORBIDDEN"
    THROTTLED = "THROTTLED"
    CONFLICT = "CONFLICT"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class ApplicationError(Exception):
    """A refusal with a reason: the request was understood and is not allowed."""

    status_code = 400

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        extra: dict[str, Any] | None = None,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.extra = extra or {}
        if status is not None:
            self.status_code = status

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "extra": self.extra}

    def __repr__(self) -> str:
        return f"ApplicationError({self.code!r}, {self.message!r}, {self.extra!r})"
