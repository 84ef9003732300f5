"""Building the unsigned data file (数据文件) of a receipt: root EInvoice, docs/signature.md.

Empty optional values are omitted, never written as empty elements; the schema
forbids empty values. The output is the platform's normal form (canonical.py): the
XML declaration, a line feed, and the exclusive canonical form of EInvoice, with no
whitespace between elements.

The document is written directly as text in that form rather than built as an lxml
tree and serialised: the data file has no namespaces, no attributes and no comments,
so its canonical form is each value escaped as C14N escapes text (``&``, ``<``, ``>``
and CR) between its start and end tags. Signing parses the result once, validates it
and checks that it is its own canonical form before anything is signed
(:func:`issuance.datafile.signatures.datafile_sign_and_supervise`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings

from issuance.datafile.canonical import XML_DECLARATION, XML_WHITESPACE
from issuance.datafile.errors import DataFileError, DataFileErrorCode
from issuance.datafile.formats import (
    ext_element_name,
    format_amount,
    format_date8,
    format_price,
    format_quantity,
    in_beijing,
)
from issuance.datafile.parse import AuxItem
from issuance.datafile.schema import CURRENT_VERSION
from zhongtai.masterdata.kind_fields import KIND_FIELDS

if TYPE_CHECKING:
    from issuance.models import Receipt, ReceiptItem

TAG_PREFIX = "CZ-EI-"
# No exchange rate is stored: receipts are in yuan.
CURRENCY = "CNY"
# SupervisorRemark of every receipt issued in the sandbox (联调测试): such receipts are never valid.
SANDBOX_REMARK = "联调测试票据，仅供测试，无效"

# What XML 1.0 cannot carry at all (production Char): C0 controls other than tab, LF and CR,
# surrogates, U+FFFE and U+FFFF. lxml refuses the same characters.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Exclusive C14N writes text with these four escaped, and nothing else.
_C14N_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
# Any character that is escaped or refused: most values have none and are written as they are.
_SPECIAL = re.compile("[^\t\n\x20-\x25\x27-\x3b\x3d\x3f-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def einvoice_id(receipt_code: str, number: int) -> str:
    """The stable id of a receipt's data file: its code followed by its 10-digit number."""
    return f"{receipt_code}{number:010d}"


class _Writer:
    """Appends elements to a document in the normal form (no attributes, no whitespace between elements)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[str] = []

    def open(self, tag: str) -> None:
        self.parts.append(f"<{tag}>")

    def close(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def leaf(self, tag: str, value: str | None) -> None:
        """Append <tag>value</tag>, or nothing when the value is empty."""
        if value is None or value == "":
            return
        if _SPECIAL.search(value) is not None or not value.strip(XML_WHITESPACE):
            value = _escaped(tag, value)
        self.parts.append(f"<{tag}>{value}</{tag}>")

    def document(self) -> bytes:
        return XML_DECLARATION + "".join(self.parts).encode("utf-8")


def _escaped(tag: str, value: str) -> str:
    """``value`` as exclusive C14N writes it as text, or DataFileError for a character XML cannot carry."""
    bad = _NOT_XML_CHAR.search(value)
    if bad is not None:
        raise DataFileError(
            DataFileErrorCode.UNREPRESENTABLE, f"{tag}: U+{ord(bad.group()):04X} is not a character XML 1.0 can carry"
        )
    if not value.strip(XML_WHITESPACE):
        # Whitespace-only text is not part of the normal form (canonical.py): the element is
        # written empty, which the schema then refuses, as it refuses every empty value.
        return ""
    return value.translate(_C14N_TEXT_ESCAPES)


def receipt_xml_build(
    receipt: Receipt, *, items: Sequence[ReceiptItem] | None = None, aux_items: Sequence[AuxItem] = ()
) -> bytes:
    """The unsigned data file of ``receipt``, UTF-8 with an XML declaration.

    ``items`` are the receipt's lines when the caller has loaded them; by default
    ``receipt.items.all()`` (prefetch them). Raises DataFileError when a stored value
    cannot be written (an XML-incompatible character, an amount with more than two
    decimals, a non-CNY currency). The result is not validated here; signing validates it.
    """
    out = _Writer()
    out.open("EInvoice")
    out.open("Header")
    out.leaf("EInvoiceID", einvoice_id(receipt.receipt_code, receipt.number))
    out.leaf("EInvoiceTag", TAG_PREFIX + settings.EREC_PROVINCE_CODE)
    out.leaf("Version", CURRENT_VERSION)
    out.close("Header")
    out.open("EInvoiceData")
    _main(out, receipt)
    out.open("Details")
    for line in sorted(receipt.items.all() if items is None else items, key=lambda line: line.line_no):
        _item(out, line)
    out.close("Details")
    if aux_items:
        out.open("AuxDetails")
        for aux_item in aux_items:
            _aux_item(out, aux_item)
        out.close("AuxDetails")
    out.close("EInvoiceData")
    out.close("EInvoice")
    return out.document()


def _main(out: _Writer, receipt: Receipt) -> None:
    issued = in_beijing(receipt.issued_at)
    if issued.date() != receipt.issue_date:
        raise DataFileError(
            DataFileErrorCode.UNREPRESENTABLE,
            f"issue_date {receipt.issue_date} is not the Beijing date of issued_at {issued.isoformat()}",
        )
    if receipt.currency != CURRENCY:
        raise DataFileError(
            DataFileErrorCode.UNREPRESENTABLE, f"currency {receipt.currency}: only {CURRENCY} receipts are supported"
        )
    unit = receipt.unit
    out.open("Main")
    out.leaf("EInvoiceName", receipt.kind.name)
    out.leaf("EInvoiceCode", receipt.receipt_code)
    out.leaf("EInvoiceNumber", receipt.number_text)
    out.leaf("RandomNumber", receipt.check_code)
    out.leaf("EInvoiceSpecimenCode", receipt.kind.specimen_code)
    out.leaf("SupervisorAreaCode", receipt.region_code)
    out.leaf("TotalAmount", _formatted(format_amount, receipt.total_amount, "TotalAmount"))
    out.leaf("IssueDate", format_date8(issued.date()))
    out.leaf("IssueTime", issued.strftime("%H:%M:%S"))
    out.open("InvoicingParty")
    out.leaf("InvoicingPartyCode", unit.credit_code)
    out.leaf("InvoicingPartyName", unit.name)
    out.leaf("RecName", receipt.payee_name)
    out.leaf("RecAcct", receipt.payee_account)
    out.leaf("RecOpBk", receipt.payee_bank)
    out.close("InvoicingParty")
    out.open("PayerParty")
    out.leaf("PayerPartyType", str(receipt.payer_type))
    out.leaf("PayerPartyCode", receipt.payer_code)
    out.leaf("PayerPartyName", receipt.payer_name)
    out.leaf("PayerAcct", receipt.payer_account)
    out.leaf("PayerOpBk", receipt.payer_bank)
    out.close("PayerParty")
    out.leaf("PayMode", receipt.pay_mode)
    out.leaf("BizCode", receipt.bus_no)
    out.leaf("CurrencyType", CURRENCY)
    out.leaf("Remark", receipt.remark)
    out.leaf("HandlingPerson", receipt.handling_person)
    out.leaf("Checker", receipt.checker)
    # Receipts issued in the sandbox (joint testing of an interface unit) say so in the signed data.
    if getattr(receipt, "sandbox", False):
        out.leaf("SupervisorRemark", SANDBOX_REMARK)
    ext = list(_ext_values(receipt))
    if ext:
        out.open("MainExt")
        for name, text in ext:
            out.leaf(name, text)
        out.close("MainExt")
    out.close("Main")


def _ext_values(receipt: Receipt) -> Iterable[tuple[str, str]]:
    """(element name, text) of MainExt in schema order: kind fields, then the original of a red receipt."""
    stored: dict[str, Any] = receipt.ext or {}
    unknown = sorted(set(stored) - set(KIND_FIELDS))
    if unknown:
        raise DataFileError(DataFileErrorCode.UNREPRESENTABLE, f"unknown kind-specific fields in ext: {unknown}")
    for name, spec in KIND_FIELDS.items():
        value = stored.get(name)
        if value is None or value == "":
            continue
        element = ext_element_name(name)
        if spec.type == "money":
            yield element, _formatted(format_amount, Decimal(str(value)), element)
        elif spec.type == "date":
            yield element, format_date8(datetime.date.fromisoformat(str(value)))
        elif spec.type == "int":
            yield element, str(int(value))
        else:
            yield element, str(value)
    if receipt.is_red and receipt.related_receipt is not None:
        yield "RelatedInvoiceCode", receipt.related_receipt.receipt_code
        yield "RelatedInvoiceNumber", receipt.related_receipt.number_text


def _item(out: _Writer, line: ReceiptItem) -> None:
    where = f"item {line.line_no}"
    out.open("Item")
    out.leaf("ItemCode", line.item_code)
    out.leaf("ItemName", line.item_name)
    out.leaf("ItemQuantity", _formatted(format_quantity, line.quantity, where))
    out.leaf("ItemUnit", line.unit_of_measure)
    out.leaf("ItemStd", _formatted(format_price, line.standard, where))
    out.leaf("ItemAmount", _formatted(format_amount, line.amount, where))
    out.leaf("ItemRemark", line.remark)
    out.close("Item")


def _aux_item(out: _Writer, item: AuxItem) -> None:
    where = f"aux item {item.code}"
    out.open("AuxItem")
    out.leaf("AuxItemRelatedCode", item.related_code)
    out.leaf("AuxItemCode", item.code)
    out.leaf("AuxItemName", item.name)
    out.leaf("AuxItemQuantity", _formatted(format_quantity, item.quantity, where))
    out.leaf("AuxItemUnit", item.unit)
    out.leaf("AuxItemStd", _formatted(format_price, item.standard, where))
    out.leaf("AuxItemAmount", _formatted(format_amount, item.amount, where))
    out.leaf("AuxItemRemark", item.remark)
    out.close("AuxItem")


def _formatted(formatter: Callable[[Decimal], str], value: Decimal, where: str) -> str:
    try:
        return formatter(value)
    except ValueError as exc:
        raise DataFileError(DataFileErrorCode.UNREPRESENTABLE, f"{where}: {exc}") from exc
