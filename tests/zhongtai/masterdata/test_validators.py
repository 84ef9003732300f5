"""Codes that master data carries: unified social credit codes, region codes, unit codes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError

from tests.support.factories import make_credit_code
from zhongtai.masterdata.validators import (
    CREDIT_CODE_ALPHABET,
    CREDIT_CODE_WEIGHTS,
    credit_code_check_char,
    credit_code_problem,
    validate_credit_code,
    validate_region_code,
    validate_unit_code,
)

# A published, valid unified social credit code (GB 32100-2015 check character 3).
PUBLIC_CODE = "91350100M000100Y43"


# --- unified social credit code ---------------------------------------------------------------


def test_known_public_credit_code_is_valid() -> None:
    assert credit_code_problem(PUBLIC_CODE) is None
    validate_credit_code(PUBLIC_CODE)


def test_check_character_of_the_public_code_is_computed() -> None:
    assert credit_code_check_char(PUBLIC_CODE[:17]) == "3"


def test_check_value_31_maps_to_zero() -> None:
    # given a first 17 whose weighted sum is a multiple of 31: 31 - 0 = 31, written 0
    first17 = "00000000000000000"
    assert credit_code_check_char(first17) == "0"


@pytest.mark.parametrize("serial", [1, 2, 77, 12345678])
def test_generated_codes_of_the_test_factories_are_valid(serial: int) -> None:
    assert credit_code_problem(make_credit_code(serial)) is None


def test_weights_are_powers_of_three_mod_31() -> None:
    assert tuple(3**i % 31 for i in range(17)) == CREDIT_CODE_WEIGHTS


def test_alphabet_has_31_symbols_without_i_o_z_s_v() -> None:
    assert len(CREDIT_CODE_ALPHABET) == 31
    assert not set("IOZSV") & set(CREDIT_CODE_ALPHABET)


@pytest.mark.parametrize("check", [ch for ch in CREDIT_CODE_ALPHABET if ch != "3"])
def test_every_other_check_character_is_refused(check: str) -> None:
    assert credit_code_problem(PUBLIC_CODE[:17] + check) == "统一社会信用代码校验位不正确。"


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters_are_refused_by_name(letter: str) -> None:
    code = PUBLIC_CODE[:8] + letter + PUBLIC_CODE[9:]
    problem = credit_code_problem(code)
    assert problem is not None
    assert "不允许的字符" in problem and letter in problem


@pytest.mark.parametrize("code", ["", PUBLIC_CODE[:17], PUBLIC_CODE + "0", "9135010"])
def test_wrong_length_is_refused(code: str) -> None:
    assert credit_code_problem(code) == "统一社会信用代码应为 18 位。"


def test_lower_case_is_refused_by_the_validator() -> None:
    # the model upper-cases in clean(); the validator itself is exact
    assert credit_code_problem(PUBLIC_CODE.lower()) is not None


def test_non_digit_region_part_is_refused() -> None:
    code = "91A50100M000100Y4"
    assert credit_code_problem(code + credit_code_check_char(code)) == (
        "统一社会信用代码第 3-8 位应为登记管理机关行政区划码（数字）。"
    )


def test_validator_raises_a_validation_error_with_its_code() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_credit_code(PUBLIC_CODE[:17] + "4")
    assert refused.value.code == "invalid_credit_code"


# --- region and unit codes ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["430000", "430100", "430102", "433100"])
def test_six_digit_region_codes_are_valid(code: str) -> None:
    validate_region_code(code)


@pytest.mark.parametrize("code", ["", "43000", "4300000", "030000", "43000a", "43 000"])
def test_malformed_region_codes_are_refused(code: str) -> None:
    with pytest.raises(ValidationError):
        validate_region_code(code)


@pytest.mark.parametrize("code", ["430102001", "ABC123", "A" * 32])
def test_unit_codes_of_6_to_32_digits_or_capitals_are_valid(code: str) -> None:
    validate_unit_code(code)


@pytest.mark.parametrize("code", ["ABC12", "A" * 33, "abc123", "430102-001", "430102 001"])
def test_malformed_unit_codes_are_refused(code: str) -> None:
    with pytest.raises(ValidationError):
        validate_unit_code(code)


@pytest.mark.parametrize("validator", [validate_region_code, validate_unit_code])
def test_code_with_a_trailing_newline_is_refused(validator: Callable[[str], None]) -> None:
    with pytest.raises(ValidationError):
        validator("430102\n")
