"""The workbooks the import hands out: the template for a bureau's region, and the error report."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.masterdata.models import FeeItem, ReceiptKind, Region, Unit
from zhongtai.onboarding.unit_import.columns import (
    COLUMN_OF_FIELD,
    COLUMNS,
    DATA_SHEET,
    DATE_KEYS,
    ERROR_HEADER,
    MAX_BYTES,
    MAX_ROWS,
    ImportOutcome,
    RowError,
)

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="B3261E")
_REQUIRED_NOTE_FILL = PatternFill("solid", fgColor="FFF8C5")
_ERROR_FILL = PatternFill("solid", fgColor="FFEBE9")


def _header_cell(ws: Any, row: int, col: int, value: str) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    cell.font = _HEADER_FONT
    cell.fill = _HEADER_FILL
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _write_table(ws: Any, headers: list[str], rows: list[list[Any]], widths: list[int]) -> None:
    for col, (header, width) in enumerate(zip(headers, widths, strict=True), start=1):
        _header_cell(ws, 1, col, header)
        ws.column_dimensions[get_column_letter(col)].width = width
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"


def unit_import_template(*, scope: Scope) -> bytes:
    """The import template for the user's region: data sheet, instructions and code tables."""
    scope.require(Permission.MANAGE_MASTERDATA)
    wb = Workbook()
    data = wb.active
    data.title = DATA_SHEET
    for col, column in enumerate(COLUMNS, start=1):
        _header_cell(data, 1, col, column.header + ("*" if column.required else ""))
        letter = get_column_letter(col)
        data.column_dimensions[letter].width = column.width
        # Codes, accounts and phone numbers are text: Excel must not turn 430102001 into a number.
        if column.key not in DATE_KEYS:
            data.column_dimensions[letter].number_format = "@"
        else:
            data.column_dimensions[letter].number_format = "yyyy-mm-dd"
    data.freeze_panes = "A2"
    data.row_dimensions[1].height = 30

    regions = list(scope.regions().order_by("code").values_list("code", "name", "level"))
    _add_validations(data, region_count=len(regions))
    _instructions_sheet(wb.create_sheet("填写说明"))
    _write_table(
        wb.create_sheet("区划代码"),
        ["区划代码", "名称", "级次"],
        [[code, name, Region.Level(level).label] for code, name, level in regions],
        [12, 24, 8],
    )
    _write_table(
        wb.create_sheet("票据种类"),
        ["种类编码", "票据种类名称"],
        [[k.code, k.name] for k in ReceiptKind.objects.filter(active=True).order_by("code")],
        [10, 36],
    )
    items = FeeItem.objects.prefetch_related("kinds").order_by("code")
    _write_table(
        wb.create_sheet("收费项目"),
        ["项目编码", "项目名称", "适用票据种类", "有效期止"],
        [
            [
                item.code,
                item.name,
                "、".join(k.code for k in item.kinds.all()) or "全部",
                item.valid_to.isoformat() if item.valid_to else "",
            ]
            for item in items
        ],
        [12, 30, 20, 12],
    )
    wb.move_sheet("填写说明", offset=-wb.sheetnames.index("填写说明"))
    wb.active = wb.sheetnames.index(DATA_SHEET)
    return _save(wb)


def _add_validations(ws: Any, *, region_count: int) -> None:
    last = MAX_ROWS + 1

    def column_range(key: str) -> str:
        letter = get_column_letter([c.key for c in COLUMNS].index(key) + 1)
        return f"{letter}2:{letter}{last}"

    def choose(key: str, options: list[str]) -> None:
        validation = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)
        validation.error = "请从下拉列表中选择。"
        validation.errorTitle = COLUMN_OF_FIELD[key]
        validation.showErrorMessage = True
        validation.add(column_range(key))
        ws.add_data_validation(validation)

    choose("unit_type", list(Unit.UnitType.labels))
    choose("connection_mode", list(Unit.ConnectionMode.labels))
    if region_count:
        regions = DataValidation(type="list", formula1=f"='区划代码'!$A$2:$A${region_count + 1}", allow_blank=True)
        regions.error = "区划代码须在本辖区内，见“区划代码”表。"
        regions.errorTitle = "所属区划代码"
        regions.showErrorMessage = True
        regions.add(column_range("region_code"))
        ws.add_data_validation(regions)
    for key in sorted(DATE_KEYS):
        dates = DataValidation(type="date", operator="greaterThan", formula1="DATE(1990,1,1)", allow_blank=True)
        dates.error = "请填写日期，如 2026-01-01。"
        dates.errorTitle = COLUMN_OF_FIELD[key]
        dates.showErrorMessage = True
        dates.add(column_range(key))
        ws.add_data_validation(dates)


def _instructions_sheet(ws: Any) -> None:
    ws.column_dimensions["A"].width = 20
    ws.column_dimensions["B"].width = 8
    ws.column_dimensions["C"].width = 70
    lines = [
        ("用票单位基础信息归集模板（财政电子票据）", True),
        ("1. 在“单位信息”表中每行填写一个单位，第 1 行表头不要修改、不要增删列；带 * 的列必填。", False),
        (f"2. 每次最多导入 {MAX_ROWS} 行，文件不超过 {MAX_BYTES // 1024 // 1024} MB，格式为 .xlsx。", False),
        ("3. 单位编码已存在的，按本表内容更新该单位；不存在的，新增单位。", False),
        ("4. 所属区划须在本财政部门辖区内；区划、票据种类和收费项目编码见同名工作表。", False),
        ("5. 导入前逐行校验：任何一行有误则整个文件都不导入，系统给出错误清单（行号、列、原因），", False),
        ("   并可下载带“错误信息”列的文件，改正后重新上传即可（“错误信息”列无需删除）。", False),
        ("6. 下方“填写示例”仅供参考，请勿填入“单位信息”表。", False),
    ]
    for row, (text, bold) in enumerate(lines, start=1):
        cell = ws.cell(row=row, column=1, value=text)
        cell.font = Font(bold=bold, size=14 if bold else 11)
    start = len(lines) + 2
    for col, header in enumerate(("列名", "必填", "填写要求"), start=1):
        _header_cell(ws, start, col, header)
    for offset, column in enumerate(COLUMNS, start=1):
        ws.cell(row=start + offset, column=1, value=column.header)
        required = ws.cell(row=start + offset, column=2, value="是" if column.required else "否")
        if column.required:
            required.fill = _REQUIRED_NOTE_FILL
        ws.cell(row=start + offset, column=3, value=column.note)
    example_row = start + len(COLUMNS) + 2
    ws.cell(row=example_row, column=1, value="填写示例").font = Font(bold=True)
    for col, column in enumerate(COLUMNS, start=1):
        _header_cell(ws, example_row + 1, col, column.header)
        cell = ws.cell(row=example_row + 2, column=col, value=column.example)
        cell.font = Font(italic=True, color="59636E")
    for col in range(4, len(COLUMNS) + 1):
        ws.column_dimensions[get_column_letter(col)].width = max(12, COLUMNS[col - 1].width)


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- The error report ---------------------------------------------------------------------------


def import_error_workbook(*, outcome: ImportOutcome) -> bytes:
    """The uploaded rows with an error column (problem rows highlighted), and a list of all errors."""
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    by_row: dict[int, list[RowError]] = {}
    for error in outcome.errors:
        by_row.setdefault(error.row, []).append(error)
    headers = [c.header + ("*" if c.required else "") for c in COLUMNS] + [ERROR_HEADER]
    _write_table(ws, headers, [], [c.width for c in COLUMNS] + [60])
    for row in outcome.rows:
        problems = by_row.get(row.row, [])
        text = "；".join(f"{e.column + '：' if e.column else ''}{e.message}" for e in problems)
        ws.append([*row.cells, text])
        if problems:
            for cell in ws[ws.max_row]:
                cell.fill = _ERROR_FILL
    for col in range(1, len(COLUMNS) + 1):
        ws.column_dimensions[get_column_letter(col)].number_format = "@"
    _write_table(
        wb.create_sheet("错误清单"),
        ["行号", "列", "错误原因"],
        [[e.row, e.column or "（整行）", e.message] for e in outcome.errors],
        [8, 20, 80],
    )
    return _save(wb)
