"""The layout file of a sandbox receipt carries its watermark; a red receipt names its original once."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
from pypdf import PdfReader

from issuance.datafile import datafile_parse
from issuance.datafile.builder import SANDBOX_REMARK
from issuance.layout import layout_data_from_receipt, render_receipt_pdf
from issuance.layout.datafile_data import layout_data_from_datafile
from issuance.models import Receipt
from issuance.payload import parse_issue_input
from issuance.red_offset import receipt_red_offset
from issuance.services import receipt_issue
from tests.conftest import nontax_payload
from tests.issuance.conftest import issue_direct
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit


@pytest.fixture
def sandbox_issued(unit: Unit, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Receipt:
    """A sandbox receipt, signed and rendered after its commit."""
    data, errors = parse_issue_input(nontax_payload("SB1"), require_bus_no=True)
    assert data is not None, errors.fields
    with django_capture_on_commit_callbacks(execute=True):
        receipt, _ = receipt_issue(
            unit=unit, data=data, actor=Actor.system("tests"), source=Receipt.Source.API, sandbox=True
        )
    return Receipt.objects.get(pk=receipt.pk)


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_sandbox_layout_is_drawn_with_the_watermark_and_says_so_in_its_title(unit: Unit) -> None:
    data = layout_data_from_receipt(issue_direct(unit, nontax_payload()))
    production = render_receipt_pdf(data, xml=None)
    sandbox = render_receipt_pdf(dataclasses.replace(data, sandbox=True), xml=None)
    assert "联调测试票据 无效" in pdf_text(sandbox).replace("\n", "")
    assert "联调测试" not in pdf_text(production)
    assert str(PdfReader(io.BytesIO(sandbox)).metadata.title).endswith("（联调测试票据 无效）")


def test_the_watermark_is_on_every_page(unit: Unit) -> None:
    items = [{"itemCode": "F0001", "quantity": "1", "standard": "10.00", "amount": "10.00"}] * 30
    receipt = issue_direct(unit, nontax_payload(items=items, totalAmount="300.00"))
    pdf = render_receipt_pdf(dataclasses.replace(layout_data_from_receipt(receipt), sandbox=True), xml=None)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 1
    assert all("联调测试票据" in page.extract_text() for page in pages)


def test_the_signed_sandbox_data_file_gives_a_sandbox_layout(sandbox_issued: Receipt) -> None:
    content = datafile_parse(sandbox_issued.datafile.read())
    assert content.supervisor_remark == SANDBOX_REMARK
    from_xml = layout_data_from_datafile(content, province_name="湖南省", supervision_seal_name="湖南省财政厅")
    assert from_xml.sandbox is True
    assert from_xml == layout_data_from_receipt(sandbox_issued)


def test_only_the_sandbox_remark_makes_a_sandbox_layout(unit: Unit) -> None:
    receipt = issue_direct(unit, nontax_payload(remark=SANDBOX_REMARK))
    assert layout_data_from_receipt(receipt).sandbox is False


def test_a_red_receipt_names_its_original_once(
    unit: Unit, pki: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # given a red receipt made by the red-offset service, whose remark names the original
    with django_capture_on_commit_callbacks(execute=True):
        original = issue_direct(unit, nontax_payload())
    original.refresh_from_db()
    red, _ = receipt_red_offset(receipt=original, reason="退费", actor=Actor.system("tests"), source=Receipt.Source.API)
    # when its layout is drawn
    text = pdf_text(render_receipt_pdf(layout_data_from_receipt(red), xml=None)).replace("\n", "")
    # then the remark says which receipt it reverses, once, and why
    assert text.count("冲红原票据") == 1
    assert f"票据号码 {original.number_text}" in text and "冲红原因：退费" in text
    assert "红字冲销" in text
