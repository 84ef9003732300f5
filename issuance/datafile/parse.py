"""Reading a data file into plain values, for the verifier, the layout renderer and the archive."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from issuance.datafile.canonical import SignatureRole
from issuance.datafile.formats import BEIJING, ext_element_name, parse_date8, parse_signing_time
from issuance.datafile.schema import datafile_load, validate_tree
from zhongtai.masterdata.kind_fields import KIND_FIELDS


@dataclass(frozen=True)
class InvoicingParty:
    """开票单位 and its payee account (收款人)."""

    code: str  # unified social credit code
    name: str
    payee_name: str = ""
    payee_account: str = ""
    payee_bank: str = ""


@dataclass(frozen=True)
class PayerParty:
    """交款人."""

    type: int  # 1 person, 2 organisation
    name: str
    code: str = ""
    account: str = ""
    bank: str = ""


@dataclass(frozen=True)
class Item:
    """One line of Details (项目明细)."""

    code: str
    name: str
    quantity: Decimal
    standard: Decimal
    amount: Decimal
    unit: str = ""
    remark: str = ""


@dataclass(frozen=True)
class AuxItem:
    """One line of AuxDetails (辅助明细, e.g. a medical itemised list)."""

    code: str
    name: str
    quantity: Decimal
    standard: Decimal
    amount: Decimal
    unit: str = ""
    remark: str = ""
    related_code: str = ""  # the ItemCode of the Details line it belongs to


@dataclass(frozen=True)
class SignatureInfo:
    role: SignatureRole
    algorithm: str
    algorithm_oid: str
    canonicalization: str
    certificate_serial: str
    signing_time: datetime.datetime
    value: bytes  # DER


@dataclass(frozen=True)
class DataFile:
    """The content of a data file. Money and quantities are Decimals; ``ext`` is shaped like ``Receipt.ext``."""

    einvoice_id: str
    tag: str
    version: str
    kind_name: str
    receipt_code: str
    number: int
    check_code: str
    specimen_code: str
    region_code: str
    total_amount: Decimal
    issued_at: datetime.datetime  # aware, Beijing time
    unit: InvoicingParty
    payer: PayerParty
    currency: str
    items: tuple[Item, ...]
    pay_mode: str = ""
    bus_no: str = ""
    exchange_rate: Decimal | None = None
    remark: str = ""
    handling_person: str = ""
    checker: str = ""
    supervisor_remark: str = ""
    ext: dict[str, Any] = field(default_factory=dict)
    related_receipt_code: str = ""
    related_number: int | None = None
    pay_code: str = ""
    aux_items: tuple[AuxItem, ...] = ()
    signatures: tuple[SignatureInfo, ...] = ()

    @property
    def number_text(self) -> str:
        return f"{self.number:010d}"

    @property
    def issue_date(self) -> datetime.date:
        return self.issued_at.date()

    @property
    def is_red(self) -> bool:
        return self.related_number is not None

    def signature(self, role: SignatureRole | str) -> SignatureInfo | None:
        return next((s for s in self.signatures if s.role == role), None)


def _text(parent: etree._Element, path: str) -> str:
    return parent.findtext(path) or ""


def _ext_value(kind: str, text: str) -> Any:
    """The value as ``Receipt.ext`` stores it: money as a 2-decimal string, dates ISO, ints as int."""
    if kind == "date":
        return parse_date8(text).isoformat()
    if kind == "int":
        return int(text)
    return text


def datafile_parse(xml_bytes: bytes) -> DataFile:
    """Validate (XSD and consistency rules) and read a data file; raises DataFileError."""
    tree = datafile_load(xml_bytes)
    validate_tree(tree)
    root = tree.getroot()
    main = root.find("EInvoiceData/Main")
    assert main is not None
    ext_element = main.find("MainExt")
    ext: dict[str, Any] = {}
    if ext_element is not None:
        for name, spec in KIND_FIELDS.items():
            found = ext_element.find(ext_element_name(name))
            if found is not None and found.text:
                ext[name] = _ext_value(spec.type, found.text)
    related_number = _text(main, "MainExt/RelatedInvoiceNumber")
    exchange_rate = _text(main, "ExchangeRate")
    day = parse_date8(_text(main, "IssueDate"))
    time = datetime.time.fromisoformat(_text(main, "IssueTime"))
    return DataFile(
        einvoice_id=_text(root, "Header/EInvoiceID"),
        tag=_text(root, "Header/EInvoiceTag"),
        version=_text(root, "Header/Version"),
        kind_name=_text(main, "EInvoiceName"),
        receipt_code=_text(main, "EInvoiceCode"),
        number=int(_text(main, "EInvoiceNumber")),
        check_code=_text(main, "RandomNumber"),
        specimen_code=_text(main, "EInvoiceSpecimenCode"),
        region_code=_text(main, "SupervisorAreaCode"),
        total_amount=Decimal(_text(main, "TotalAmount")),
        issued_at=datetime.datetime.combine(day, time, tzinfo=BEIJING),
        unit=InvoicingParty(
            code=_text(main, "InvoicingParty/InvoicingPartyCode"),
            name=_text(main, "InvoicingParty/InvoicingPartyName"),
            payee_name=_text(main, "InvoicingParty/RecName"),
            payee_account=_text(main, "InvoicingParty/RecAcct"),
            payee_bank=_text(main, "InvoicingParty/RecOpBk"),
        ),
        payer=PayerParty(
            type=int(_text(main, "PayerParty/PayerPartyType")),
            code=_text(main, "PayerParty/PayerPartyCode"),
            name=_text(main, "PayerParty/PayerPartyName"),
            account=_text(main, "PayerParty/PayerAcct"),
            bank=_text(main, "PayerParty/PayerOpBk"),
        ),
        pay_mode=_text(main, "PayMode"),
        bus_no=_text(main, "BizCode"),
        currency=_text(main, "CurrencyType"),
        exchange_rate=Decimal(exchange_rate) if exchange_rate else None,
        remark=_text(main, "Remark"),
        handling_person=_text(main, "HandlingPerson"),
        checker=_text(main, "Checker"),
        supervisor_remark=_text(main, "SupervisorRemark"),
        ext=ext,
        related_receipt_code=_text(main, "MainExt/RelatedInvoiceCode"),
        related_number=int(related_number) if related_number else None,
        pay_code=_text(main, "MainExt/PayCode"),
        items=tuple(
            Item(
                code=_text(item, "ItemCode"),
                name=_text(item, "ItemName"),
                quantity=Decimal(_text(item, "ItemQuantity")),
                unit=_text(item, "ItemUnit"),
                standard=Decimal(_text(item, "ItemStd")),
                amount=Decimal(_text(item, "ItemAmount")),
                remark=_text(item, "ItemRemark"),
            )
            for item in root.iterfind("EInvoiceData/Details/Item")
        ),
        aux_items=tuple(
            AuxItem(
                related_code=_text(item, "AuxItemRelatedCode"),
                code=_text(item, "AuxItemCode"),
                name=_text(item, "AuxItemName"),
                quantity=Decimal(_text(item, "AuxItemQuantity")),
                unit=_text(item, "AuxItemUnit"),
                standard=Decimal(_text(item, "AuxItemStd")),
                amount=Decimal(_text(item, "AuxItemAmount")),
                remark=_text(item, "AuxItemRemark"),
            )
            for item in root.iterfind("EInvoiceData/AuxDetails/AuxItem")
        ),
        signatures=tuple(
            SignatureInfo(
                role=SignatureRole(signature.get("Role")),
                algorithm=_text(signature, "SignatureAlgorithm"),
                algorithm_oid=_text(signature, "SignatureAlgorithmOID"),
                canonicalization=_text(signature, "CanonicalizationMethod"),
                certificate_serial=_text(signature, "CertificateSerial"),
                signing_time=parse_signing_time(_text(signature, "SigningTime")),
                value=base64.b64decode(_text(signature, "SignatureValue"), validate=True),
            )
            for signature in root.iterfind("Signatures/Signature")
        ),
    )
