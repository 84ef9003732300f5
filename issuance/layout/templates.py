"""Receipt templates (票据样式, 制样) as data.

One JSON file per template in ``specimens/``: page size, the header fields, the item
table's columns, the rows below it, colours, fonts and seal sizes. A receipt kind names
its template by ``ReceiptKind.specimen_code``; a template claims codes exactly
(``specimen_codes``) or by prefix (``specimen_prefixes``), and ``default`` takes the rest.
Lengths are millimetres, font sizes points.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from zhongtai.masterdata.kind_fields import KIND_FIELDS

SPECIMEN_DIR = Path(__file__).resolve().parent / "specimens"
DEFAULT_TEMPLATE = "default"

Align = Literal["left", "center", "right"]
ColumnKey = Literal["code", "name", "unit", "quantity", "standard", "amount", "remark"]
RGB = tuple[float, float, float]

COLUMN_KEYS: tuple[str, ...] = ("code", "name", "unit", "quantity", "standard", "amount", "remark")
# Header fields that are not kind-specific (ext) fields, with their printed labels.
CORE_HEADER_FIELDS: dict[str, str] = {
    "payer": "交款人",
    "payerCode": "交款人统一社会信用代码",
    "busNo": "业务流水号",
    "payMode": "缴款方式",
}


class TemplateError(ValueError):
    """A template file is malformed."""


@dataclass(frozen=True, slots=True)
class Column:
    key: ColumnKey
    label: str
    width_mm: float
    align: Align


@dataclass(frozen=True, slots=True)
class Colours:
    frame: RGB
    label: RGB
    value: RGB
    seal: RGB
    red_mark: RGB


@dataclass(frozen=True, slots=True)
class FontSizes:
    title: float
    label: float
    value: float
    table: float
    small: float


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    description: str
    specimen_codes: tuple[str, ...]
    specimen_prefixes: tuple[str, ...]
    page_mm: tuple[float, float]
    margin_mm: float
    top_band_mm: float
    qr_mm: float
    colours: Colours
    fonts: FontSizes
    header_rows: int
    header_columns: int
    header_row_mm: float
    header_fields: tuple[str, ...]
    table_header_mm: float
    row_mm: float
    max_rows: int
    columns: tuple[Column, ...]
    total_row_mm: float
    split_row_mm: float
    split_fields: tuple[str, ...]
    other_row_mm: float
    remark_row_mm: float
    unit_seal_mm: float
    unit_seal_legend: str
    supervision_seal_mm: tuple[float, float]

    @property
    def content_width_mm(self) -> float:
        return self.page_mm[0] - 2 * self.margin_mm


def _rgb(value: Any, where: str) -> RGB:
    if not (isinstance(value, str) and len(value) == 7 and value.startswith("#")):
        raise TemplateError(f"{where}: a colour is written #rrggbb, got {value!r}")
    try:
        return cast(RGB, tuple(int(value[i : i + 2], 16) / 255 for i in (1, 3, 5)))
    except ValueError as exc:
        raise TemplateError(f"{where}: bad colour {value!r}") from exc


class _Reader:
    """Strict access to one JSON object: every key must be read, and no unknown key may remain."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise TemplateError(f"{where}: expected an object")
        self.data = dict(data)
        self.where = where

    def take(self, key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in self.data:
            raise TemplateError(f"{self.where}: missing {key!r}")
        value = self.data.pop(key)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise TemplateError(f"{self.where}.{key}: expected {kind}, got {value!r}")
        return value

    def number(self, key: str, *, minimum: float = 0.0) -> float:
        value = float(self.take(key, (int, float)))
        if value < minimum:
            raise TemplateError(f"{self.where}.{key}: must be at least {minimum}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.take(key, list)
        if not all(isinstance(v, str) for v in values):
            raise TemplateError(f"{self.where}.{key}: expected a list of strings")
        return tuple(values)

    def done(self) -> None:
        if self.data:
            raise TemplateError(f"{self.where}: unknown keys {sorted(self.data)}")


def template_from_json(data: Any, where: str = "template") -> Template:
    """Build and check a template from its JSON object."""
    top = _Reader(data, where)
    page = _Reader(top.take("page", dict), f"{where}.page")
    page_mm = (page.number("width_mm", minimum=50), page.number("height_mm", minimum=50))
    margin_mm = page.number("margin_mm")
    top_band_mm = page.number("top_band_mm")
    qr_mm = page.number("qr_mm", minimum=15)
    page.done()

    colours_in = _Reader(top.take("colours", dict), f"{where}.colours")
    colours = Colours(
        **{k: _rgb(colours_in.take(k, str), f"{where}.colours.{k}") for k in Colours.__slots__}  # type: ignore[arg-type]
    )
    colours_in.done()
    fonts_in = _Reader(top.take("font_pt", dict), f"{where}.font_pt")
    fonts = FontSizes(**{k: fonts_in.number(k, minimum=4) for k in FontSizes.__slots__})  # type: ignore[arg-type]
    fonts_in.done()

    header = _Reader(top.take("header", dict), f"{where}.header")
    header_rows = int(header.number("rows", minimum=1))
    header_columns = int(header.number("columns", minimum=1))
    header_row_mm = header.number("row_mm", minimum=3)
    header_fields = header.strings("fields")
    header.done()
    for name in header_fields:
        if name not in CORE_HEADER_FIELDS and name not in KIND_FIELDS:
            raise TemplateError(f"{where}.header.fields: unknown field {name!r}")

    table = _Reader(top.take("table", dict), f"{where}.table")
    table_header_mm = table.number("header_mm", minimum=3)
    row_mm = table.number("row_mm", minimum=3)
    max_rows = int(table.number("max_rows", minimum=1))
    columns = tuple(_column(raw, f"{where}.table.columns[{i}]") for i, raw in enumerate(table.take("columns", list)))
    table.done()

    rows = _Reader(top.take("rows", dict), f"{where}.rows")
    total_row_mm = rows.number("total_mm", minimum=4)
    split_row_mm = rows.number("split_mm")
    split_fields = rows.strings("split_fields")
    other_row_mm = rows.number("other_mm")
    remark_row_mm = rows.number("remark_mm", minimum=4)
    rows.done()
    for name in split_fields:
        if name not in KIND_FIELDS or KIND_FIELDS[name].type != "money":
            raise TemplateError(f"{where}.rows.split_fields: {name!r} is no money field")
    if bool(split_fields) != (split_row_mm > 0):
        raise TemplateError(f"{where}.rows: split_mm and split_fields go together")

    seals = _Reader(top.take("seals", dict), f"{where}.seals")
    unit_seal_mm = seals.number("unit_diameter_mm", minimum=10)
    unit_seal_legend = seals.take("unit_legend", str)
    supervision_seal_mm = (
        seals.number("supervision_width_mm", minimum=10),
        seals.number("supervision_height_mm", minimum=10),
    )
    seals.done()

    template = Template(
        name=top.take("name", str),
        description=top.take("description", str),
        specimen_codes=top.strings("specimen_codes"),
        specimen_prefixes=top.strings("specimen_prefixes"),
        page_mm=page_mm,
        margin_mm=margin_mm,
        top_band_mm=top_band_mm,
        qr_mm=qr_mm,
        colours=colours,
        fonts=fonts,
        header_rows=header_rows,
        header_columns=header_columns,
        header_row_mm=header_row_mm,
        header_fields=header_fields,
        table_header_mm=table_header_mm,
        row_mm=row_mm,
        max_rows=max_rows,
        columns=columns,
        total_row_mm=total_row_mm,
        split_row_mm=split_row_mm,
        split_fields=split_fields,
        other_row_mm=other_row_mm,
        remark_row_mm=remark_row_mm,
        unit_seal_mm=unit_seal_mm,
        unit_seal_legend=unit_seal_legend,
        supervision_seal_mm=supervision_seal_mm,
    )
    top.done()
    _check_fits(template, where)
    return template


def _column(raw: Any, where: str) -> Column:
    reader = _Reader(raw, where)
    key = reader.take("key", str)
    if key not in COLUMN_KEYS:
        raise TemplateError(f"{where}.key: one of {COLUMN_KEYS}, got {key!r}")
    align = reader.take("align", str)
    if align not in ("left", "center", "right"):
        raise TemplateError(f"{where}.align: left, center or right, got {align!r}")
    column = Column(
        key=key, label=reader.take("label", str), width_mm=reader.number("width_mm", minimum=5), align=align
    )
    reader.done()
    return column


def _check_fits(template: Template, where: str) -> None:
    width = sum(column.width_mm for column in template.columns)
    if abs(width - template.content_width_mm) > 0.01:
        raise TemplateError(f"{where}: the columns are {width} mm wide, the page leaves {template.content_width_mm} mm")
    if not any(column.key == "amount" for column in template.columns):
        raise TemplateError(f"{where}: the item table needs an amount column")
    bottom = frame_bottom_mm(template) + 14
    if bottom > template.page_mm[1]:
        raise TemplateError(f"{where}: the layout needs {bottom} mm, the page is {template.page_mm[1]} mm high")


def frame_top_mm(template: Template) -> float:
    """Top of the framed table, below the header rows."""
    return template.top_band_mm + template.header_rows * template.header_row_mm + 1.0


def frame_bottom_mm(template: Template) -> float:
    return (
        frame_top_mm(template)
        + template.table_header_mm
        + template.max_rows * template.row_mm
        + template.total_row_mm
        + template.split_row_mm
        + template.other_row_mm
        + template.remark_row_mm
    )


@lru_cache(maxsize=1)
def all_templates() -> dict[str, Template]:
    """Every template in ``specimens/``, by name; loaded once per process."""
    templates: dict[str, Template] = {}
    for path in sorted(SPECIMEN_DIR.glob("*.json")):
        template = template_from_json(json.loads(path.read_text(encoding="utf-8")), path.name)
        if template.name in templates:
            raise TemplateError(f"{path.name}: a second template named {template.name!r}")
        templates[template.name] = template
    if DEFAULT_TEMPLATE not in templates:
        raise TemplateError(f"no {DEFAULT_TEMPLATE!r} template in {SPECIMEN_DIR}")
    claimed: dict[str, str] = {}
    for template in templates.values():
        for code in template.specimen_codes:
            if code in claimed:
                raise TemplateError(f"specimen code {code} claimed by {claimed[code]} and {template.name}")
            claimed[code] = template.name
    return templates


def template_for(specimen_code: str) -> Template:
    """The template of a specimen code: exact claim, else the longest prefix claim, else ``default``."""
    templates = all_templates()
    for template in templates.values():
        if specimen_code in template.specimen_codes:
            return template
    best: tuple[int, Template] | None = None
    for template in templates.values():
        for prefix in template.specimen_prefixes:
            if specimen_code.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), template)
    return best[1] if best else templates[DEFAULT_TEMPLATE]
