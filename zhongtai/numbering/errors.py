from __future__ import annotations

from zhongtai.core.errors import ErrorCode


class NumberingError(ErrorCode):
    NUMBERS_EXHAUSTED = "NUMBERS_EXHAUSTED"
    RANGE_EXHAUSTED = "RANGE_EXHAUSTED"
    RANGE_HOLDER_INVALID = "RANGE_HOLDER_INVALID"
    RANGE_COUNT_INVALID = "RANGE_COUNT_INVALID"
    RANGE_NOT_DIVISIBLE = "RANGE_NOT_DIVISIBLE"
