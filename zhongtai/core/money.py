"""Money in fen-exact fixed point and its Chinese capital form (大写金额)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")

# Plain ASCII decimal notation: Decimal() alone would also take "1_000" or full-width "１２".
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿")


def to_fen_exact(value: Decimal) -> Decimal:
    """Return ``value`` quantised to fen; raise ValueError if that would lose digits."""
    try:
        quantised = value.quantize(FEN)
    except InvalidOperation as exc:  # more digits than the context holds (1E+30)
        raise ValueError("amount too large") from exc
    if quantised != value:
        raise ValueError("amount has more than two decimal places")
    return quantised


def round_to_fen(value: Decimal) -> Decimal:
    """Commercial rounding (四舍五入) to the fen."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def parse_decimal(value: object) -> Decimal:
    """Parse a JSON number or string into a finite Decimal; floats go through str()."""
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip()
    if not _NUMBER_RE.fullmatch(text):
        raise ValueError("not a number")
    try:
        result = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("not a number") from exc
    if not result.is_finite():
        raise ValueError("not a finite number")
    return result


def _group_text(group: int) -> str:
    """0 < group < 10000 in capitals, inner zeros collapsed to one 零."""
    text = []
    pending_zero = False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            pending_zero = bool(text)
            continue
        if pending_zero:
            text.append("零")
            pending_zero = False
        text.append(_DIGITS[digit] + _PLACES[position])
    return "".join(text)


def _integer_text(number: int) -> str:
    groups = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    text: list[str] = []
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(text)
            continue
        if text and (need_zero or group < 1000):
            text.append("零")
        text.append(_group_text(group) + _GROUPS[index])
        need_zero = False
    return "".join(text)


def amount_in_capitals(amount: Decimal) -> str:
    """壹佰贰拾元伍角整 for 120.50; 负 for negative (red-offset) amounts.

    Follows the bank-cheque convention: 整 after 元 or 角 when there are no fen,
    a single 零 for any run of zeros, 零 between 元 and 分 when 角 is zero.
    """
    amount = to_fen_exact(amount)
    if abs(amount) > MAX_AMOUNT:
        raise ValueError("amount too large")
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    if fen_total == 0:
        return "零元整"
    parts = [sign]
    if yuan:
        parts.append(_integer_text(yuan) + "元")
    if jiao:
        parts.append(_DIGITS[jiao] + "角")
    elif yuan and fen:
        parts.append("零")
    if fen:
        parts.append(_DIGITS[fen] + "分")
    else:
        parts.append("整")
    return "".join(parts)
