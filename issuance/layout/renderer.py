"""Drawing a receipt's layout file (版式文件) with reportlab.

``render_receipt_pdf`` draws ``LayoutData`` on the pages of its template: the frame and
labels of the template, the receipt's values, the QR code of the verification URL, the
two seals, the red-offset mark of red receipts, the watermark of sandbox receipts (联调测试);
then it attaches the signed XML.

Speed: the template's lines are turned into PDF operators once per process and copied
into each page; the QR code comes from zxing-cpp's compiled encoder and is written as
one path of merged runs; streams are written binary (no ASCII85). Text goes through
reportlab, which embeds the subset of the CJK font each document uses.
"""

from __future__ import annotations

import dataclasses
import io
import math
import threading
from dataclasses import dataclass
from functools import lru_cache

from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from issuance.layout.attach import pdf_attach_xml
from issuance.layout.data import LayoutData, LayoutItem
from issuance.layout.fonts import cjk_font_name
from issuance.layout.qr import qr_matrix, qr_pdf_operators
from issuance.layout.seals import draw_seal, invisible_text
from issuance.layout.templates import (
    CORE_HEADER_FIELDS,
    Column,
    Template,
    frame_bottom_mm,
    frame_top_mm,
    template_for,
)
from issuance.layout.text import PageText, cut_to_width, format_money, item_cell, wrap_lines
from issuance.layout.verify_url import verify_url
from zhongtai.masterdata.kind_fields import KIND_FIELDS

# Binary streams: ASCII85 only serves 7-bit channels and costs time and 25 % of the size.
# reportlab reads this when it writes a document; layout files are its only use here.
rl_config.useA85 = 0

SUPERVISION_LEGEND = "财政电子票据监制章"
RED_MARK_TEXT = "红字冲销"
# The remark of a red receipt made by the red-offset service already names its original.
RED_REMARK_PREFIX = "冲红原票据："
SANDBOX_WATERMARK = "联调测试票据 无效"
LABEL_CELL_MM = 27.0
CODE_BLOCK_MM = 50.0
# reportlab keeps each document's font subsets in dictionaries shared by the process; threads
# (a threaded web worker rendering on first download) take turns. Rendering holds the GIL
# anyway, so the lock costs no parallelism; processes (Celery workers) are not affected.
_reportlab_lock = threading.Lock()


def render_receipt_pdf(
    data: LayoutData,
    *,
    xml: bytes | None,
    base_url: str | None = None,
    font_path: str | None = None,
    template: Template | None = None,
) -> bytes:
    """The layout file of one receipt as PDF bytes, with ``xml`` attached when given.

    ``base_url`` (the public verification site) and ``font_path`` default to the settings
    ``EREC_PUBLIC_BASE_URL`` and ``EREC_CJK_FONT``; ``template`` to the one of the
    receipt's specimen code. Raises CJKFontMissingError when the font is not usable.
    """
    template = template or template_for(data.specimen_code)
    font = cjk_font_name(font_path)
    url = verify_url(
        receipt_code=data.receipt_code,
        number=data.number,
        check_code=data.check_code,
        issue_date=data.issue_date,
        amount=data.total_amount,
        base_url=base_url,
    )
    with _reportlab_lock:
        pdf = _draw_document(data, template, font, url)
    return pdf if xml is None else pdf_attach_xml(pdf, xml)


# --- geometry --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Geometry:
    """Positions of one template in points, y measured from the bottom as PDF does."""

    width: float
    height: float
    left: float
    right: float
    frame_top: float
    table_header_bottom: float
    items_bottom: float
    total_bottom: float
    split_bottom: float
    other_bottom: float
    frame_bottom: float
    column_edges: tuple[float, ...]
    static_operators: str

    def y(self, mm_from_top: float) -> float:
        return self.height - mm_from_top * mm


@lru_cache(maxsize=32)
def _geometry(template: Template) -> _Geometry:
    width, height = template.page_mm[0] * mm, template.page_mm[1] * mm
    left, right = template.margin_mm * mm, width - template.margin_mm * mm
    top_mm = frame_top_mm(template)
    frame_top = height - top_mm * mm
    table_header_bottom = frame_top - template.table_header_mm * mm
    items_bottom = table_header_bottom - template.max_rows * template.row_mm * mm
    total_bottom = items_bottom - template.total_row_mm * mm
    split_bottom = total_bottom - template.split_row_mm * mm
    other_bottom = split_bottom - template.other_row_mm * mm
    frame_bottom = height - frame_bottom_mm(template) * mm
    edges = [left]
    for column in template.columns:
        edges.append(edges[-1] + column.width_mm * mm)
    geometry = _Geometry(
        width=width,
        height=height,
        left=left,
        right=right,
        frame_top=frame_top,
        table_header_bottom=table_header_bottom,
        items_bottom=items_bottom,
        total_bottom=total_bottom,
        split_bottom=split_bottom,
        other_bottom=other_bottom,
        frame_bottom=frame_bottom,
        column_edges=tuple(edges),
        static_operators="",
    )
    return dataclasses.replace(geometry, static_operators=_static_operators(geometry, template))


def _static_operators(g: _Geometry, template: Template) -> str:
    """The lines of the form, as PDF operators: drawn once per process, copied into every page."""
    r, gr, b = template.colours.frame
    light = tuple(c + (1 - c) * 0.65 for c in template.colours.frame)
    label_x = g.left + LABEL_CELL_MM * mm
    ops = [f"q {r:.3f} {gr:.3f} {b:.3f} RG 0.8 w"]
    ops.append(f"{g.left:.2f} {g.frame_bottom:.2f} {g.right - g.left:.2f} {g.frame_top - g.frame_bottom:.2f} re S")
    ops.append("0.45 w")
    for y in sorted({g.table_header_bottom, g.items_bottom, g.total_bottom, g.split_bottom, g.other_bottom}):
        if g.frame_bottom < y < g.frame_top:
            ops.append(f"{g.left:.2f} {y:.2f} m {g.right:.2f} {y:.2f} l")
    for x in g.column_edges[1:-1]:
        ops.append(f"{x:.2f} {g.frame_top:.2f} m {x:.2f} {g.items_bottom:.2f} l")
    # The label cells of the rows below the table (合计, 其他信息, 备注); the split row has none.
    for top, bottom in ((g.items_bottom, g.total_bottom), (g.split_bottom, g.frame_bottom)):
        if top > bottom:
            ops.append(f"{label_x:.2f} {top:.2f} m {label_x:.2f} {bottom:.2f} l")
    ops.append("S")
    ops.append(f"{light[0]:.3f} {light[1]:.3f} {light[2]:.3f} RG 0.25 w [1.2 1.2] 0 d")
    for row in range(1, template.max_rows):
        y = g.table_header_bottom - row * template.row_mm * mm
        ops.append(f"{g.left:.2f} {y:.2f} m {g.right:.2f} {y:.2f} l")
    ops.append("S Q")
    return " ".join(ops)


# --- the document ----------------------------------------------------------------------


def _draw_document(data: LayoutData, template: Template, font: str, url: str) -> bytes:
    g = _geometry(template)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(g.width, g.height), pageCompression=1, initialFontName=font)
    sandbox_note = f"（{SANDBOX_WATERMARK}）" if data.sandbox else ""
    canvas.setTitle(f"{data.title} {data.receipt_code}-{data.number}{sandbox_note}")
    canvas.setAuthor(data.payee_unit_name)
    canvas.setSubject(f"票据代码 {data.receipt_code} 票据号码 {data.number} 校验码 {data.check_code}")
    canvas.setCreator("财政电子票据管理系统")
    matrix = qr_matrix(url)
    qr_operators = qr_pdf_operators(matrix, left=g.left, top=g.y(5.0), size=template.qr_mm * mm)
    rows = template.max_rows
    pages = [data.items[i : i + rows] for i in range(0, len(data.items), rows)] or [()]
    for index, items in enumerate(pages, start=1):
        page = _Page(canvas, data, template, g, font)
        canvas.addLiteral(g.static_operators)
        canvas.addLiteral(qr_operators)
        page.draw(items, index, len(pages))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


class _Page:
    def __init__(self, canvas: Canvas, data: LayoutData, template: Template, g: _Geometry, font: str) -> None:
        self.canvas = canvas
        self.data = data
        self.t = template
        self.g = g
        self.font = font
        self.text = PageText(canvas, font)
        self.label_rgb = template.colours.label
        self.value_rgb = template.colours.value
        # Where the unit's name is printed: the unit seal is centred on it.
        self.unit_name_x = g.left
        self.unit_name_width = 0.0

    def draw(self, items: tuple[LayoutItem, ...], page: int, pages: int) -> None:
        self._top_band()
        self._header_rows()
        self._table(items)
        self._rows_below(last=page == pages)
        self._bottom_row(page, pages)
        self.text.flush()
        self._seals()
        if self.data.is_red:
            self._red_mark()
        if self.data.sandbox:
            self._sandbox_watermark()

    # The top band: title, receipt code block (the QR code is drawn by the caller).
    def _top_band(self) -> None:
        t, g, d = self.t, self.g, self.data
        title = self.canvas.beginText()
        title.setFont(self.font, t.fonts.title)
        title.setFillColorRGB(*t.colours.frame)
        title.setStrokeColorRGB(*t.colours.frame)
        # Fill and stroke: a bolder title than the regular face alone gives.
        title.setTextRenderMode(2)
        self.canvas.saveState()
        self.canvas.setLineWidth(0.35)
        width = stringWidth(d.title, self.font, t.fonts.title)
        # Centred between the QR code and the code block on the right, condensed if need be.
        centre = g.width / 2
        room = 2 * min(centre - (g.left + (t.qr_mm + 4) * mm), (g.right - CODE_BLOCK_MM * mm - 3 * mm) - centre)
        scale = min(100.0, room / width * 100)
        if scale < 100:
            title.setHorizScale(scale)
        title.setTextOrigin(g.width / 2 - width * scale / 200, g.y(12.5))
        title.textOut(d.title)
        title.setTextRenderMode(0)
        title.setHorizScale(100)
        self.canvas.drawText(title)
        self.canvas.restoreState()

        label_x = g.right - CODE_BLOCK_MM * mm
        value_x = label_x + 15 * mm
        lines = (
            ("票据代码", d.receipt_code),
            ("票据号码", d.number),
            ("校 验 码", d.check_code),
            ("开票日期", d.issue_date.isoformat()),
        )
        for row, (label, value) in enumerate(lines):
            y = g.y(10.0 + row * 5.0)
            self.text.put(label_x, y, label + "：", t.fonts.label, self.label_rgb)
            self.text.put(value_x, y, value, t.fonts.value + 0.5, self.value_rgb)

    def _header_value(self, name: str) -> tuple[str, str]:
        d = self.data
        if name in CORE_HEADER_FIELDS:
            value = {"payer": d.payer_name, "payerCode": d.payer_code, "busNo": d.bus_no, "payMode": d.pay_mode}[name]
            return CORE_HEADER_FIELDS[name], value
        field = d.ext_value(name)
        if field is not None:
            return field.label, field.value
        return _ext_label(name), ""

    def _header_rows(self) -> None:
        t, g = self.t, self.g
        slot = (g.right - g.left) / t.header_columns
        for index, name in enumerate(t.header_fields):
            row, column = divmod(index, t.header_columns)
            if row >= t.header_rows:
                break
            label, value = self._header_value(name)
            x = g.left + column * slot
            y = g.y(t.top_band_mm + (row + 1) * t.header_row_mm - 1.2)
            label_text = label + "："
            self.text.put(x, y, label_text, t.fonts.label, self.label_rgb)
            used = stringWidth(label_text, self.font, t.fonts.label)
            self.text.put(x + used, y, value, t.fonts.value, self.value_rgb, width=slot - used - 2 * mm)

    def _table(self, items: tuple[LayoutItem, ...]) -> None:
        t, g = self.t, self.g
        size = t.fonts.table
        header_y = g.frame_top - t.table_header_mm * mm / 2 - size * 0.35
        for column, x0, x1 in zip(t.columns, g.column_edges, g.column_edges[1:], strict=False):
            self.text.put((x0 + x1) / 2, header_y, column.label, t.fonts.label, self.label_rgb, align="center")
        for row, item in enumerate(items):
            y = g.table_header_bottom - (row + 1) * t.row_mm * mm + t.row_mm * mm / 2 - size * 0.35
            for column, x0, x1 in zip(t.columns, g.column_edges, g.column_edges[1:], strict=False):
                self._cell(column, x0, x1, y, item_cell(item, column.key), size)

    def _cell(self, column: Column, x0: float, x1: float, y: float, value: str, size: float) -> None:
        pad = 1.2 * mm
        width = x1 - x0 - 2 * pad
        if column.align == "right":
            self.text.put(x1 - pad, y, value, size, self.value_rgb, align="right", width=width)
        elif column.align == "center":
            self.text.put((x0 + x1) / 2, y, value, size, self.value_rgb, align="center", width=width)
        else:
            self.text.put(x0 + pad, y, value, size, self.value_rgb, width=width)

    def _rows_below(self, *, last: bool) -> None:
        t, g, d = self.t, self.g, self.data
        label_x = g.left + 1.5 * mm
        value_x = g.left + LABEL_CELL_MM * mm + 2 * mm
        small = t.fonts.label

        # 金额合计: capitals and figures, on the last page only.
        y = (g.items_bottom + g.total_bottom) / 2 - small * 0.35
        self.text.put(label_x, y, "金额合计（大写）", small, self.label_rgb, width=(LABEL_CELL_MM - 2.5) * mm)
        amount_edges = next(
            (x0, x1)
            for column, x0, x1 in zip(t.columns, g.column_edges, g.column_edges[1:], strict=False)
            if column.key == "amount"
        )
        if last:
            self.text.put(value_x, y, d.total_in_capitals, t.fonts.value + 1, self.value_rgb)
            self.text.put(amount_edges[0] - 1 * mm, y, "（小写）", small, self.label_rgb, align="right")
            self.text.put(
                amount_edges[1] - 1.2 * mm,
                y,
                "￥" + format_money(d.total_amount),
                t.fonts.value + 1,
                self.value_rgb,
                align="right",
            )
        else:
            self.text.put(value_x, y, "（续下页）", t.fonts.value, self.value_rgb)

        if t.split_fields:
            slot = (g.right - g.left) / len(t.split_fields)
            y = (g.total_bottom + g.split_bottom) / 2 - t.fonts.small * 0.35
            for index, name in enumerate(t.split_fields):
                field = d.ext_value(name)
                label = (field.label if field else _ext_label(name)) + "："
                x = g.left + 1.5 * mm + index * slot
                self.text.put(x, y, label, t.fonts.small, self.label_rgb)
                used = stringWidth(label, self.font, t.fonts.small)
                value = field.value if field else ""
                self.text.put(x + used, y, value, t.fonts.value, self.value_rgb, width=slot - used - 2 * mm)

        shown = set(t.header_fields[: t.header_rows * t.header_columns]) | set(t.split_fields)
        others = [f"{f.label}：{f.value}" for f in d.ext if f.name not in shown]
        remark = d.remark
        if d.is_red and not remark.startswith(RED_REMARK_PREFIX):
            remark = f"{RED_REMARK_PREFIX}票据代码 {d.original_receipt_code}，票据号码 {d.original_number}。" + remark
        if t.other_row_mm:
            y = (g.split_bottom + g.other_bottom) / 2 - small * 0.35
            self.text.put(label_x, y, "其他信息", small, self.label_rgb)
            self.text.put(
                value_x, y, "；".join(others), t.fonts.value, self.value_rgb, width=g.right - value_x - 2 * mm
            )
        elif others:
            remark = remark + ("；" if remark else "") + "；".join(others)
        self._remark(remark)

    def _remark(self, remark: str) -> None:
        t, g = self.t, self.g
        top, bottom = g.other_bottom, g.frame_bottom
        y = (top + bottom) / 2 - t.fonts.label * 0.35
        self.text.put(g.left + 1.5 * mm, y, "备注", t.fonts.label, self.label_rgb)
        if not remark:
            return
        x = g.left + LABEL_CELL_MM * mm + 2 * mm
        width = g.right - x - 2 * mm
        height = top - bottom - 1.6 * mm
        size = t.fonts.value
        while True:
            lines = wrap_lines(remark, self.font, size, width)
            if len(lines) * size * 1.2 <= height or size <= t.fonts.small:
                break
            size = max(t.fonts.small, size - 0.5)
        fitting = max(1, int(height // (size * 1.2)))
        if len(lines) > fitting:
            lines = lines[:fitting]
            lines[-1] = cut_to_width(lines[-1] + "……", self.font, size, width)
        first = (top + bottom) / 2 + (len(lines) - 1) * size * 0.6 - size * 0.35
        for index, line in enumerate(lines):
            self.text.put(x, first - index * size * 1.2, line, size, self.value_rgb, width=width)

    def _bottom_row(self, page: int, pages: int) -> None:
        t, g, d = self.t, self.g, self.data
        y = g.frame_bottom - 6 * mm
        span = g.right - g.left
        label = "收款单位（章）："
        self.text.put(g.left, y, label, t.fonts.label, self.label_rgb)
        used = stringWidth(label, self.font, t.fonts.label)
        self.unit_name_x = g.left + used
        self.text.put(self.unit_name_x, y, d.payee_unit_name, t.fonts.value, self.value_rgb, width=span * 0.55 - used)
        self.unit_name_width = min(stringWidth(d.payee_unit_name, self.font, t.fonts.value), span * 0.55 - used)
        for fraction, caption, value in ((0.58, "复核人：", d.checker), (0.80, "收款人：", d.handling_person)):
            x = g.left + span * fraction
            self.text.put(x, y, caption, t.fonts.label, self.label_rgb)
            used = stringWidth(caption, self.font, t.fonts.label)
            self.text.put(x + used, y, value, t.fonts.value, self.value_rgb, width=span * 0.2 - used)
        if pages > 1:
            self.text.put(
                g.right, y - 5 * mm, f"第 {page} 页 / 共 {pages} 页", t.fonts.small + 0.5, self.label_rgb, align="right"
            )

    def _seals(self) -> None:
        t, g, d = self.t, self.g, self.data
        rgb = t.colours.seal
        width, height = t.supervision_seal_mm
        legend = "" if d.supervision_seal_name == SUPERVISION_LEGEND else SUPERVISION_LEGEND
        draw_seal(
            self.canvas,
            font=self.font,
            cx=g.width / 2,
            cy=g.y(21.0),
            rx=width * mm / 2,
            ry=height * mm / 2,
            name=d.supervision_seal_name,
            legend=legend,
            rgb=rgb,
            # The generic seal has its name on the arc only: a star fills the middle.
            star=not legend,
        )
        radius = t.unit_seal_mm * mm / 2
        cx = max(self.unit_name_x + self.unit_name_width / 2, g.left + radius)
        draw_seal(
            self.canvas,
            font=self.font,
            cx=cx,
            cy=g.frame_bottom - 3 * mm,
            rx=radius,
            ry=radius,
            name=d.unit_seal_name,
            legend=t.unit_seal_legend,
            rgb=rgb,
            star=True,
        )

    def _red_mark(self) -> None:
        """A stamp 红字冲销 beside the title, tilted, with the original receipt under it."""
        t, g, d = self.t, self.g, self.data
        r, gr, b = t.colours.red_mark
        cx, cy = g.left + (t.qr_mm + 19) * mm, g.y(17.0)
        w, h = 28 * mm, 10 * mm
        canvas = self.canvas
        canvas.saveState()
        canvas.translate(cx, cy)
        canvas.rotate(12)
        canvas.addLiteral(
            f"{r:.3f} {gr:.3f} {b:.3f} RG {r:.3f} {gr:.3f} {b:.3f} rg 1.4 w "
            f"{-w / 2:.2f} {-h / 2:.2f} {w:.2f} {h:.2f} re S 0.5 w "
            f"{-w / 2 + 1.6:.2f} {-h / 2 + 1.6:.2f} {w - 3.2:.2f} {h - 3.2:.2f} re S"
        )
        text = canvas.beginText()
        size = 14.0
        text.setFont(self.font, size)
        text.setFillColorRGB(r, gr, b)
        width = stringWidth(RED_MARK_TEXT, self.font, size)
        text.setTextOrigin(-width / 2, -size * 0.36)
        text.textOut(RED_MARK_TEXT)
        canvas.drawText(text)
        canvas.restoreState()
        invisible_text(
            canvas,
            font=self.font,
            x=cx - w / 2,
            y=cy,
            size=3.0,
            text=f"红票 原票据代码 {d.original_receipt_code} 原票据号码 {d.original_number}",
        )

    def _sandbox_watermark(self) -> None:
        """联调测试票据 无效, large and translucent along the page's diagonal, over everything else.

        Drawn as text (searchable, and read by text extraction), last, so that nothing covers it.
        """
        g, canvas = self.g, self.canvas
        diagonal = math.hypot(g.width, g.height)
        size = min(64.0, 0.7 * diagonal / stringWidth(SANDBOX_WATERMARK, self.font, 1.0))
        width = stringWidth(SANDBOX_WATERMARK, self.font, size)
        canvas.saveState()
        canvas.translate(g.width / 2, g.height / 2)
        canvas.rotate(math.degrees(math.atan2(g.height, g.width)))
        canvas.setFillColorRGB(0.80, 0.10, 0.10)
        canvas.setFillAlpha(0.28)
        text = canvas.beginText()
        text.setFont(self.font, size)
        text.setTextOrigin(-width / 2, -size * 0.36)
        text.textOut(SANDBOX_WATERMARK)
        canvas.drawText(text)
        canvas.restoreState()


def _ext_label(name: str) -> str:
    field = KIND_FIELDS.get(name)
    return field.label if field else name
