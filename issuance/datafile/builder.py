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
import functools
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
        """Append <tag>value</tag>, or nothing when the value is empty.

        For values from the database. Values the formatters of formats.py made are appended
        as they are by the callers (see :func:`_main`).
        """
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
    out.parts.append(f"<Version>{CURRENT_VERSION}</Version></Header><EInvoiceData>")
    _main(out, receipt)
    out.open("Details")
    for line in sorted(receipt.items.all() if items is None else items, key=_line_no):
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
    leaf = out.leaf
    # Values made here (numbers, dates, times) are digits, ".", "-" and ":" only:
    # never escaped, never empty, never whitespace. They are appended without leaf's checks;
    # every value from the database goes through leaf. The order of the calls is the order of
    # the elements, so a receipt with two bad values is refused for the first of them.
    append = out.parts.append
    append("<Main>")
    leaf("EInvoiceName", receipt.kind.name)
    leaf("EInvoiceCode", receipt.receipt_code)
    append(f"<EInvoiceNumber>{receipt.number_text}</EInvoiceNumber>")
    leaf("RandomNumber", receipt.check_code)
    leaf("EInvoiceSpecimenCode", receipt.kind.specimen_code)
    leaf("SupervisorAreaCode", receipt.region_code)
    total = _formatted(format_amount, receipt.total_amount, "TotalAmount")
    append(
        f"<TotalAmount>{total}</TotalAmount><IssueDate>{_date8(issued.date())}</IssueDate>"
        f"<IssueTime>{issued.hour:02d}:{issued.minute:02d}:{issued.second:02d}</IssueTime><InvoicingParty>"
    )
    leaf("InvoicingPartyCode", unit.credit_code)
    leaf("InvoicingPartyName", unit.name)
    leaf("RecName", receipt.payee_name)
    leaf("RecAcct", receipt.payee_account)
    leaf("RecOpBk", receipt.payee_bank)
    append("</InvoicingParty><PayerParty>")
    leaf("PayerPartyType", str(receipt.payer_type))
    leaf("PayerPartyCode", receipt.payer_code)
    leaf("PayerPartyName", receipt.payer_name)
    leaf("PayerAcct", receipt.payer_account)
    leaf("PayerOpBk", receipt.payer_bank)
    append("</PayerParty>")
    leaf("PayMode", receipt.pay_mode)
    leaf("BizCode", receipt.bus_no)
    append(f"<CurrencyType>{CURRENCY}</CurrencyType>")
    leaf("Remark", receipt.remark)
    leaf("HandlingPerson", receipt.handling_person)
    leaf("Checker", receipt.checker)
    # Receipts issued in the sandbox (joint testing of an interface unit) say so in the signed data.
    if getattr(receipt, "sandbox", False):
        append(f"<SupervisorRemark>{SANDBOX_REMARK}</SupervisorRemark>")
    ext = list(_ext_values(receipt))
    if ext:
        append("<MainExt>")
        for name, text, made_here in ext:
            if made_here:
                append(f"<{name}>{text}</{name}>")
            else:
                leaf(name, text)
        append("</MainExt>")
    append("</Main>")


# (field, MainExt element, type) of every kind field in schema order (KIND_FIELDS is fixed at import).
_EXT_FIELDS = tuple((name, ext_element_name(name), spec.type) for name, spec in KIND_FIELDS.items())


def _ext_values(receipt: Receipt) -> Iterable[tuple[str, str, bool]]:
    """(element name, text, made here) of MainExt in schema order: kind fields, then the original of a red receipt.

    "Made here" means written by a formatter (money, dates, integers), so never in need of
    escaping; text fields and the original's code come from the database.
    """
    stored: dict[str, Any] = receipt.ext or {}
    unknown = sorted(set(stored) - set(KIND_FIELDS))
    if unknown:
        raise DataFileError(DataFileErrorCode.UNREPRESENTABLE, f"unknown kind-specific fields in ext: {unknown}")
    if stored:
        for name, element, kind in _EXT_FIELDS:
            value = stored.get(name)
            if value is None or value == "":
                continue
            if kind == "money":
                yield element, _formatted(format_amount, Decimal(str(value)), element), True
            elif kind == "date":
                yield element, _date8(datetime.date.fromisoformat(str(value))), True
            elif kind == "int":
                yield element, str(int(value)), True
            else:
                yield element, str(value), False
    if receipt.is_red and receipt.related_receipt is not None:
        yield "RelatedInvoiceCode", receipt.related_receipt.receipt_code, False
        yield "RelatedInvoiceNumber", receipt.related_receipt.number_text, True


def _item(out: _Writer, line: ReceiptItem) -> None:
    # As in _main: formatted numbers are appended as they are, stored text goes through leaf.
    where = f"item {line.line_no}"
    leaf = out.leaf
    append = out.parts.append
    append("<Item>")
    leaf("ItemCode", line.item_code)
    leaf("ItemName", line.item_name)
    append(f"<ItemQuantity>{_formatted(format_quantity, line.quantity, where)}</ItemQuantity>")
    leaf("ItemUnit", line.unit_of_measure)
    standard = _formatted(format_price, line.standard, where)
    append(f"<ItemStd>{standard}</ItemStd><ItemAmount>{_formatted(format_amount, line.amount, where)}</ItemAmount>")
    leaf("ItemRemark", line.remark)
    append("</Item>")


def _aux_item(out: _Writer, item: AuxItem) -> None:
    where = f"aux item {item.code}"
    leaf = out.leaf
    append = out.parts.append
    append("<AuxItem>")
    leaf("AuxItemRelatedCode", item.related_code)
    leaf("AuxItemCode", item.code)
    leaf("AuxItemName", item.name)
    append(f"<AuxItemQuantity>{_formatted(format_quantity, item.quantity, where)}</AuxItemQuantity>")
    leaf("AuxItemUnit", item.unit)
    standard = _formatted(format_price, item.standard, where)
    append(
        f"<AuxItemStd>{standard}</AuxItemStd>"
        f"<AuxItemAmount>{_formatted(format_amount, item.amount, where)}</AuxItemAmount>"
    )
    leaf("AuxItemRemark", item.remark)
    append("</AuxItem>")


def _line_no(line: ReceiptItem) -> int:
    return line.line_no


@functools.lru_cache(maxsize=64)
def _date8(day: datetime.date) -> str:
    """:func:`format_date8`, remembered: strftime is a tenth of the builder, and a day's receipts share their dates."""
    return format_date8(day)


def _formatted(formatter: Callable[[Decimal], str], value: Decimal, where: str) -> str:
    try:
        return formatter(value)
    except ValueError as exc:
        raise DataFileError(DataFileErrorCode.UNREPRESENTABLE, f"{where}: {exc}") from exc
