"""``LayoutData`` from a signed data file: the layout file shows exactly what was signed.

Two names that the data file does not carry are given by the caller: the province's
name (for the title) and the supervising finance department's name (for its seal).
A sandbox receipt is recognised by the SupervisorRemark the platform writes into the
signed data (``SANDBOX_REMARK``), so the watermark cannot be left off a signed copy.
"""

from __future__ import annotations

from issuance.datafile.builder import SANDBOX_REMARK
from issuance.datafile.parse import DataFile
from issuance.layout.data import LayoutData, LayoutItem
from issuance.layout.receipt_data import ext_fields
from zhongtai.core.money import amount_in_capitals


def layout_data_from_datafile(content: DataFile, *, province_name: str, supervision_seal_name: str) -> LayoutData:
    return LayoutData(
        title=f"{province_name}{content.kind_name}（电子）",
        kind_name=content.kind_name,
        specimen_code=content.specimen_code,
        receipt_code=content.receipt_code,
        number=content.number_text,
        check_code=content.check_code,
        issue_date=content.issue_date,
        payer_name=content.payer.name,
        payer_code=content.payer.code,
        bus_no=content.bus_no,
        pay_mode=content.pay_mode,
        items=tuple(
            LayoutItem(
                code=item.code,
                name=item.name,
                unit=item.unit,
                quantity=item.quantity,
                standard=item.standard,
                amount=item.amount,
                remark=item.remark,
            )
            for item in content.items
        ),
        total_amount=content.total_amount,
        total_in_capitals=amount_in_capitals(content.total_amount),
        remark=content.remark,
        payee_unit_name=content.unit.name,
        handling_person=content.handling_person,
        checker=content.checker,
        unit_seal_name=content.unit.name,
        supervision_seal_name=supervision_seal_name,
        is_red=content.is_red,
        original_receipt_code=content.related_receipt_code,
        original_number=f"{content.related_number:010d}" if content.related_number is not None else "",
        ext=ext_fields(content.ext),
        sandbox=content.supervisor_remark == SANDBOX_REMARK,
    )
