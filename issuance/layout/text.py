"""Text on a layout page: value formatting, fitting, wrapping, one text object per page."""

from __future__ import annotations

import math
from decimal import Decimal

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.textobject import PDFTextObject

from issuance.layout.data import LayoutItem
from issuance.layout.templates import RGB

# Horizontal scaling (per cent) below which a value is cut short with an ellipsis.
MIN_SCALE = 55.0


def format_money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def format_price(value: Decimal) -> str:
    """Two decimals when exact in fen (10.00), else as many as needed (0.1234)."""
    in_fen = value.quantize(Decimal("0.01"))
    return format(in_fen, "f") if in_fen == value else format(value.normalize(), "f")


def format_quantity(value: Decimal) -> str:
    return format(value.normalize(), "f")


def item_cell(item: LayoutItem, key: str) -> str:
    if key == "quantity":
        return format_quantity(item.quantity)
    if key == "standard":
        return format_price(item.standard)
    if key == "amount":
        return format_money(item.amount)
    return str(getattr(item, key))


class PageText:
    """One text object per page; font size and colour are set only when they change."""

    def __init__(self, canvas: Canvas, font: str) -> None:
        self.canvas = canvas
        self.font = font
        self.obj: PDFTextObject = canvas.beginText()
        self.size = 0.0
        self.rgb: RGB | None = None
        self.scale = 100.0

    def put(
        self, x: float, y: float, text: str, size: float, rgb: RGB, *, align: str = "left", width: float = 0
    ) -> None:
        """Write ``text`` at baseline ``y``; with ``width``, fit it by condensing or cutting."""
        if not text:
            return
        natural = stringWidth(text, self.font, size)
        scale = 100.0
        if width and natural > width:
            scale = max(MIN_SCALE, math.floor(width / natural * 1000) / 10)
            if natural * scale / 100 > width:
                text = cut_to_width(text, self.font, size, width * 100 / scale)
                natural = stringWidth(text, self.font, size)
        drawn = natural * scale / 100
        if align == "right":
            x -= drawn
        elif align == "center":
            x -= drawn / 2
        if size != self.size:
            self.obj.setFont(self.font, size)
            self.size = size
        if rgb != self.rgb:
            self.obj.setFillColorRGB(*rgb)
            self.rgb = rgb
        if scale != self.scale:
            self.obj.setHorizScale(scale)
            self.scale = scale
        self.obj.setTextOrigin(x, y)
        self.obj.textOut(text)

    def flush(self) -> None:
        if self.scale != 100.0:
            self.obj.setHorizScale(100)
        self.canvas.drawText(self.obj)


def cut_to_width(text: str, font: str, size: float, width: float) -> str:
    """The longest prefix of ``text`` that fits ``width`` with an ellipsis."""
    ellipsis = stringWidth("…", font, size)
    total = 0.0
    for index, char in enumerate(text):
        total += stringWidth(char, font, size)
        if total + ellipsis > width:
            return text[:index] + "…"
    return text


def wrap_lines(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (Chinese text breaks anywhere)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, used = "", 0.0
        for char in paragraph:
            advance = stringWidth(char, font, size)
            if line and used + advance > width:
                lines.append(line)
                line, used = "", 0.0
            line += char
            used += advance
        lines.append(line)
    return lines
