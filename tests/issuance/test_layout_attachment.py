"""The signed XML travels inside the layout file and comes back out byte for byte."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader, PdfWriter

from issuance.layout import (
    LayoutData,
    LayoutFileError,
    LayoutItem,
    pdf_attach_xml,
    pdf_extract_xml,
    render_receipt_pdf,
)

# CRLF line ends, a BOM, Chinese text and a trailing space: any normalisation would show.
SIGNED_XML = (
    '\ufeff<?xml version="1.0" encoding="UTF-8"?>\r\n<EInvoice><EInvoiceName>非税收入统一票据</EInvoiceName>'
    "<Signature>MEUCIQD3kq9x+/==</Signature></EInvoice> \r\n"
).encode()


def sample_data() -> LayoutData:
    return LayoutData(
        title="湖南省非税收入统一票据（电子）",
        kind_name="非税收入统一票据",
        specimen_code="FS0101",
        receipt_code="43010126",
        number="0000000007",
        check_code="22d039",
        issue_date=datetime.date(2026, 3, 1),
        payer_name="张三",
        items=(LayoutItem("F0001", "证书工本费", "本", Decimal("2"), Decimal("10.00"), Decimal("20.00")),),
        total_amount=Decimal("20.00"),
        total_in_capitals="贰拾元整",
        payee_unit_name="长沙市芙蓉区人民医院",
        unit_seal_name="长沙市芙蓉区人民医院",
        supervision_seal_name="湖南省财政厅",
    )


def test_the_signed_xml_round_trips_byte_for_byte() -> None:
    # given a layout file rendered with its signed XML
    pdf = render_receipt_pdf(sample_data(), xml=SIGNED_XML)
    # when the offline verifier takes the XML back out
    # then it is the very bytes that were signed
    assert pdf_extract_xml(pdf) == SIGNED_XML


def test_the_attachment_is_an_xml_data_file_of_the_document() -> None:
    pdf = render_receipt_pdf(sample_data(), xml=SIGNED_XML)
    reader = PdfReader(io.BytesIO(pdf))
    catalog = reader.trailer["/Root"]
    # one embedded file, listed as the document's associated file with the relationship Data
    (filespec,) = [ref.get_object() for ref in catalog["/AF"]]
    assert filespec["/F"] == filespec["/UF"] == "einvoice.xml"
    assert filespec["/AFRelationship"] == "/Data"
    stream = filespec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/application/xml"
    assert stream["/Params"]["/Size"] == len(SIGNED_XML)
    assert list(reader.attachments) == ["einvoice.xml"]


def test_attaching_keeps_the_drawn_pdf_untouched() -> None:
    # given the PDF as drawn
    drawn = render_receipt_pdf(sample_data(), xml=None)
    # when the XML is attached
    attached = pdf_attach_xml(drawn, SIGNED_XML)
    # then the drawn bytes come first, unchanged (an incremental update), and the page reads the same
    assert attached.startswith(drawn)
    before, after = PdfReader(io.BytesIO(drawn)), PdfReader(io.BytesIO(attached))
    assert len(after.pages) == len(before.pages) == 1
    assert after.pages[0].extract_text() == before.pages[0].extract_text()


def test_a_pdf_without_the_attachment_gives_none() -> None:
    assert pdf_extract_xml(render_receipt_pdf(sample_data(), xml=None)) is None


def test_a_pdf_with_attachments_already_gets_one_more() -> None:
    # given a PDF that already carries an attachment (the catalog has names: pypdf rewrites it)
    first = pdf_attach_xml(render_receipt_pdf(sample_data(), xml=None), b"<Other/>", filename="other.xml")
    # when the signed XML is attached
    both = pdf_attach_xml(first, SIGNED_XML)
    # then both files are there, each intact, and both are associated files
    assert pdf_extract_xml(both, filename="other.xml") == b"<Other/>"
    assert pdf_extract_xml(both) == SIGNED_XML
    assert len(PdfReader(io.BytesIO(both)).trailer["/Root"]["/AF"]) == 2


def test_a_foreign_pdf_gets_the_attachment_too() -> None:
    # given a PDF not drawn here (written by pypdf, one blank page)
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=100)
    out = io.BytesIO()
    writer.write(out)
    # when the XML is attached / then it comes back out
    assert pdf_extract_xml(pdf_attach_xml(out.getvalue(), SIGNED_XML)) == SIGNED_XML


def test_two_attachments_of_the_same_name_are_refused() -> None:
    # given a PDF carrying two files named einvoice.xml
    once = render_receipt_pdf(sample_data(), xml=SIGNED_XML)
    twice = pdf_attach_xml(once, b"<EInvoice>forged</EInvoice>")
    # when the verifier extracts the XML / then it refuses to guess
    with pytest.raises(LayoutFileError, match="2"):
        pdf_extract_xml(twice)


def test_bytes_that_are_no_pdf_are_refused() -> None:
    with pytest.raises(LayoutFileError):
        pdf_extract_xml(b"<EInvoice/>")
    with pytest.raises(LayoutFileError):
        pdf_attach_xml(b"not a pdf", SIGNED_XML)
