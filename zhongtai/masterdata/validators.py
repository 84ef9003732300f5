"""Validation of codes that master data carries (region codes, credit codes)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {ch: index for index, ch in enumerate(CREDIT_CODE_ALPHABET)}
# 3^(i-1) mod 31 for positions 1-17 (GB 32100-2015).
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

REGION_CODE_RE = re.compile(r"^[1-9][0-9]{5}\Z")
UNIT_CODE_RE = re.compile(r"^[0-9A-Z]{6,32}\Z")


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code for its first 17."""
    total = sum(_CREDIT_VALUE[ch] * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    value = 31 - total % 31
    return CREDIT_CODE_ALPHABET[0 if value == 31 else value]


def credit_code_problem(code: str) -> str | None:
    """None if ``code`` is a valid unified social credit code, else the reason in Chinese."""
    if len(code) != 18:
        return "统一社会信用代码应为 18 位。"
    bad = sorted({ch for ch in code if ch not in _CREDIT_VALUE})
    if bad:
        return f"统一社会信用代码含有不允许的字符：{''.join(bad)}（不使用 I、O、Z、S、V）。"
    if not code[2:8].isdigit():
        return "统一社会信用代码第 3-8 位应为登记管理机关行政区划码（数字）。"
    if credit_code_check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位不正确。"
    return None


def validate_credit_code(code: str) -> None:
    problem = credit_code_problem(code)
    if problem:
        raise ValidationError(problem, code="invalid_credit_code")


def validate_region_code(code: str) -> None:
    if not REGION_CODE_RE.match(code):
        raise ValidationError("行政区划代码应为 6 位数字。", code="invalid_region_code")


def validate_unit_code(code: str) -> None:
    if not UNIT_CODE_RE.match(code):
        raise ValidationError("单位编码应为 6-32 位数字或大写字母。", code="invalid_unit_code")
