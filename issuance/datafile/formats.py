"""How values are written in the data file: money, prices, quantities, dates, times, names.

Every function here is exact: a value that the format cannot carry without loss
(a third decimal in an amount, a fifth in a price) raises ValueError instead of
being rounded, because a rounded figure in a signed document is a wrong figure.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from zhongtai.core.money import MAX_AMOUNT

# Beijing time. A fixed offset rather than the Asia/Shanghai zone: the data file
# promises "+08:00" literally, and the zone had summer time in 1986-1991.
BEIJING = datetime.timezone(datetime.timedelta(hours=8), "UTC+08:00")

_FEN = Decimal("0.01")
_FOUR_PLACES = Decimal("0.0001")
MAX_QUANTITY = Decimal("9999999999.9999")


def _decimal(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"not a finite Decimal: {value!r}")
    return value


def _quantize(value: Decimal, exponent: Decimal) -> Decimal:
    try:
        quantised = value.quantize(exponent)
    except InvalidOperation as exc:
        raise ValueError(f"{value} is too large") from exc
    if quantised != value:
        raise ValueError(f"{value} has more decimals than the format allows")
    return quantised


def format_amount(value: Decimal) -> str:
    """Money: exactly two decimals, minus sign for red amounts, zero as 0.00 (never -0.00)."""
    amount = _quantize(_decimal(value), _FEN)
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"{value} exceeds {MAX_AMOUNT}")
    return format(abs(amount) if amount == 0 else amount, "f")


def format_price(value: Decimal) -> str:
    """A unit price: two decimals when it is a whole number of fen, else 3 or 4 without trailing zeros."""
    price = _quantize(_decimal(value), _FOUR_PLACES)
    if price < 0:
        raise ValueError(f"a price cannot be negative: {value}")
    if price > MAX_AMOUNT:
        raise ValueError(f"{value} exceeds {MAX_AMOUNT}")
    in_fen = price.quantize(_FEN)
    if in_fen == price:
        return format(in_fen, "f")
    return format(price, "f").rstrip("0")


def format_quantity(value: Decimal) -> str:
    """A quantity in its shortest decimal form (2, 1.5, -0.25); never zero, at most 4 decimals."""
    quantity = _quantize(_decimal(value), _FOUR_PLACES)
    if quantity == 0:
        raise ValueError("a quantity cannot be zero")
    if abs(quantity) > MAX_QUANTITY:
        raise ValueError(f"{value} exceeds {MAX_QUANTITY}")
    text = format(quantity, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_date8(day: datetime.date) -> str:
    return day.strftime("%Y%m%d")


def parse_date8(text: str) -> datetime.date:
    """yyyyMMdd to a date; ValueError for a date that does not exist (20250230)."""
    return datetime.date(int(text[0:4]), int(text[4:6]), int(text[6:8]))


def in_beijing(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no defined instant; pass an aware datetime")
    return moment.astimezone(BEIJING)


def format_signing_time(moment: datetime.datetime) -> str:
    """ISO 8601 in Beijing time to the second (fractions are truncated): 2026-01-05T10:15:31+08:00."""
    return in_beijing(moment).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def parse_signing_time(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=BEIJING)


def ext_element_name(field_name: str) -> str:
    """The MainExt element of a kind-specific field: its registry name with the first letter upper-cased."""
    return field_name[:1].upper() + field_name[1:]
