"""Receipt lists as Excel workbooks (openpyxl), written row by row in write-only mode."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from issuance.models import Receipt

HEADERS = (
    ("票据代码", 12),
    ("票据号码", 13),
    ("校验码", 9),
    ("票据种类", 24),
    ("单位编码", 12),
    ("开票单位", 28),
    ("开票点", 16),
    ("开票时间", 19),
    ("交款人", 20),
    ("合计金额（元）", 14),
    ("红票", 6),
    ("原票据", 20),
    ("状态", 14),
    ("签章状态", 10),
    ("业务流水号", 24),
    ("来源", 10),
    ("开票人", 14),
)
CHUNK = 64 * 1024


def _row(receipt: Receipt) -> list[object]:
    original = receipt.related_receipt
    return [
        receipt.receipt_code,
        receipt.number_text,
        receipt.check_code,
        receipt.kind.name,
        receipt.unit.code,
        receipt.unit.name,
        receipt.issuing_point.name if receipt.issuing_point else "",
        timezone.localtime(receipt.issued_at).strftime("%Y-%m-%d %H:%M:%S"),
        receipt.payer_name,
        receipt.total_amount,  # Decimal: written as an exact number, shown with two decimals
        "是" if receipt.is_red else "",
        f"{original.receipt_code}-{original.number_text}" if original else "",
        receipt.get_status_display(),
        receipt.get_sign_status_display(),
        receipt.bus_no or "",
        receipt.get_source_display(),
        receipt.issued_by,
    ]


def receipts_workbook(receipts: Iterable[Receipt]) -> Iterator[bytes]:
    """The workbook's bytes in chunks, for a streaming response."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("票据清单")
    for index, (_, width) in enumerate(HEADERS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    bold = Font(bold=True)
    header = []
    for title, _ in HEADERS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for receipt in receipts:
        row = _row(receipt)
        amount = WriteOnlyCell(sheet, value=row[9])
        amount.number_format = "#,##0.00"
        row[9] = amount
        sheet.append(row)
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        handle.seek(0)
        while chunk := handle.read(CHUNK):
            yield chunk
