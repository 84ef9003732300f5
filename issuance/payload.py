"""Parsing of an issuance request (开票请求) from untrusted JSON.

Structural problems (missing field, wrong type, bad format) are collected per field
path and reported together as ``INVALID_INPUT``. Business rules against master data
are checked later by :mod:`issuance.rules`. The parser is plain Python because a
batch of 500 receipts goes through it in one request.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from zhongtai.core.money import MAX_AMOUNT, parse_decimal
from zhongtai.masterdata.kind_fields import KIND_FIELDS

BUS_NO_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}\Z")  # \Z: $ would let a trailing newline through
KIND_CODE_RE = re.compile(r"^\d{4}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,32}$")
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
MAX_ITEMS = 200
MAX_QUANTITY = Decimal("99999999.9999")


@dataclass(frozen=True)
class PayerInput:
    type: int
    name: str
    code: str = ""
    phone: str = ""
    email: str = ""
    account: str = ""
    bank: str = ""


@dataclass(frozen=True)
class ItemInput:
    item_code: str
    quantity: Decimal
    standard: Decimal
    amount: Decimal
    item_name: str = ""
    remark: str = ""


@dataclass(frozen=True)
class IssueInput:
    bus_no: str | None
    bus_date: datetime.date | None
    kind_code: str
    issuing_point_code: str
    payer: PayerInput
    items: tuple[ItemInput, ...]
    total_amount: Decimal
    pay_mode: str = ""
    handling_person: str = ""
    checker: str = ""
    remark: str = ""
    ext: dict[str, Any] = field(default_factory=dict)

    def digest(self) -> str:
        """A digest of the request's meaning: the same request in other formatting
        (key order, whitespace, 12.5 vs "12.50") has the same digest."""
        canonical = {
            "busNo": self.bus_no,
            "busDate": self.bus_date.isoformat() if self.bus_date else None,
            "kindCode": self.kind_code,
            "issuingPointCode": self.issuing_point_code,
            "payer": self.payer.__dict__,
            "items": [
                {
                    "itemCode": i.item_code,
                    "itemName": i.item_name,
                    "quantity": _canon(i.quantity),
                    "standard": _canon(i.standard),
                    "amount": _canon(i.amount),
                    "remark": i.remark,
                }
                for i in self.items
            ],
            "totalAmount": _canon(self.total_amount),
            "payMode": self.pay_mode,
            "handlingPerson": self.handling_person,
            "checker": self.checker,
            "remark": self.remark,
            "ext": {k: _canon_ext(k, v) for k, v in sorted(self.ext.items()) if v is not None and v != ""},
        }
        blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def _canon(value: Decimal) -> str:
    try:
        normal = value.normalize()
    except ArithmeticError:  # beyond the context (1E+999999), possible in ext before the rules refuse it
        return str(value)
    return format(normal, "f")


def _canon_ext(name: str, value: Any) -> Any:
    """An ext value by meaning, as the rules store it: money by value, text trimmed.

    Values the rules will refuse are kept as given. Empty values are dropped by the caller.
    """
    spec = KIND_FIELDS.get(name)
    if spec is not None and spec.type == "money":
        try:
            return _canon(parse_decimal(value))
        except ValueError:
            return value
    if isinstance(value, Decimal):
        return _canon(value)
    return value.strip() if isinstance(value, str) else value


class PayloadErrors:
    """Field errors keyed by JSON path (``items[2].amount``), messages in Chinese."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, message)

    def __bool__(self) -> bool:
        return bool(self.fields)


class _Reader:
    def __init__(self, data: dict[str, Any], prefix: str, errors: PayloadErrors) -> None:
        self.data = data
        self.prefix = prefix
        self.errors = errors

    def path(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def text(
        self,
        name: str,
        *,
        max_length: int,
        required: bool = False,
        pattern: re.Pattern[str] | None = None,
        pattern_message: str = "",
    ) -> str:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.errors.add(self.path(name), "该字段为必填项。")
            return ""
        if not isinstance(value, str):
            self.errors.add(self.path(name), "应为字符串。")
            return ""
        value = value.strip()
        if required and not value:
            self.errors.add(self.path(name), "该字段为必填项。")
        elif len(value) > max_length:
            self.errors.add(self.path(name), f"长度不能超过 {max_length} 个字符。")
        elif pattern is not None and value and not pattern.match(value):
            self.errors.add(self.path(name), pattern_message or "格式不正确。")
        elif any(ord(ch) < 32 for ch in value):
            self.errors.add(self.path(name), "不能包含控制字符。")
        return value

    def decimal(
        self, name: str, *, places: int, minimum: Decimal | None, maximum: Decimal, required: bool = True
    ) -> Decimal:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.errors.add(self.path(name), "该字段为必填项。")
            return Decimal(0)
        try:
            number = parse_decimal(value)
        except ValueError:
            self.errors.add(self.path(name), "应为数字。")
            return Decimal(0)
        if abs(number) > maximum:
            self.errors.add(self.path(name), "数值过大。")
        elif number != number.quantize(Decimal(1).scaleb(-places)):
            self.errors.add(self.path(name), f"最多 {places} 位小数。")
        elif minimum is not None and number < minimum:
            self.errors.add(self.path(name), f"不能小于 {minimum}。")
        else:
            return number.quantize(Decimal(1).scaleb(-places))
        return Decimal(0)

    def date(self, name: str) -> datetime.date | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.errors.add(self.path(name), "应为 YYYY-MM-DD 格式的日期。")
            return None
        try:
            return datetime.date.fromisoformat(value) if len(value) == 10 else _bad_date()
        except ValueError:
            self.errors.add(self.path(name), "应为 YYYY-MM-DD 格式的日期。")
            return None


def _bad_date() -> datetime.date:
    raise ValueError("bad date")


def _check_unknown(data: dict[str, Any], allowed: set[str], prefix: str, errors: PayloadErrors) -> None:
    for key in data:
        if key not in allowed:
            errors.add(f"{prefix}{key}", "未知字段。")


_TOP_FIELDS = {
    "busNo",
    "busDate",
    "kindCode",
    "issuingPointCode",
    "payer",
    "items",
    "totalAmount",
    "payMode",
    "handlingPerson",
    "checker",
    "remark",
    "ext",
}
_PAYER_FIELDS = {"type", "name", "code", "phone", "email", "account", "bank"}
_ITEM_FIELDS = {"itemCode", "itemName", "quantity", "standard", "amount", "remark"}


def parse_issue_input(data: Any, *, require_bus_no: bool) -> tuple[IssueInput | None, PayloadErrors]:
    """Parse one issuance request; returns (input, errors) with input None when errors."""
    errors = PayloadErrors()
    if not isinstance(data, dict):
        errors.add("", "请求体应为 JSON 对象。")
        return None, errors
    _check_unknown(data, _TOP_FIELDS, "", errors)
    top = _Reader(data, "", errors)
    bus_no = top.text(
        "busNo",
        max_length=64,
        required=require_bus_no,
        pattern=BUS_NO_RE,
        pattern_message="业务流水号只能包含字母、数字、- 和 _，长度 1-64。",
    )
    bus_date = top.date("busDate")
    kind_code = top.text(
        "kindCode", max_length=4, required=True, pattern=KIND_CODE_RE, pattern_message="票据种类编码应为 4 位数字。"
    )
    issuing_point_code = top.text("issuingPointCode", max_length=20, pattern=CODE_RE)
    payer = _parse_payer(data.get("payer"), errors)
    items = _parse_items(data.get("items"), errors)
    total = top.decimal("totalAmount", places=2, minimum=Decimal("0.01"), maximum=MAX_AMOUNT)
    pay_mode = top.text("payMode", max_length=20)
    handling_person = top.text("handlingPerson", max_length=40)
    checker = top.text("checker", max_length=40)
    remark = top.text("remark", max_length=500)
    ext = data.get("ext") or {}
    if not isinstance(ext, dict):
        errors.add("ext", "应为 JSON 对象。")
        ext = {}
    if errors or payer is None:
        return None, errors
    return (
        IssueInput(
            bus_no=bus_no or None,
            bus_date=bus_date,
            kind_code=kind_code,
            issuing_point_code=issuing_point_code,
            payer=payer,
            items=tuple(items),
            total_amount=total,
            pay_mode=pay_mode,
            handling_person=handling_person,
            checker=checker,
            remark=remark,
            ext=dict(ext),
        ),
        errors,
    )


def _parse_payer(data: Any, errors: PayloadErrors) -> PayerInput | None:
    if not isinstance(data, dict):
        errors.add("payer", "交款人信息为必填项，应为 JSON 对象。")
        return None
    _check_unknown(data, _PAYER_FIELDS, "payer.", errors)
    reader = _Reader(data, "payer.", errors)
    payer_type = data.get("type")
    # Exactly the integers 1 and 2: True and 1.0 (a Decimal from the parser) compare equal to 1.
    if type(payer_type) is not int or payer_type not in (1, 2):
        errors.add("payer.type", "交款人类型应为 1（个人）或 2（单位）。")
        payer_type = 1
    name = reader.text("name", max_length=100, required=True)
    code = reader.text("code", max_length=40)
    phone = reader.text("phone", max_length=20, pattern=PHONE_RE, pattern_message="手机或电话号码格式不正确。")
    email = reader.text("email", max_length=100)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add("payer.email", "电子邮箱格式不正确。")
    account = reader.text("account", max_length=40)
    bank = reader.text("bank", max_length=100)
    return PayerInput(type=payer_type, name=name, code=code, phone=phone, email=email, account=account, bank=bank)


def _parse_items(data: Any, errors: PayloadErrors) -> list[ItemInput]:
    if not isinstance(data, list) or not data:
        errors.add("items", "项目明细为必填项，应为非空数组。")
        return []
    if len(data) > MAX_ITEMS:
        errors.add("items", f"一张票据最多 {MAX_ITEMS} 行项目明细。")
        return []
    items = []
    for index, raw in enumerate(data):
        prefix = f"items[{index}]."
        if not isinstance(raw, dict):
            errors.add(f"items[{index}]", "应为 JSON 对象。")
            continue
        _check_unknown(raw, _ITEM_FIELDS, prefix, errors)
        reader = _Reader(raw, prefix, errors)
        code = reader.text("itemCode", max_length=32, required=True, pattern=CODE_RE)
        name = reader.text("itemName", max_length=100)
        quantity = reader.decimal("quantity", places=4, minimum=Decimal("0.0001"), maximum=MAX_QUANTITY)
        standard = reader.decimal("standard", places=4, minimum=Decimal(0), maximum=MAX_AMOUNT)
        amount = reader.decimal("amount", places=2, minimum=Decimal("0.00"), maximum=MAX_AMOUNT)
        remark = reader.text("remark", max_length=200)
        items.append(
            ItemInput(
                item_code=code, item_name=name, quantity=quantity, standard=standard, amount=amount, remark=remark
            )
        )
    return items
