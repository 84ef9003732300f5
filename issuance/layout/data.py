"""The data a layout file shows (版式数据), free of Django models.

``LayoutData`` is built from a stored receipt today (``layout_data_from_receipt``) and
will be built from the signed XML later; the renderer only ever sees this class.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class LayoutItem:
    """One line of the item table (项目明细)."""

    code: str
    name: str
    unit: str
    quantity: Decimal
    standard: Decimal
    amount: Decimal
    remark: str = ""


@dataclass(frozen=True, slots=True)
class LayoutExtField:
    """A kind-specific data element (专属字段) with its printed label and value."""

    name: str
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class LayoutData:
    """Everything printed on a receipt's layout file.

    Amounts are signed: a red receipt (红票) carries a negative total and negative lines.
    """

    title: str
    kind_name: str
    specimen_code: str
    receipt_code: str
    number: str
    check_code: str
    issue_date: datetime.date
    payer_name: str
    items: tuple[LayoutItem, ...]
    total_amount: Decimal
    total_in_capitals: str
    payee_unit_name: str
    unit_seal_name: str
    supervision_seal_name: str
    payer_code: str = ""
    bus_no: str = ""
    pay_mode: str = ""
    remark: str = ""
    handling_person: str = ""
    checker: str = ""
    is_red: bool = False
    original_receipt_code: str = ""
    original_number: str = ""
    ext: tuple[LayoutExtField, ...] = ()
    # A sandbox receipt (联调测试票据): drawn with a watermark that says it is not valid.
    sandbox: bool = False

    def __post_init__(self) -> None:
        if not (len(self.receipt_code) == 8 and self.receipt_code.isdigit()):
            raise ValueError(f"receipt code must be 8 digits: {self.receipt_code!r}")
        if not (len(self.number) == 10 and self.number.isdigit()):
            raise ValueError(f"receipt number must be 10 digits: {self.number!r}")
        if self.is_red and not (self.original_receipt_code and self.original_number):
            raise ValueError("a red receipt must name the original receipt's code and number")

    def ext_value(self, name: str) -> LayoutExtField | None:
        for field in self.ext:
            if field.name == name:
                return field
        return None
