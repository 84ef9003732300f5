"""The print page of a paper copy: the receipt's data and the paper number, no seals."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from pypdf import PdfReader

from issuance.models import Receipt
from issuance.paper.layout import paper_print_pdf
from issuance.paper.models import PaperStock
from issuance.paper.services import receipt_paper_convert
from tests.issuance.paper.conftest import ACTOR, PAPER_CODE
from tests.support.factories import make_credit_code
from zhongtai.masterdata.models import Unit

MM = 72 / 25.4


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def test_the_print_page_shows_the_receipt_and_the_paper_number(receipt: Receipt, stock: PaperStock) -> None:
    # given a receipt converted onto paper form 43010125 / 0000000101
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    # when its print page is drawn
    pdf = paper_print_pdf(use)
    # then one A5 landscape page carries the paper number and the receipt's data
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (210, 148)
    text = text_of(pdf)
    issue = receipt.issue_date
    for expected in (
        f"No. {PAPER_CODE} 0000000101",
        receipt.receipt_code,
        receipt.number_text,
        receipt.check_code,
        f"{issue.year}年{issue.month:02d}月{issue.day:02d}日",
        "张三",
        "证书工本费",
        "考试考务费",
        "20.00",
        "35.50",
        "伍拾伍元伍角整",
        "￥55.50",
        "长沙市芙蓉区人民医院",
        "王复核",
        "李收款",
        "换开自电子票据",
    ):
        assert expected in text, expected
    # and no seal: the paper form carries them
    for seal in ("监制章", "票据专用章", "湖南省财政厅"):
        assert seal not in text


def test_more_items_than_rows_are_summed_in_the_last_row(
    unit: Unit, pki: dict[str, Any], issue_signed: Callable[..., Receipt], stock: PaperStock, fee_fixed: Any
) -> None:
    # given a receipt of eight lines (the form has six rows)
    line = {"itemCode": "F0001", "quantity": "1", "standard": "10.00", "amount": "10.00"}
    payload_items = [dict(line, remark=f"第{n}本") for n in range(1, 9)]
    payer = {"type": 2, "name": "湖南星城建设有限公司", "code": make_credit_code(7)}
    receipt = issue_signed(unit, "LONG0001", items=payload_items, totalAmount="80.00", payer=payer)
    use = receipt_paper_convert(receipt=receipt, actor=ACTOR)
    # then five lines are printed, the sixth sums the other three, and the total is whole
    text = text_of(paper_print_pdf(use))
    assert "其他项目（共 3 项）" in text
    assert "湖南星城建设有限公司" in text and make_credit_code(7) in text
    assert "30.00" in text and "￥80.00" in text and "捌拾元整" in text
    assert "共 8 项，明细详见电子票据" in text.replace("\n", "")  # the remark wraps where it must
