"""The layout file of issued receipts: what each page shows, for non-tax, medical, red and long receipts."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from issuance.layout import LayoutData, layout_data_from_receipt, render_receipt_pdf
from issuance.models import Receipt, ReceiptItem
from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import issue_direct
from tests.support.factories import FeeItemFactory, FeeStandardFactory
from zhongtai.core.money import amount_in_capitals
from zhongtai.masterdata.models import FeeStandard, FinanceBureau, ReceiptKind, Unit

MM = 72 / 25.4


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def render(receipt: Receipt) -> tuple[LayoutData, bytes]:
    data = layout_data_from_receipt(receipt)
    return data, render_receipt_pdf(data, xml=None)


@pytest.fixture
def medical_items(unit: Unit, kind_outpatient: ReceiptKind) -> None:
    """Two more outpatient fee items (西药费, 化验费) allowed for ``unit``."""
    for code, name, unit_name in (("C0104", "西药费", "项"), ("C0108", "化验费", "次")):
        item = FeeItemFactory(code=code, name=name, unit_of_measure=unit_name, income_class="医疗收入")
        item.kinds.add(kind_outpatient)
        FeeStandardFactory(
            fee_item=item, mode=FeeStandard.Mode.RANGE, amount=None, min_amount=Decimal("1"), max_amount=Decimal("500")
        )
        unit.allowed_fee_items.add(item)


def test_non_tax_receipt_shows_every_element_on_one_a5_page(unit: Unit) -> None:
    # given a non-tax receipt of 55.50 issued by the Furong hospital
    receipt = issue_direct(unit, nontax_payload())
    # when its layout file is drawn
    data, pdf = render(receipt)
    # then one landscape A5 page (the non-tax template) shows the receipt's elements
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (210, 148)
    text = pages_text(pdf)[0]
    for expected in (
        "湖南省非税收入统一票据（电子）",
        receipt.receipt_code,
        receipt.number_text,
        receipt.check_code,
        receipt.issue_date.isoformat(),
        "张三",
        "证书工本费",
        "考试考务费",
        "伍拾伍元伍角整",
        "55.50",
        "长沙市芙蓉区人民医院",
        "湖南省财政厅",
        "王复核",
        "李收款",
    ):
        assert expected in text, expected
    assert data.supervision_seal_name == "湖南省财政厅"
    assert data.unit_seal_name == "长沙市芙蓉区人民医院"
    assert "第 1 页" not in text


def test_medical_receipt_shows_three_items_and_the_insurance_split(unit: Unit, medical_items: None) -> None:
    # given an outpatient receipt of three items paid partly by the insurance fund
    payload = outpatient_payload(
        items=[
            {"itemCode": "C0105", "quantity": "1", "standard": "25.00", "amount": "25.00"},
            {"itemCode": "C0104", "quantity": "3", "standard": "12.50", "amount": "37.50"},
            {"itemCode": "C0108", "quantity": "1", "standard": "18.00", "amount": "18.00"},
        ],
        totalAmount="80.50",
        ext={
            "visitNumber": "MZ20261126001",
            "department": "内科",
            "medicalInsuranceType": "职工医保",
            "fundPay": "50.00",
            "personalAccountPay": "20.00",
            "personalCashPay": "10.50",
        },
    )
    receipt = issue_direct(unit, payload)
    # when its layout file is drawn
    data, pdf = render(receipt)
    # then the medical template shows the items and the ext fields with their labels
    text = pages_text(pdf)[0]
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    for expected in (
        "湖南省医疗门诊收费票据（电子）",
        "诊查费",
        "西药费",
        "化验费",
        "37.50",
        "捌拾元伍角整",
        "就诊号/住院号",
        "MZ20261126001",
        "科室",
        "内科",
        "医保类型",
        "职工医保",
        "医保统筹基金支付",
        "50.00",
        "个人账户支付",
        "20.00",
        "个人现金支付",
        "10.50",
        "收费专用章",
    ):
        assert expected in text, expected
    assert [field.name for field in data.ext] == [
        "medicalInsuranceType",
        "visitNumber",
        "department",
        "fundPay",
        "personalAccountPay",
        "personalCashPay",
    ]


def red_offset_of(original: Receipt, number: int) -> Receipt:
    """A red receipt of ``original`` with negated lines, written as the red-offset service will."""
    red = Receipt.objects.create(
        receipt_code=original.receipt_code,
        number=number,
        check_code="abc123",
        kind=original.kind,
        unit=original.unit,
        region_code=original.region_code,
        is_red=True,
        related_receipt=original,
        bus_date=original.bus_date,
        source=Receipt.Source.API,
        issued_by="tests",
        issued_at=original.issued_at,
        issue_date=original.issue_date,
        payer_type=original.payer_type,
        payer_name=original.payer_name,
        total_amount=-original.total_amount,
        total_amount_upper=amount_in_capitals(-original.total_amount),
    )
    ReceiptItem.objects.bulk_create(
        ReceiptItem(
            receipt=red,
            line_no=item.line_no,
            fee_item=item.fee_item,
            item_code=item.item_code,
            item_name=item.item_name,
            unit_of_measure=item.unit_of_measure,
            quantity=-item.quantity,
            standard=item.standard,
            amount=-item.amount,
        )
        for item in original.items.all()
    )
    return red


def test_red_receipt_shows_the_mark_the_original_and_negative_amounts(unit: Unit) -> None:
    # given a red receipt offsetting a non-tax receipt of 55.50
    original = issue_direct(unit, nontax_payload())
    red = red_offset_of(original, number=original.number + 1)
    # when its layout file is drawn
    data, pdf = render(red)
    # then it carries the red-offset mark, names the original and shows negative amounts
    text = pages_text(pdf)[0]
    assert data.is_red and data.original_number == original.number_text
    for expected in (
        "红字冲销",
        f"票据代码 {original.receipt_code}",
        f"票据号码 {original.number_text}",
        red.number_text,
        "-20.00",
        "-35.50",
        "-55.50",
        "负伍拾伍元伍角整",
    ):
        assert expected in text, expected


def test_forty_items_continue_over_four_pages(unit: Unit) -> None:
    # given a non-tax receipt of 40 lines (the non-tax template holds 12 a page)
    items = [{"itemCode": "F0001", "quantity": "1", "standard": "10.00", "amount": "10.00"}] * 40
    receipt = issue_direct(unit, nontax_payload(items=items, totalAmount="400.00"))
    # when its layout file is drawn
    data, pdf = render(receipt)
    # then four pages, numbered, each with the receipt's code block; the total on the last
    texts = pages_text(pdf)
    assert len(texts) == 4
    for index, text in enumerate(texts, start=1):
        assert f"第 {index} 页 / 共 4 页" in text
        assert receipt.number_text in text and receipt.check_code in text
    assert [text.count("证书工本费") for text in texts] == [12, 12, 12, 4]
    assert "续下页" in texts[0] and "肆佰元整" not in texts[0]
    assert "肆佰元整" in texts[-1] and "400.00" in texts[-1]
    assert len(data.items) == 40


def test_supervision_seal_falls_back_when_the_province_has_no_bureau(unit: Unit) -> None:
    # given a province without a finance bureau in master data
    receipt = issue_direct(unit, nontax_payload())
    FinanceBureau.objects.all().delete()
    # when the layout data is built
    data = layout_data_from_receipt(Receipt.objects.get(pk=receipt.pk))
    # then the seal carries the generic name
    assert data.supervision_seal_name == "财政电子票据监制章"
    assert "财政电子票据监制章" in pages_text(render_receipt_pdf(data, xml=None))[0]


def test_layout_data_refuses_malformed_numbers(unit: Unit) -> None:
    data = layout_data_from_receipt(issue_direct(unit, nontax_payload()))
    fields: dict[str, Any] = {f: getattr(data, f) for f in LayoutData.__slots__}
    with pytest.raises(ValueError, match="10 digits"):
        LayoutData(**{**fields, "number": "123"})
    with pytest.raises(ValueError, match="8 digits"):
        LayoutData(**{**fields, "receipt_code": "4301"})
    with pytest.raises(ValueError, match="original"):
        LayoutData(**{**fields, "is_red": True})
