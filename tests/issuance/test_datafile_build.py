"""The data file of a receipt: built from receipts issued through the API, valid against the XSD,
every element of docs/signature.md present and formatted exactly."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from lxml import etree

from issuance.datafile import (
    SANDBOX_REMARK,
    AuxItem,
    DataFileError,
    DataFileErrorCode,
    datafile_parse,
    datafile_validate,
    receipt_xml_build,
)
from issuance.datafile.canonical import document_bytes
from issuance.datafile.formats import format_amount, format_price, format_quantity, format_signing_time
from issuance.models import Receipt, ReceiptItem
from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import ISSUE
from zhongtai.core.money import amount_in_capitals
from zhongtai.masterdata.models import ReceiptKind, Unit

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

REQUIRED_PATHS = (
    "Header/EInvoiceID",
    "Header/EInvoiceTag",
    "Header/Version",
    "EInvoiceData/Main/EInvoiceName",
    "EInvoiceData/Main/EInvoiceCode",
    "EInvoiceData/Main/EInvoiceNumber",
    "EInvoiceData/Main/RandomNumber",
    "EInvoiceData/Main/EInvoiceSpecimenCode",
    "EInvoiceData/Main/SupervisorAreaCode",
    "EInvoiceData/Main/TotalAmount",
    "EInvoiceData/Main/IssueDate",
    "EInvoiceData/Main/IssueTime",
    "EInvoiceData/Main/InvoicingParty/InvoicingPartyCode",
    "EInvoiceData/Main/InvoicingParty/InvoicingPartyName",
    "EInvoiceData/Main/PayerParty/PayerPartyType",
    "EInvoiceData/Main/PayerParty/PayerPartyName",
    "EInvoiceData/Main/CurrencyType",
    "EInvoiceData/Details/Item/ItemCode",
    "EInvoiceData/Details/Item/ItemName",
    "EInvoiceData/Details/Item/ItemQuantity",
    "EInvoiceData/Details/Item/ItemStd",
    "EInvoiceData/Details/Item/ItemAmount",
)


def issued(api: Any, payload: dict[str, Any]) -> Receipt:
    """Issue through the API and load the receipt as the data file builder gets it."""
    response = api.post(ISSUE, payload)
    assert response.status_code == 201, response.json()
    body = response.json()
    return (
        Receipt.objects.select_related("kind", "unit", "related_receipt")
        .prefetch_related("items")
        .get(receipt_code=body["receiptCode"], number=int(body["receiptNumber"]))
    )


def red_offset_of(receipt: Receipt, number: int) -> Receipt:
    """A red receipt of ``receipt`` written as the red-offset service will (negated lines)."""
    red = Receipt.objects.create(
        receipt_code=receipt.receipt_code,
        number=number,
        check_code="0a1b2c",
        kind=receipt.kind,
        unit=receipt.unit,
        region_code=receipt.region_code,
        is_red=True,
        related_receipt=receipt,
        bus_date=receipt.bus_date,
        source=Receipt.Source.API,
        issued_by="tests",
        issued_at=receipt.issued_at + datetime.timedelta(seconds=1),
        issue_date=receipt.issue_date,
        payer_type=receipt.payer_type,
        payer_name=receipt.payer_name,
        total_amount=-receipt.total_amount,
        total_amount_upper=amount_in_capitals(-receipt.total_amount),
        ext=receipt.ext,
    )
    for line in receipt.items.all():
        red.items.create(
            line_no=line.line_no,
            fee_item=line.fee_item,
            item_code=line.item_code,
            item_name=line.item_name,
            unit_of_measure=line.unit_of_measure,
            quantity=-line.quantity,
            standard=line.standard,
            amount=-line.amount,
        )
    return Receipt.objects.select_related("kind", "unit", "related_receipt").prefetch_related("items").get(pk=red.pk)


def tree_of(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


# --- built from issued receipts ---------------------------------------------------------------


def test_nontax_receipt_builds_a_valid_data_file_with_every_element(api: Any) -> None:
    # given a non-tax receipt issued through the API
    receipt = issued(api, nontax_payload())
    # when its data file is built
    xml = receipt_xml_build(receipt)
    # then it is UTF-8 with the declaration, valid against the XSD, and carries every required element
    assert xml.startswith(XML_DECLARATION)
    datafile_validate(xml)
    root = tree_of(xml)
    missing = [path for path in REQUIRED_PATHS if root.find(path) is None]
    assert missing == []
    main = root.find("EInvoiceData/Main")
    assert main is not None
    assert root.findtext("Header/EInvoiceID") == receipt.receipt_code + receipt.number_text
    assert root.findtext("Header/EInvoiceTag") == "CZ-EI-43"
    assert root.findtext("Header/Version") == "1.0.0"
    issued_at = receipt.issued_at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert {child.tag: child.text for child in main if len(child) == 0} == {
        "EInvoiceName": "非税收入统一票据",
        "EInvoiceCode": receipt.receipt_code,
        "EInvoiceNumber": receipt.number_text,
        "RandomNumber": receipt.check_code,
        "EInvoiceSpecimenCode": "FS0101",
        "SupervisorAreaCode": "430102",
        "TotalAmount": "55.50",
        "IssueDate": issued_at.strftime("%Y%m%d"),
        "IssueTime": issued_at.strftime("%H:%M:%S"),
        "PayMode": "微信",
        "BizCode": "BUS0001",
        "CurrencyType": "CNY",
        "HandlingPerson": "李收款",
        "Checker": "王复核",
    }
    assert main.findtext("InvoicingParty/InvoicingPartyCode") == receipt.unit.credit_code
    assert main.findtext("InvoicingParty/InvoicingPartyName") == "长沙市芙蓉区人民医院"
    assert main.findtext("InvoicingParty/RecAcct") == receipt.unit.payee_account
    assert [(c.tag, c.text) for c in main.find("PayerParty")] == [("PayerPartyType", "1"), ("PayerPartyName", "张三")]
    assert main.find("MainExt") is None
    items = [[(c.tag, c.text) for c in item] for item in root.iterfind("EInvoiceData/Details/Item")]
    assert items == [
        [
            ("ItemCode", "F0001"),
            ("ItemName", "证书工本费"),
            ("ItemQuantity", "2"),
            ("ItemUnit", "本"),
            ("ItemStd", "10.00"),
            ("ItemAmount", "20.00"),
        ],
        [
            ("ItemCode", "F0002"),
            ("ItemName", "考试考务费"),
            ("ItemQuantity", "1"),
            ("ItemUnit", "人·科"),
            ("ItemStd", "35.50"),
            ("ItemAmount", "35.50"),
        ],
    ]


def test_contact_data_of_the_payer_is_not_in_the_data_file(api: Any) -> None:
    # given a payer with a phone number (used to deliver the receipt, not part of it)
    receipt = issued(api, nontax_payload())
    # then the data file does not carry it
    assert receipt.payer_phone
    assert receipt.payer_phone.encode() not in receipt_xml_build(receipt)


def test_medical_receipt_carries_split_and_visit_data_in_main_ext(api: Any) -> None:
    # given an outpatient receipt with the insurance split and visit data
    receipt = issued(api, outpatient_payload(ext={**outpatient_payload()["ext"], "visitDate": "2026-01-05"}))
    # when built
    xml = receipt_xml_build(receipt)
    datafile_validate(xml)
    # then MainExt holds the kind-specific fields, in registry order, money with two decimals
    main_ext = tree_of(xml).find("EInvoiceData/Main/MainExt")
    assert main_ext is not None
    assert [(c.tag, c.text) for c in main_ext] == [
        ("MedicalInsuranceType", "职工医保"),
        ("VisitNumber", "MZ20261126001"),
        ("Department", "内科"),
        ("VisitDate", "20260105"),
        ("FundPay", "15.00"),
        ("PersonalAccountPay", "5.00"),
        ("PersonalCashPay", "5.00"),
    ]
    # and reading the file back gives the receipt's ext as stored
    assert datafile_parse(xml).ext == receipt.ext


def test_red_receipt_names_its_original_and_carries_negative_amounts(api: Any) -> None:
    # given a red receipt offsetting an issued one
    original = issued(api, nontax_payload())
    red = red_offset_of(original, number=original.number + 1)
    # when built
    xml = receipt_xml_build(red)
    datafile_validate(xml)
    root = tree_of(xml)
    # then MainExt names the original and every amount is negative
    assert root.findtext("EInvoiceData/Main/MainExt/RelatedInvoiceCode") == original.receipt_code
    assert root.findtext("EInvoiceData/Main/MainExt/RelatedInvoiceNumber") == original.number_text
    assert root.findtext("EInvoiceData/Main/TotalAmount") == "-55.50"
    assert root.xpath("EInvoiceData/Details/Item/ItemQuantity/text()") == ["-2", "-1"]
    assert root.xpath("EInvoiceData/Details/Item/ItemStd/text()") == ["10.00", "35.50"]
    assert root.xpath("EInvoiceData/Details/Item/ItemAmount/text()") == ["-20.00", "-35.50"]
    parsed = datafile_parse(xml)
    assert parsed.is_red
    assert (parsed.related_receipt_code, parsed.related_number) == (original.receipt_code, original.number)


def test_parse_reads_back_what_was_built(api: Any) -> None:
    receipt = issued(api, nontax_payload(remark="窗口 A & B <加急>"))
    parsed = datafile_parse(receipt_xml_build(receipt))
    assert (parsed.receipt_code, parsed.number, parsed.check_code) == (
        receipt.receipt_code,
        receipt.number,
        receipt.check_code,
    )
    assert parsed.issued_at == receipt.issued_at.replace(microsecond=0)
    assert parsed.issue_date == receipt.issue_date
    assert parsed.total_amount == receipt.total_amount
    assert parsed.remark == "窗口 A & B <加急>"
    assert (parsed.payer.type, parsed.payer.name) == (1, "张三")
    assert parsed.unit.code == receipt.unit.credit_code
    assert [(i.code, i.quantity, i.standard, i.amount) for i in parsed.items] == [
        (line.item_code, line.quantity, line.standard, line.amount) for line in receipt.items.all()
    ]
    assert parsed.signatures == ()


def test_the_tag_follows_the_province_setting(api: Any) -> None:
    receipt = issued(api, nontax_payload())
    with override_settings(EREC_PROVINCE_CODE="32"):
        xml = receipt_xml_build(receipt)
    assert tree_of(xml).findtext("Header/EInvoiceTag") == "CZ-EI-32"


def test_the_issue_time_is_beijing_time(api: Any) -> None:
    # given a receipt issued at 23:30 UTC (07:30 the next day in Beijing)
    receipt = issued(api, nontax_payload())
    receipt.issued_at = datetime.datetime(2026, 1, 4, 23, 30, 5, 999999, tzinfo=datetime.UTC)
    receipt.issue_date = datetime.date(2026, 1, 5)
    # then date and time are Beijing's, to the second
    main = tree_of(receipt_xml_build(receipt)).find("EInvoiceData/Main")
    assert main is not None
    assert (main.findtext("IssueDate"), main.findtext("IssueTime")) == ("20260105", "07:30:05")


def test_a_receipt_whose_date_disagrees_with_its_time_is_refused(api: Any) -> None:
    receipt = issued(api, nontax_payload())
    receipt.issue_date = receipt.issue_date - datetime.timedelta(days=1)
    with pytest.raises(DataFileError) as caught:
        receipt_xml_build(receipt)
    assert caught.value.code is DataFileErrorCode.UNREPRESENTABLE


def test_a_character_xml_cannot_carry_is_refused_with_the_element_name(api: Any) -> None:
    receipt = issued(api, nontax_payload())
    receipt.remark = "bell \x07"
    with pytest.raises(DataFileError) as caught:
        receipt_xml_build(receipt)
    assert caught.value.code is DataFileErrorCode.UNREPRESENTABLE
    assert "Remark" in caught.value.message


def test_an_unknown_ext_field_is_refused_not_dropped(api: Any) -> None:
    receipt = issued(api, outpatient_payload())
    receipt.ext = {**receipt.ext, "bedNumber": "12"}
    with pytest.raises(DataFileError, match="bedNumber"):
        receipt_xml_build(receipt)


def test_aux_details_are_written_after_details(api: Any) -> None:
    # given an outpatient receipt and its itemised list
    receipt = issued(api, outpatient_payload())
    aux = [
        AuxItem(
            related_code="C0105",
            code="C010501",
            name="普通门诊诊查费",
            quantity=Decimal("1"),
            unit="次",
            standard=Decimal("25.0000"),
            amount=Decimal("25.00"),
        )
    ]
    # when built with it
    xml = receipt_xml_build(receipt, aux_items=aux)
    # then AuxDetails is valid and reads back
    datafile_validate(xml)
    assert [c.tag for c in tree_of(xml).find("EInvoiceData")] == ["Main", "Details", "AuxDetails"]
    assert datafile_parse(xml).aux_items == (
        AuxItem(
            related_code="C0105",
            code="C010501",
            name="普通门诊诊查费",
            quantity=Decimal("1"),
            unit="次",
            standard=Decimal("25.00"),
            amount=Decimal("25.00"),
        ),
    )


def test_the_built_document_is_compact_and_in_canonical_form(api: Any) -> None:
    # given a built data file
    xml = receipt_xml_build(issued(api, outpatient_payload()))
    body = xml[len(XML_DECLARATION) :]
    # then after the declaration it is one line, with no whitespace between elements, and is its own canonical form
    assert b"\n" not in body and b">\x20<" not in body
    assert etree.tostring(etree.fromstring(xml), method="c14n", exclusive=True, with_comments=False) == body


# --- value formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("55.5", "55.50"),
        ("0.05", "0.05"),
        ("-25", "-25.00"),
        ("-0.00", "0.00"),
        ("0", "0.00"),
        ("999999999999.99", "999999999999.99"),
        ("1E+2", "100.00"),
    ],
)
def test_amounts_have_exactly_two_decimals(value: str, text: str) -> None:
    assert format_amount(Decimal(value)) == text


@pytest.mark.parametrize("value", ["0.005", "1000000000000.00", "NaN", "Infinity"])
def test_amounts_that_cannot_be_written_exactly_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        format_amount(Decimal(value))


def test_floats_are_not_money() -> None:
    with pytest.raises(ValueError):
        format_amount(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("10", "10.00"),
        ("10.0000", "10.00"),
        ("0.5", "0.50"),
        ("0.125", "0.125"),
        ("0.1250", "0.125"),
        ("12.3456", "12.3456"),
        ("12.3400", "12.34"),
        ("0.0001", "0.0001"),
        ("0", "0.00"),
    ],
)
def test_prices_have_two_decimals_or_up_to_four_without_trailing_zeros(value: str, text: str) -> None:
    assert format_price(Decimal(value)) == text


@pytest.mark.parametrize("value", ["0.00001", "-1"])
def test_prices_with_a_fifth_decimal_or_below_zero_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        format_price(Decimal(value))


@pytest.mark.parametrize(
    ("value", "text"),
    [("2", "2"), ("2.0000", "2"), ("1.5000", "1.5"), ("0.25", "0.25"), ("-3", "-3"), ("100", "100"), ("1E+2", "100")],
)
def test_quantities_are_written_in_their_shortest_form(value: str, text: str) -> None:
    assert format_quantity(Decimal(value)) == text


@pytest.mark.parametrize("value", ["0", "0.00001", "10000000000"])
def test_impossible_quantities_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        format_quantity(Decimal(value))


def test_signing_time_is_beijing_time_to_the_second() -> None:
    moment = datetime.datetime(2026, 1, 5, 2, 15, 31, 987654, tzinfo=datetime.UTC)
    assert format_signing_time(moment) == "2026-01-05T10:15:31+08:00"
    with pytest.raises(ValueError, match="naive"):
        format_signing_time(datetime.datetime(2026, 1, 5, 10, 15, 31))


# --- The text writer: the normal form without an lxml tree -------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "A & B <药> 3>2",
        "carriage\rreturn",
        "line\nfeed and\ttab",
        " leading and trailing ",
        "   ",
        " \t\r\n",
        "全角空格\u3000 and NBSP\u00a0",
        "emoji 😀, U+FDD0 \ufdd0, DEL \x7f, U+0085 \x85",
        "quotes \" and ' stay",
        "]]> is text",
    ],
)
def test_each_value_is_written_as_lxml_writes_it_in_the_normal_form(api: Any, value: str) -> None:
    # given a receipt, and the reference: lxml setting the text in the tree built for it, then the
    # normal form written from the tree (exclusive C14N, whitespace-only text removed)
    receipt = issued(api, nontax_payload())
    receipt.remark = "any remark, replaced below"
    tree = tree_of(receipt_xml_build(receipt))
    tree.find("EInvoiceData/Main/Remark").text = value
    # when its remark holds characters that need care, then the writer writes the same bytes
    receipt.remark = value
    assert receipt_xml_build(receipt) == document_bytes(tree)


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1f", "\ud800", "\ufffe", "\uffff"])
def test_a_character_lxml_refuses_is_refused(api: Any, character: str) -> None:
    receipt = issued(api, nontax_payload())
    receipt.payer_name = f"张{character}三"
    with pytest.raises(ValueError):
        etree.Element("PayerPartyName").text = receipt.payer_name  # the reference refuses it too
    with pytest.raises(DataFileError) as caught:
        receipt_xml_build(receipt)
    assert caught.value.code is DataFileErrorCode.UNREPRESENTABLE
    assert caught.value.message.startswith("PayerPartyName: U+")


def test_a_sandbox_receipt_says_in_its_data_file_that_it_is_not_valid(api: Any) -> None:
    # given a receipt issued in the sandbox (联调测试)
    receipt = issued(api, nontax_payload())
    receipt.sandbox = True
    # when its data file is built
    xml = receipt_xml_build(receipt)
    # then it is valid and its SupervisorRemark, after Checker and before MainExt, says so
    datafile_validate(xml)
    assert datafile_parse(xml).supervisor_remark == SANDBOX_REMARK == "联调测试票据，仅供测试，无效"
    main = [child.tag for child in tree_of(xml).find("EInvoiceData/Main")]
    assert main[main.index("Checker") + 1] == "SupervisorRemark"


def test_a_production_receipt_has_no_supervisor_remark(api: Any) -> None:
    receipt = issued(api, outpatient_payload())
    assert receipt.sandbox is False
    xml = receipt_xml_build(receipt)
    assert tree_of(xml).find("EInvoiceData/Main/SupervisorRemark") is None
    assert tree_of(xml).find("EInvoiceData/Main/MainExt") is not None


def _unsaved_receipt_with_values_that_need_care() -> tuple[Receipt, list[ReceiptItem], list[AuxItem]]:
    """A red sandbox receipt, never saved, whose every stored text needs escaping, is whitespace only or is unusual."""
    kind = ReceiptKind(code="0601", name="门诊 & <急诊>", specimen_code=" MZ\r2026 ")
    unit = Unit(code="430102001", name="医院\u3000A&B\u00a0", credit_code="12430100444885720X")
    receipt = Receipt(
        receipt_code="43060126",
        number=123,
        check_code="0a1b2c",
        kind=kind,
        unit=unit,
        region_code="430102",
        is_red=True,
        related_receipt=Receipt(receipt_code="43060126", number=7),
        bus_no="\t\n ",
        issued_at=datetime.datetime(2026, 1, 5, 23, 59, 7, tzinfo=datetime.UTC),
        issue_date=datetime.date(2026, 1, 6),
        payer_type=1,
        payer_name="李四 😀",
        payer_code="a>b",
        payer_account=" ",
        payer_bank="]]>",
        payee_name="\"q\" 'a'",
        payee_account="",
        payee_bank="x\ny",
        total_amount=Decimal("-50.5"),
        currency="CNY",
        pay_mode="\r",
        handling_person=" 王五 ",
        checker="赵\t六",
        remark="& < > \r end",
        sandbox=True,
        ext={
            "visitNumber": "A&1",
            "department": "  ",
            "visitDate": "2026-01-04",
            "hospitalDays": 3,
            "fundPay": "-15",
            "medicalInsuranceType": "\ufdd0\x7f\x85",
        },
    )
    items = [
        ReceiptItem(
            line_no=2,
            item_code="C<2>",
            item_name="药 & 费",
            unit_of_measure="\r",
            quantity=Decimal("-1.5000"),
            standard=Decimal("12.3450"),
            amount=Decimal("-18.52"),
            remark=" \t",
        ),
        ReceiptItem(
            line_no=1,
            item_code="C1",
            item_name="诊查费",
            unit_of_measure="",
            quantity=Decimal("-2"),
            standard=Decimal("-0"),
            amount=Decimal("-31.98"),
            remark="",
        ),
    ]
    aux = [
        AuxItem(
            related_code="C<1>",
            code="A&1",
            name=" 名 ",
            quantity=Decimal("3"),
            unit="\r\n",
            standard=Decimal("0.0005"),
            amount=Decimal("0.00"),
            remark=">",
        )
    ]
    return receipt, items, aux


def test_every_value_is_written_as_the_writer_has_always_written_it() -> None:
    # given a receipt whose stored texts hold & < > CR, whitespace-only values, NBSP, U+3000, an
    # emoji and noncharacters, in every element that carries stored text, with red amounts
    receipt, items, aux = _unsaved_receipt_with_values_that_need_care()
    # when its data file is built
    xml = receipt_xml_build(receipt, items=items, aux_items=aux)
    # then the bytes are those the writer produced before its fast paths (frozen here): escaped
    # values escaped, whitespace-only values written empty, numbers, dates and times as formatted
    assert (
        xml
        == XML_DECLARATION
        + (
            "<EInvoice><Header>"
            "<EInvoiceID>430601260000000123</EInvoiceID><EInvoiceTag>CZ-EI-43</EInvoiceTag>"
            "<Version>1.0.0</Version></Header><EInvoiceData><Main>"
            "<EInvoiceName>门诊 &amp; &lt;急诊&gt;</EInvoiceName>"
            "<EInvoiceCode>43060126</EInvoiceCode><EInvoiceNumber>0000000123</EInvoiceNumber>"
            "<RandomNumber>0a1b2c</RandomNumber>"
            "<EInvoiceSpecimenCode> MZ&#xD;2026 </EInvoiceSpecimenCode>"
            "<SupervisorAreaCode>430102</SupervisorAreaCode><TotalAmount>-50.50</TotalAmount>"
            "<IssueDate>20260106</IssueDate><IssueTime>07:59:07</IssueTime><InvoicingParty>"
            "<InvoicingPartyCode>12430100444885720X</InvoicingPartyCode>"
            "<InvoicingPartyName>医院\u3000A&amp;B\xa0</InvoicingPartyName><RecName>\"q\" 'a'</RecName>"
            "<RecOpBk>x\ny</RecOpBk></InvoicingParty><PayerParty>"
            "<PayerPartyType>1</PayerPartyType><PayerPartyCode>a&gt;b</PayerPartyCode>"
            "<PayerPartyName>李四 😀</PayerPartyName><PayerAcct></PayerAcct>"
            "<PayerOpBk>]]&gt;</PayerOpBk></PayerParty><PayMode></PayMode><BizCode></BizCode>"
            "<CurrencyType>CNY</CurrencyType><Remark>&amp; &lt; &gt; &#xD; end</Remark>"
            "<HandlingPerson> 王五 </HandlingPerson><Checker>赵\t六</Checker>"
            "<SupervisorRemark>联调测试票据，仅供测试，无效</SupervisorRemark><MainExt>"
            "<MedicalInsuranceType>\ufdd0\x7f\x85</MedicalInsuranceType>"
            "<VisitNumber>A&amp;1</VisitNumber><Department></Department>"
            "<VisitDate>20260104</VisitDate><HospitalDays>3</HospitalDays>"
            "<FundPay>-15.00</FundPay><RelatedInvoiceCode>43060126</RelatedInvoiceCode>"
            "<RelatedInvoiceNumber>0000000007</RelatedInvoiceNumber></MainExt></Main>"
            "<Details><Item><ItemCode>C1</ItemCode><ItemName>诊查费</ItemName>"
            "<ItemQuantity>-2</ItemQuantity><ItemStd>-0.00</ItemStd>"
            "<ItemAmount>-31.98</ItemAmount></Item><Item><ItemCode>C&lt;2&gt;</ItemCode>"
            "<ItemName>药 &amp; 费</ItemName><ItemQuantity>-1.5</ItemQuantity>"
            "<ItemUnit></ItemUnit><ItemStd>12.345</ItemStd><ItemAmount>-18.52</ItemAmount>"
            "<ItemRemark></ItemRemark></Item></Details><AuxDetails><AuxItem>"
            "<AuxItemRelatedCode>C&lt;1&gt;</AuxItemRelatedCode>"
            "<AuxItemCode>A&amp;1</AuxItemCode><AuxItemName> 名 </AuxItemName>"
            "<AuxItemQuantity>3</AuxItemQuantity><AuxItemUnit></AuxItemUnit>"
            "<AuxItemStd>0.0005</AuxItemStd><AuxItemAmount>0.00</AuxItemAmount>"
            "<AuxItemRemark>&gt;</AuxItemRemark></AuxItem></AuxDetails></EInvoiceData></EInvoice>"
        ).encode()
    )


@pytest.mark.parametrize("character", ["\x00", "\x1f", "\ud800", "\uffff"])
@pytest.mark.parametrize(
    ("where", "element"),
    [
        ("item", "ItemName"),
        ("item_unit", "ItemUnit"),
        ("ext", "Department"),
        ("aux", "AuxItemRemark"),
        ("unit", "InvoicingPartyName"),
    ],
)
def test_a_character_xml_cannot_carry_is_refused_wherever_it_is(where: str, element: str, character: str) -> None:
    receipt, items, aux = _unsaved_receipt_with_values_that_need_care()
    bad = f"a{character}b"
    if where == "item":
        items[1].item_name = bad
    elif where == "item_unit":
        items[1].unit_of_measure = bad
    elif where == "ext":
        receipt.ext = {**receipt.ext, "department": bad}
    elif where == "aux":
        aux = [dataclasses.replace(aux[0], remark=bad)]
    else:
        receipt.unit.name = bad
    with pytest.raises(DataFileError) as caught:
        receipt_xml_build(receipt, items=items, aux_items=aux)
    assert caught.value.code is DataFileErrorCode.UNREPRESENTABLE
    assert caught.value.message == f"{element}: U+{ord(character):04X} is not a character XML 1.0 can carry"
