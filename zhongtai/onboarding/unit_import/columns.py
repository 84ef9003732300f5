"""The import template's columns and the results of checking an upload (基础信息归集)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zhongtai.masterdata.models import Unit
from zhongtai.masterdata.validators import credit_code_check_char

MAX_BYTES = 5 * 1024 * 1024  # the upload
MAX_UNPACKED_BYTES = 60 * 1024 * 1024  # the xlsx zip, unpacked: no zip bombs
MAX_ROWS = 2000
DATA_SHEET = "单位信息"
ERROR_HEADER = "错误信息"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    width: int
    note: str
    example: str


def _example_credit_code() -> str:
    first17 = "12430102MB0000001"
    return first17 + credit_code_check_char(first17)


COLUMNS: tuple[Column, ...] = (
    Column("code", "单位编码", True, 14, "6-32 位数字或大写字母，全省唯一；已存在的编码即更新该单位", "430102099"),
    Column("name", "单位名称", True, 32, "不超过 100 字", "长沙市芙蓉区示例服务中心"),
    Column("credit_code", "统一社会信用代码", True, 22, "18 位，按 GB 32100 校验第 18 位", _example_credit_code()),
    Column(
        "unit_type", "单位类型", True, 14, "下拉选择：" + "、".join(Unit.UnitType.labels), Unit.UnitType.OTHER.label
    ),
    Column(
        "connection_mode",
        "接入方式",
        True,
        12,
        "下拉选择：联网单位（在门户开票）或接口单位（收费系统对接）",
        Unit.ConnectionMode.NETWORKED.label,
    ),
    Column("region_code", "所属区划代码", True, 13, "6 位区划代码，须在本辖区内，见“区划代码”表", "430102"),
    Column("valid_from", "有效期起", True, 12, "日期，如 2026-01-01", "2026-01-01"),
    Column("valid_to", "有效期止", False, 12, "日期；留空表示长期有效", ""),
    Column("payee_name", "收款人全称", False, 30, "不超过 100 字", "长沙市芙蓉区示例服务中心"),
    Column("payee_account", "收款账号", False, 24, "不超过 40 位", "430102000012345678"),
    Column("payee_bank", "开户银行", False, 24, "不超过 100 字", "中国工商银行长沙芙蓉支行"),
    Column("contact_person", "联系人", False, 10, "不超过 40 字", "王晓明"),
    Column("contact_phone", "联系电话", False, 16, "不超过 30 位", "0731-84567890"),
    Column(
        "kinds",
        "可用票据种类编码",
        False,
        18,
        "多个用逗号或顿号分隔，见“票据种类”表；更新已有单位时留空表示不变",
        "0101",
    ),
    Column(
        "fee_items",
        "可用收费项目编码",
        False,
        24,
        "多个用逗号或顿号分隔，见“收费项目”表，须适用于所填票据种类；更新已有单位时留空表示不变",
        "F0001、F0002",
    ),
)
HEADERS = tuple(column.header for column in COLUMNS)
COLUMN_OF_FIELD = {column.key: column.header for column in COLUMNS}
DATE_KEYS = frozenset({"valid_from", "valid_to"})
TEXT_FIELDS = ("name", "payee_name", "payee_account", "payee_bank", "contact_person", "contact_phone")


@dataclass(frozen=True)
class RowError:
    row: int  # the Excel row number
    column: str  # the column header, or "" for the whole row
    message: str


@dataclass
class ParsedRow:
    row: int
    cells: list[str]  # as read, for the error report
    values: dict[str, Any] = field(default_factory=dict)
    kind_codes: list[str] | None = None  # None: keep the unit's current kinds
    item_codes: list[str] | None = None
    unit: Unit | None = None


@dataclass
class ImportOutcome:
    file_name: str
    rows: list[ParsedRow]
    errors: list[RowError]
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
