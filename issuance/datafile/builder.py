"""Building the unsigned data file (数据文件) of a receipt: root EInvoice, docs/signature.md.

Empty optional values are omitted, never written as empty elements; the schema
forbids empty values. The output is the platform's normal form (canonical.py): the
XML declaration, a line feed, and the exclusive canonical form of EInvoice, with no
whitespace between elements.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from lxml import etree

from issuance.datafile.canonical import document_bytes
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


def einvoice_id(receipt_code: str, number: int) -> str:
    """The stable id of a receipt's data file: its code followed by its 10-digit number."""
    return f"{receipt_code}{number:010d}"


def receipt_xml_build(receipt: Receipt, *, aux_items: Sequence[AuxItem] = ()) -> bytes:
    """The unsigned data file of ``receipt`` (items prefetched), UTF-8 with an XML declaration.

    Raises DataFileError when a stored value cannot be written (an XML-incompatible
    character, an amount with more than two decimals, a non-CNY currency). The result
    is not validated here; signing validates it.
    """
    root = etree.Element("EInvoice")
    header = _child(root, "Header")
    _leaf(header, "EInvoiceID", einvoice_id(receipt.receipt_code, receipt.number))
    _leaf(header, "EInvoiceTag", TAG_PREFIX + settings.EREC_PROVINCE_CODE)
    _leaf(header, "Version", CURRENT_VERSION)
    data = _child(root, "EInvoiceData")
    _main(_child(data, "Main"), receipt)
    details = _child(data, "Details")
    for line in sorted(receipt.items.all(), key=lambda line: line.line_no):
        _item(_child(details, "Item"), line)
    if aux_items:
        aux = _child(data, "AuxDetails")
        for aux_item in aux_items:
            _aux_item(_child(aux, "AuxItem"), aux_item)
    return document_bytes(root)


def _main(main: etree._Element, receipt: Receipt) -> None:
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
    _leaf(main, "EInvoiceName", receipt.kind.name)
    _leaf(main, "EInvoiceCode", receipt.receipt_code)
    _leaf(main, "EInvoiceNumber", receipt.number_text)
    _leaf(main, "RandomNumber", receipt.check_code)
    _leaf(main, "EInvoiceSpecimenCode", receipt.kind.specimen_code)
    _leaf(main, "SupervisorAreaCode", receipt.region_code)
    _leaf(main, "TotalAmount", _formatted(format_amount, receipt.total_amount, "TotalAmount"))
    _leaf(main, "IssueDate", format_date8(issued.date()))
    _leaf(main, "IssueTime", issued.strftime("%H:%M:%S"))
    party = _child(main, "InvoicingParty")
    _leaf(party, "InvoicingPartyCode", unit.credit_code)
    _leaf(party, "InvoicingPartyName", unit.name)
    _leaf(party, "RecName", receipt.payee_name)
    _leaf(party, "RecAcct", receipt.payee_account)
    _leaf(party, "RecOpBk", receipt.payee_bank)
    payer = _child(main, "PayerParty")
    _leaf(payer, "PayerPartyType", str(receipt.payer_type))
    _leaf(payer, "PayerPartyCode", receipt.payer_code)
    _leaf(payer, "PayerPartyName", receipt.payer_name)
    _leaf(payer, "PayerAcct", receipt.payer_account)
    _leaf(payer, "PayerOpBk", receipt.payer_bank)
    _leaf(main, "PayMode", receipt.pay_mode)
    _leaf(main, "BizCode", receipt.bus_no)
    _leaf(main, "CurrencyType", CURRENCY)
    _leaf(main, "Remark", receipt.remark)
    _leaf(main, "HandlingPerson", receipt.handling_person)
    _leaf(main, "Checker", receipt.checker)
    ext = list(_ext_values(receipt))
    if ext:
        main_ext = _child(main, "MainExt")
        for name, text in ext:
            _leaf(main_ext, name, text)


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


def _item(element: etree._Element, line: ReceiptItem) -> None:
    where = f"item {line.line_no}"
    _leaf(element, "ItemCode", line.item_code)
    _leaf(element, "ItemName", line.item_name)
    _leaf(element, "ItemQuantity", _formatted(format_quantity, line.quantity, where))
    _leaf(element, "ItemUnit", line.unit_of_measure)
    _leaf(element, "ItemStd", _formatted(format_price, line.standard, where))
    _leaf(element, "ItemAmount", _formatted(format_amount, line.amount, where))
    _leaf(element, "ItemRemark", line.remark)


def _aux_item(element: etree._Element, item: AuxItem) -> None:
    where = f"aux item {item.code}"
    _leaf(element, "AuxItemRelatedCode", item.related_code)
    _leaf(element, "AuxItemCode", item.code)
    _leaf(element, "AuxItemName", item.name)
    _leaf(element, "AuxItemQuantity", _formatted(format_quantity, item.quantity, where))
    _leaf(element, "AuxItemUnit", item.unit)
    _leaf(element, "AuxItemStd", _formatted(format_price, item.standard, where))
    _leaf(element, "AuxItemAmount", _formatted(format_amount, item.amount, where))
    _leaf(element, "AuxItemRemark", item.remark)


def _formatted(formatter: Callable[[Decimal], str], value: Decimal, where: str) -> str:
    try:
        return formatter(value)
    except ValueError as exc:
        raise DataFileError(DataFileErrorCode.UNREPRESENTABLE, f"{where}: {exc}") from exc


def _child(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, tag)


def _leaf(parent: etree._Element, tag: str, value: str | None) -> None:
    """Append <tag>value</tag>, or nothing when the value is empty."""
    if value is None or value == "":
        return
    element = etree.SubElement(parent, tag)
    try:
        element.text = value
    except ValueError as exc:  # a character XML 1.0 cannot carry (U+0001, U+FFFE, ...)
        raise DataFileError(DataFileErrorCode.UNREPRESENTABLE, f"{tag}: {exc}") from exc
