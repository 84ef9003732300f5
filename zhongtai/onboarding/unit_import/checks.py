"""Reading an uploaded workbook and checking every row against master data and the user's scope."""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from zhongtai.accounts.scoping import Scope
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata.models import FeeItem, ReceiptKind, Region, Unit
from zhongtai.masterdata.validators import credit_code_problem
from zhongtai.onboarding.errors import OnboardingError
from zhongtai.onboarding.models import Application
from zhongtai.onboarding.unit_import.columns import (
    COLUMN_OF_FIELD,
    COLUMNS,
    DATA_SHEET,
    ERROR_HEADER,
    HEADERS,
    MAX_BYTES,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    TEXT_FIELDS,
    ParsedRow,
    RowError,
)

_LIST_SPLIT = re.compile(r"[,，、;；\s]+")


def refuse(code: OnboardingError, message: str, extra: dict[str, Any] | None = None) -> ApplicationError:
    return ApplicationError(code, message, extra)


def _normalise_header(value: Any) -> str:
    return re.sub(r"[\s*＊]", "", str(value or ""))


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def open_sheet(file_name: str, content: bytes) -> Any:
    if not file_name.lower().endswith(".xlsx"):
        raise refuse(OnboardingError.IMPORT_FILE_TYPE, "请上传 Excel 文件（.xlsx 格式），可先下载导入模板。")
    if len(content) > MAX_BYTES:
        raise refuse(
            OnboardingError.IMPORT_FILE_TOO_LARGE,
            f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请分批导入。",
            {"max_bytes": MAX_BYTES, "given": len(content)},
        )
    not_xlsx = refuse(OnboardingError.IMPORT_FILE_TYPE, "文件不是有效的 Excel（.xlsx）文件，请用导入模板填写后上传。")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise not_xlsx from exc
    if "xl/workbook.xml" not in names or unpacked > MAX_UNPACKED_BYTES:
        raise not_xlsx
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise not_xlsx from exc
    return workbook[DATA_SHEET] if DATA_SHEET in workbook.sheetnames else workbook.worksheets[0]


def read_rows(sheet: Any) -> list[ParsedRow]:
    rows = sheet.iter_rows(values_only=True)
    header = [_normalise_header(v) for v in next(rows, ())]
    while header and not header[-1]:
        header.pop()
    if header and header[-1] == ERROR_HEADER:  # a corrected error report comes back with its error column
        header.pop()
    if tuple(header) != HEADERS:
        raise refuse(
            OnboardingError.IMPORT_HEADER_MISMATCH,
            "表头与导入模板不一致，请下载最新模板，不要修改、增删表头列。",
            {"expected": list(HEADERS), "found": header},
        )
    parsed: list[ParsedRow] = []
    for number, values in enumerate(rows, start=2):
        cells = [_cell_text(v) for v in values[: len(HEADERS)]]
        cells += [""] * (len(HEADERS) - len(cells))
        if not any(cells):
            continue
        if len(parsed) >= MAX_ROWS:
            raise refuse(
                OnboardingError.IMPORT_TOO_MANY_ROWS,
                f"一次最多导入 {MAX_ROWS} 行，请分批导入。",
                {"max_rows": MAX_ROWS},
            )
        parsed.append(ParsedRow(row=number, cells=cells))
    if not parsed:
        raise refuse(OnboardingError.IMPORT_EMPTY, "文件中没有单位数据。")
    return parsed


def _parse_date(text: str) -> datetime.date | None:
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"):
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _codes(text: str) -> list[str]:
    return [code for code in _LIST_SPLIT.split(text.upper()) if code]


class Checker:
    """Checks all rows against master data loaded once (a handful of queries per file)."""

    def __init__(self, scope: Scope, rows: list[ParsedRow]) -> None:
        self.scope = scope
        self.rows = rows
        self.errors: list[RowError] = []
        cells = [dict(zip((c.key for c in COLUMNS), r.cells, strict=True)) for r in rows]
        self.cells = cells
        codes = {c["code"].upper() for c in cells if c["code"]}
        credit_codes = {c["credit_code"].upper() for c in cells if c["credit_code"]}
        self.existing = {u.code: u for u in Unit.objects.filter(code__in=codes).select_related("region")}
        self.in_scope = set(scope.units().filter(code__in=codes).values_list("code", flat=True))
        self.credit_owner = dict(Unit.objects.filter(credit_code__in=credit_codes).values_list("credit_code", "code"))
        self.regions = {r.code: r for r in scope.regions().filter(code__in={c["region_code"] for c in cells})}
        self.kinds = {k.code: k for k in ReceiptKind.objects.filter(active=True)}
        self.items = {i.code: i for i in FeeItem.objects.prefetch_related("kinds")}
        self.current_kinds: dict[int, set[str]] = {}
        for unit_id, kind_code in Unit.allowed_kinds.through.objects.filter(unit__code__in=codes).values_list(
            "unit_id", "receiptkind__code"
        ):
            self.current_kinds.setdefault(unit_id, set()).add(kind_code)
        engaged = set(Application.objects.filter(unit__code__in=codes).values_list("unit__code", flat=True)) | set(
            ApiCredential.objects.filter(unit__code__in=codes, status=ApiCredential.Status.ACTIVE).values_list(
                "unit__code", flat=True
            )
        )
        self.engaged = engaged
        self.code_counts = Counter(c["code"].upper() for c in cells if c["code"])
        self.credit_counts = Counter(c["credit_code"].upper() for c in cells if c["credit_code"])

    def error(self, row: ParsedRow, key: str, message: str) -> None:
        self.errors.append(RowError(row=row.row, column=COLUMN_OF_FIELD.get(key, ""), message=message))

    def check(self) -> list[RowError]:
        for row, cells in zip(self.rows, self.cells, strict=True):
            self._check_row(row, cells)
        return self.errors

    def _check_row(self, row: ParsedRow, cells: dict[str, str]) -> None:
        before = len(self.errors)
        for column in COLUMNS:
            if column.required and not cells[column.key]:
                self.error(row, column.key, "必填项未填写。")
        code = cells["code"].upper()
        existing = self.existing.get(code)
        if code and self.code_counts[code] > 1:
            self.error(row, "code", "单位编码在文件中重复出现。")
        if existing is not None and code not in self.in_scope:
            self.error(row, "code", "该单位编码已被辖区外的单位使用。")
            return
        values: dict[str, Any] = {"code": code}
        values.update({name: cells[name] for name in TEXT_FIELDS})
        values["credit_code"] = self._credit_code(row, cells["credit_code"], code)
        values["unit_type"] = self._choice(row, "unit_type", cells["unit_type"], Unit.UnitType)
        values["connection_mode"] = self._choice(row, "connection_mode", cells["connection_mode"], Unit.ConnectionMode)
        if (
            existing is not None
            and values["connection_mode"]
            and values["connection_mode"] != existing.connection_mode
            and code in self.engaged
        ):
            self.error(row, "connection_mode", "该单位已办理接入申请或持有接口凭证，不能通过导入改变接入方式。")
        values["region"] = self._region(row, cells["region_code"])
        values["valid_from"] = self._date(row, "valid_from", cells["valid_from"])
        values["valid_to"] = self._date(row, "valid_to", cells["valid_to"])
        row.kind_codes = self._kinds(row, cells["kinds"])
        row.item_codes = self._items(row, cells["fee_items"], existing)
        if len(self.errors) > before:
            return
        row.values = values
        row.unit = self._model_check(row, existing, values)

    def _credit_code(self, row: ParsedRow, text: str, code: str) -> str:
        credit = text.upper()
        if not credit:
            return ""
        problem = credit_code_problem(credit)
        if problem:
            self.error(row, "credit_code", problem)
        elif self.credit_counts[credit] > 1:
            self.error(row, "credit_code", "统一社会信用代码在文件中重复出现。")
        elif self.credit_owner.get(credit, code) != code:
            self.error(row, "credit_code", f"该统一社会信用代码已被单位 {self.credit_owner[credit]} 使用。")
        return credit

    def _choice(self, row: ParsedRow, key: str, text: str, choices: Any) -> str:
        if not text:
            return ""
        by_label = {label: value for value, label in choices.choices}
        value = by_label.get(text, text if text in choices.values else "")
        if not value:
            self.error(row, key, f"应为以下之一：{'、'.join(choices.labels)}。")
        return value

    def _region(self, row: ParsedRow, text: str) -> Region | None:
        if not text:
            return None
        region = self.regions.get(text)
        if region is None:
            self.error(row, "region_code", f"区划代码 {text} 不存在或不在本辖区内。")
        return region

    def _date(self, row: ParsedRow, key: str, text: str) -> datetime.date | None:
        if not text:
            return None
        day = _parse_date(text[:10])
        if day is None:
            self.error(row, key, "日期格式不正确，应为 2026-01-01 这样的日期。")
        return day

    def _kinds(self, row: ParsedRow, text: str) -> list[str] | None:
        if not text:
            return None
        codes = _codes(text)
        unknown = [code for code in codes if code not in self.kinds]
        if unknown:
            self.error(row, "kinds", f"票据种类编码不存在或已停用：{'、'.join(unknown)}。")
        return sorted(set(codes))

    def _items(self, row: ParsedRow, text: str, existing: Unit | None) -> list[str] | None:
        if not text:
            return None
        codes = sorted(set(_codes(text)))
        unknown = [code for code in codes if code not in self.items]
        if unknown:
            self.error(row, "fee_items", f"收费项目编码不存在：{'、'.join(unknown)}。")
            return codes
        if row.kind_codes is not None:
            kinds = set(row.kind_codes)
        else:
            kinds = self.current_kinds.get(existing.pk, set()) if existing is not None else set()
        unfit = [
            code
            for code in codes
            if (item_kinds := {k.code for k in self.items[code].kinds.all()}) and not item_kinds & kinds
        ]
        if unfit:
            self.error(row, "fee_items", f"收费项目不适用于该单位的票据种类：{'、'.join(unfit)}。")
        return codes

    def _model_check(self, row: ParsedRow, existing: Unit | None, values: dict[str, Any]) -> Unit | None:
        unit = (
            Unit(pk=existing.pk, status=existing.status, numbering_mode=existing.numbering_mode) if existing else Unit()
        )
        for name, value in values.items():
            setattr(unit, name, value)
        try:
            # Uniqueness is checked for the whole file above (two queries, not two per row),
            # and the validity-order constraint by Unit.clean().
            unit.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                key = "region_code" if name == "region" else name
                for message in messages:
                    self.error(row, key if key in COLUMN_OF_FIELD else "", message)
            return None
        return unit
