"""The verification form (查验表单): the three elements, optional date or payer, and the captcha."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils import timezone

from verification.captcha import captcha_check

RECEIPT_CODE_RE = re.compile(r"^[0-9]{8}\Z")
RECEIPT_NUMBER_RE = re.compile(r"^[0-9]{10}\Z")
CHECK_CODE_RE = re.compile(r"^[0-9a-f]{6}\Z")
# The QR code's query parameters (issuance/layout/verify_url.py) and the fields they fill.
QR_PARAMETERS = {"c": "receipt_code", "n": "number", "k": "check_code", "d": "issue_date", "a": "amount"}


def _plain(value: str) -> str:
    """Full-width digits and letters (from a phone keyboard) to ASCII, spaces removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))


class VerifyForm(forms.Form):
    receipt_code = forms.CharField(
        label="票据代码",
        max_length=32,
        error_messages={"required": "请输入票据代码。", "max_length": "票据代码应为 8 位数字。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "8 位数字"}),
    )
    number = forms.CharField(
        label="票据号码",
        max_length=32,
        error_messages={"required": "请输入票据号码。", "max_length": "票据号码应为 10 位数字。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "10 位数字"}),
    )
    check_code = forms.CharField(
        label="校验码",
        max_length=32,
        error_messages={"required": "请输入校验码。", "max_length": "校验码应为 6 位。"},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false", "placeholder": "6 位字符"}
        ),
    )
    issue_date = forms.DateField(
        label="开票日期（选填）",
        required=False,
        input_formats=["%Y-%m-%d", "%Y%m%d"],
        error_messages={"invalid": "开票日期格式应为 YYYY-MM-DD，如 2026-01-31。"},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    payer_name = forms.CharField(
        label="交款人（选填）",
        required=False,
        max_length=100,
        error_messages={"max_length": "交款人最多 100 个字。"},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    # Only the QR link carries the total (the national platform's fifth element; negative on a red receipt).
    amount = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=2,
        error_messages={
            "invalid": "二维码中的金额格式不正确。",
            "max_digits": "二维码中的金额格式不正确。",
            "max_decimal_places": "二维码中的金额格式不正确。",
            "max_whole_digits": "二维码中的金额格式不正确。",
        },
        widget=forms.HiddenInput,
    )
    captcha_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    captcha = forms.CharField(
        label="验证码",
        required=False,
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "maxlength": "5"}
        ),
    )

    def __init__(self, *args: Any, require_captcha: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.require_captcha = require_captcha

    @classmethod
    def from_qr(cls, query: Mapping[str, str]) -> VerifyForm:
        """The form as a scanned QR link fills it; no captcha (the link carries the check code)."""
        return cls({field: query.get(name, "") for name, field in QR_PARAMETERS.items()}, require_captcha=False)

    def clean_receipt_code(self) -> str:
        value = _plain(self.cleaned_data["receipt_code"])
        if not RECEIPT_CODE_RE.match(value):
            raise forms.ValidationError("票据代码应为 8 位数字。")
        return value

    def clean_number(self) -> str:
        value = _plain(self.cleaned_data["number"])
        if not RECEIPT_NUMBER_RE.match(value):
            raise forms.ValidationError("票据号码应为 10 位数字（含前导 0）。")
        return value

    def clean_check_code(self) -> str:
        value = _plain(self.cleaned_data["check_code"]).lower()
        if not CHECK_CODE_RE.match(value):
            raise forms.ValidationError("校验码应为 6 位，由数字 0-9 和字母 a-f 组成。")
        return value

    def clean_issue_date(self) -> Any:
        value = self.cleaned_data.get("issue_date")
        if value is not None and value > timezone.localdate():
            raise forms.ValidationError("开票日期不能晚于今天。")
        return value

    def clean_payer_name(self) -> str:
        return unicodedata.normalize("NFKC", self.cleaned_data.get("payer_name") or "").strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.require_captcha:
            answer = _plain(cleaned.get("captcha") or "")
            if not answer:
                self.add_error("captcha", "请输入验证码。")
            elif not captcha_check(captcha_id=cleaned.get("captcha_id") or "", answer=answer):
                self.add_error("captcha", "验证码错误或已过期，请重新输入。")
        return cleaned
