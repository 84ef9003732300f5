"""The print page of a paper conversion (纸质票据套打): the receipt's data for the paper form.

The paper form is pre-printed: title, frame, labels, the unit's and the finance
bureau's seals, paper code and number. The page printed onto it carries only the
values, each at its place on the form (positions in millimetres from the top-left
corner, in ``FORM``), plus the paper number it was assigned (to check against the
form's own) and the e-receipt it converts (票据代码, 号码, 校验码) in the remark. No
seals: the form carries them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from issuance.layout.data import LayoutData, LayoutItem
from issuance.layout.fonts import cjk_font_name
from issuance.layout.receipt_data import layout_data_from_receipt

# reportlab keeps each document's font subsets in state shared by the process: drawing
# takes turns with the layout-file renderer, which uses the same font.
from issuance.layout.renderer import _reportlab_lock
from issuance.layout.text import PageText, format_money, format_price, format_quantity, wrap_lines
from issuance.paper.models import PaperUse

BLACK = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class PaperForm:
    """Where each value goes on the pre-printed form (mm from the top-left corner)."""

    page_mm: tuple[float, float] = (210.0, 148.0)
    number_at: tuple[float, float] = (150.0, 27.0)  # below the form's own code and number
    issue_date_at: tuple[float, float] = (36.0, 34.0)
    payer_at: tuple[float, float] = (36.0, 41.0)
    payer_code_at: tuple[float, float] = (130.0, 41.0)
    payer_width_mm: float = 80.0
    payer_code_width_mm: float = 64.0
    table_top_mm: float = 55.0  # baseline of the first item row
    row_mm: float = 6.5
    rows: int = 6
    # (key, left edge, right edge, alignment) of each item column.
    columns: tuple[tuple[str, float, float, str], ...] = (
        ("code", 14.0, 34.0, "left"),
        ("name", 35.0, 92.0, "left"),
        ("unit", 93.0, 106.0, "center"),
        ("quantity", 107.0, 124.0, "right"),
        ("standard", 125.0, 152.0, "right"),
        ("amount", 153.0, 194.0, "right"),
    )
    capitals_at: tuple[float, float] = (48.0, 98.0)
    total_right_at: tuple[float, float] = (194.0, 98.0)
    remark_at: tuple[float, float] = (36.0, 106.0)
    remark_width_mm: float = 158.0
    remark_lines: int = 3
    unit_at: tuple[float, float] = (44.0, 127.0)
    unit_width_mm: float = 70.0
    checker_at: tuple[float, float] = (128.0, 127.0)
    handler_at: tuple[float, float] = (168.0, 127.0)
    person_width_mm: float = 26.0
    value_pt: float = 9.0
    small_pt: float = 7.5


FORM = PaperForm()


def paper_print_pdf(use: PaperUse, *, form: PaperForm = FORM) -> bytes:
    """The one-page PDF to print ``use``'s receipt onto its paper form.

    Raises CJKFontMissingError when the configured CJK font is not usable.
    """
    receipt = use.receipt
    assert receipt is not None, "only a printed paper copy has a receipt to print"
    data = layout_data_from_receipt(receipt)
    converted_on = timezone.localdate(use.printed_at or receipt.issued_at)
    remark = (
        f"换开自电子票据：票据代码 {data.receipt_code}，票据号码 {data.number}，校验码 {data.check_code}；"
        f"换开日期 {converted_on.isoformat()}。"
    )
    if len(data.items) > form.rows:
        remark += f"共 {len(data.items)} 项，明细详见电子票据。"
    if data.remark:
        remark += data.remark
    font = cjk_font_name()
    with _reportlab_lock:
        return _draw(data, use, remark, font, form)


def _draw(data: LayoutData, use: PaperUse, remark: str, font: str, form: PaperForm) -> bytes:
    width, height = form.page_mm[0] * mm, form.page_mm[1] * mm
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1, initialFontName=font)
    canvas.setTitle(f"纸质票据 {use.paper_code}-{use.number_text}")
    canvas.setSubject(f"换开自电子票据 {data.receipt_code}-{data.number}")
    canvas.setCreator("财政电子票据管理系统")

    def at(x_mm: float, y_mm: float) -> tuple[float, float]:
        return x_mm * mm, height - y_mm * mm

    text = PageText(canvas, font)
    size, small = form.value_pt, form.small_pt
    text.put(*at(*form.number_at), f"No. {use.paper_code} {use.number_text}", size, BLACK)
    issue = data.issue_date
    text.put(*at(*form.issue_date_at), f"{issue.year}年{issue.month:02d}月{issue.day:02d}日", size, BLACK)
    text.put(*at(*form.payer_at), data.payer_name, size, BLACK, width=form.payer_width_mm * mm)
    text.put(*at(*form.payer_code_at), data.payer_code, size, BLACK, width=form.payer_code_width_mm * mm)

    for row, cells in enumerate(_rows(data.items, form.rows)):
        y_mm = form.table_top_mm + row * form.row_mm
        for key, left, right, align in form.columns:
            value = cells.get(key, "")
            room = (right - left) * mm
            if align == "right":
                text.put(*at(right, y_mm), value, size, BLACK, align="right", width=room)
            elif align == "center":
                text.put(*at((left + right) / 2, y_mm), value, size, BLACK, align="center", width=room)
            else:
                text.put(*at(left, y_mm), value, size, BLACK, width=room)

    text.put(*at(*form.capitals_at), data.total_in_capitals, size + 0.5, BLACK)
    text.put(*at(*form.total_right_at), "￥" + format_money(data.total_amount), size + 0.5, BLACK, align="right")

    x, y = at(*form.remark_at)
    lines = wrap_lines(remark, font, small, form.remark_width_mm * mm)[: form.remark_lines]
    for index, line in enumerate(lines):
        text.put(x, y - index * small * 1.25, line, small, BLACK, width=form.remark_width_mm * mm)

    text.put(*at(*form.unit_at), data.payee_unit_name, size, BLACK, width=form.unit_width_mm * mm)
    text.put(*at(*form.checker_at), data.checker, size, BLACK, width=form.person_width_mm * mm)
    text.put(*at(*form.handler_at), data.handling_person, size, BLACK, width=form.person_width_mm * mm)
    text.flush()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _rows(items: tuple[LayoutItem, ...], rows: int) -> list[dict[str, str]]:
    """The item rows of the form; when there are more items than rows, the last row sums the rest."""

    def cells(item: LayoutItem) -> dict[str, str]:
        return {
            "code": item.code,
            "name": item.name,
            "unit": item.unit,
            "quantity": format_quantity(item.quantity),
            "standard": format_price(item.standard),
            "amount": format_money(item.amount),
        }

    if len(items) <= rows:
        return [cells(item) for item in items]
    shown, rest = items[: rows - 1], items[rows - 1 :]
    rest_total = sum((item.amount for item in rest), Decimal("0"))
    summary = {"name": f"其他项目（共 {len(rest)} 项）", "amount": format_money(rest_total)}
    return [*(cells(item) for item in shown), summary]
