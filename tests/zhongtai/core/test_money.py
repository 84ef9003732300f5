"""Money: fen-exact decimals, half-up rounding, parsing, and amounts in capitals (大写)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zhongtai.core.money import MAX_AMOUNT, amount_in_capitals, parse_decimal, round_to_fen, to_fen_exact


@pytest.mark.parametrize(
    ("amount", "capitals"),
    [
        ("0.00", "零元整"),
        ("0.01", "壹分"),
        ("0.05", "伍分"),
        ("0.10", "壹角整"),
        ("0.50", "伍角整"),
        ("0.55", "伍角伍分"),
        ("1.00", "壹元整"),
        ("1.05", "壹元零伍分"),
        ("1.20", "壹元贰角整"),
        ("1.23", "壹元贰角叁分"),
        ("10", "壹拾元整"),
        ("15", "壹拾伍元整"),
        ("55.50", "伍拾伍元伍角整"),
        ("100.01", "壹佰元零壹分"),
        ("101", "壹佰零壹元整"),
        ("110", "壹佰壹拾元整"),
        ("120.50", "壹佰贰拾元伍角整"),
        ("1001", "壹仟零壹元整"),
        ("1010.10", "壹仟零壹拾元壹角整"),
        ("10001", "壹万零壹元整"),
        ("10100", "壹万零壹佰元整"),
        ("11000", "壹万壹仟元整"),
        ("100000", "壹拾万元整"),
        ("20000000", "贰仟万元整"),
        ("100000000", "壹亿元整"),
        ("100000001.01", "壹亿零壹元零壹分"),
        ("100010000", "壹亿零壹万元整"),
        ("110000000", "壹亿壹仟万元整"),
        ("1000010000", "壹拾亿零壹万元整"),
        ("1234567890.12", "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元壹角贰分"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("-0.05", "负伍分"),
        ("-120.50", "负壹佰贰拾元伍角整"),
        ("-100000001.01", "负壹亿零壹元零壹分"),
    ],
)
def test_amount_in_capitals(amount: str, capitals: str) -> None:
    assert amount_in_capitals(Decimal(amount)) == capitals


def test_negative_zero_in_capitals_is_zero() -> None:
    assert amount_in_capitals(Decimal("-0.00")) == "零元整"


@pytest.mark.parametrize("amount", ["0.001", "1.005", "12.3456"])
def test_amount_in_capitals_refuses_fractions_of_a_fen(amount: str) -> None:
    with pytest.raises(ValueError):
        amount_in_capitals(Decimal(amount))


@pytest.mark.parametrize("amount", [MAX_AMOUNT + Decimal("0.01"), -MAX_AMOUNT - Decimal("0.01"), Decimal("1E+30")])
def test_amount_in_capitals_refuses_amounts_beyond_the_maximum(amount: Decimal) -> None:
    with pytest.raises(ValueError):
        amount_in_capitals(amount)


# --- to_fen_exact, round_to_fen ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fen"),
    [("12.5", "12.50"), ("12", "12.00"), ("12.3400", "12.34"), ("1E+2", "100.00"), ("-0.1", "-0.10")],
)
def test_to_fen_exact_keeps_the_value_with_two_decimals(value: str, fen: str) -> None:
    result = to_fen_exact(Decimal(value))
    assert result == Decimal(fen)
    assert str(result) == fen


@pytest.mark.parametrize("value", ["12.345", "0.001", "0.0000001"])
def test_to_fen_exact_refuses_to_lose_digits(value: str) -> None:
    with pytest.raises(ValueError, match="two decimal places"):
        to_fen_exact(Decimal(value))


def test_to_fen_exact_refuses_values_too_large_to_quantize_with_a_value_error() -> None:
    with pytest.raises(ValueError):
        to_fen_exact(Decimal("1E+30"))


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        ("16.6665", "16.67"),  # half-up, where half-to-even would give 16.66
        ("2.675", "2.68"),  # exact in decimal (a float 2.675 rounds to 2.67)
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("-0.005", "-0.01"),  # away from zero
        ("12.5", "12.50"),
    ],
)
def test_round_to_fen_rounds_half_up(value: str, rounded: str) -> None:
    assert str(round_to_fen(Decimal(value))) == rounded


# --- parse_decimal -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("12.50", Decimal("12.50")),
        (" 12.5 ", Decimal("12.5")),
        ("-3", Decimal("-3")),
        ("+3", Decimal("3")),
        (".5", Decimal("0.5")),
        ("5.", Decimal("5")),
        ("1e2", Decimal("100")),
        ("1E-2", Decimal("0.01")),
        (12, Decimal("12")),
        (Decimal("0.1"), Decimal("0.1")),
        (0.1, Decimal("0.1")),  # a float goes through its shortest repr, not its binary value
        (1e-7, Decimal("1E-7")),
    ],
)
def test_parse_decimal_reads_numbers_and_decimal_strings(value: object, parsed: Decimal) -> None:
    result = parse_decimal(value)
    assert result == parsed
    assert isinstance(result, Decimal)


def test_parse_decimal_keeps_the_digits_given() -> None:
    assert str(parse_decimal("12.50")) == "12.50"


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        None,
        "",
        " ",
        "abc",
        "12,50",
        "1_000",  # Decimal() alone accepts digit separators
        "１２.５",  # full-width digits
        "٣",  # Arabic-Indic digit
        "0x10",
        "1e",
        "--1",
        "NaN",
        "-nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        Decimal("-Infinity"),
        [],
        {},
    ],
)
def test_parse_decimal_refuses_anything_but_a_finite_plain_number(value: object) -> None:
    with pytest.raises(ValueError):
        parse_decimal(value)
