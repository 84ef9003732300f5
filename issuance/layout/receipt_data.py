"""``LayoutData`` of a stored receipt (the database side of the layout file).

Kept apart from ``data`` so that the renderer and the offline verifier never import
Django models; the models are imported when this function is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from issuance.layout.data import LayoutData, LayoutExtField, LayoutItem
from zhongtai.core.money import amount_in_capitals
from zhongtai.masterdata.kind_fields import KIND_FIELDS

if TYPE_CHECKING:
    from issuance.models import Receipt

# The supervision seal's name when the province has no finance bureau in master data.
SUPERVISION_SEAL_FALLBACK = "财政电子票据监制章"


def province_names(region_code: str) -> tuple[str, str]:
    """(province name, supervision seal name) for a receipt supervised in ``region_code``: one query."""
    from django.core.exceptions import ObjectDoesNotExist

    from zhongtai.masterdata.models import Region

    province = Region.objects.select_related("bureau").filter(code=region_code[:2] + "0000").first()
    try:
        supervision = province.bureau.name if province is not None else SUPERVISION_SEAL_FALLBACK
    except ObjectDoesNotExist:
        supervision = SUPERVISION_SEAL_FALLBACK
    return (province.name if province else ""), supervision


def layout_data_from_receipt(receipt: Receipt) -> LayoutData:
    """Everything the layout file of ``receipt`` shows: two queries (province, items)."""
    province_name, supervision = province_names(receipt.region_code)
    kind = receipt.kind
    original = receipt.related_receipt if receipt.is_red else None
    return LayoutData(
        title=f"{province_name}{kind.name}（电子）",
        kind_name=kind.name,
        specimen_code=kind.specimen_code,
        receipt_code=receipt.receipt_code,
        number=receipt.number_text,
        check_code=receipt.check_code,
        issue_date=receipt.issue_date,
        payer_name=receipt.payer_name,
        payer_code=receipt.payer_code,
        bus_no=receipt.bus_no or "",
        pay_mode=receipt.pay_mode,
        items=tuple(
            LayoutItem(
                code=item.item_code,
                name=item.item_name,
                unit=item.unit_of_measure,
                quantity=item.quantity,
                standard=item.standard,
                amount=item.amount,
                remark=item.remark,
            )
            for item in receipt.items.all()
        ),
        total_amount=receipt.total_amount,
        total_in_capitals=receipt.total_amount_upper or amount_in_capitals(receipt.total_amount),
        remark=receipt.remark,
        payee_unit_name=receipt.unit.name,
        handling_person=receipt.handling_person,
        checker=receipt.checker,
        unit_seal_name=receipt.unit.name,
        supervision_seal_name=supervision,
        is_red=receipt.is_red,
        original_receipt_code=original.receipt_code if original else "",
        original_number=original.number_text if original else "",
        ext=ext_fields(receipt.ext or {}),
        sandbox=receipt.sandbox,
    )


def ext_fields(ext: dict[str, Any]) -> tuple[LayoutExtField, ...]:
    """Known fields in the order of KIND_FIELDS, with their labels; unknown ones after, by name."""
    known = [LayoutExtField(name, field.label, _text(ext[name])) for name, field in KIND_FIELDS.items() if name in ext]
    unknown = [LayoutExtField(name, name, _text(ext[name])) for name in sorted(set(ext) - set(KIND_FIELDS))]
    return tuple(field for field in known + unknown if field.value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
