"""The JSON shape of a receipt in the standard interface (camelCase)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from issuance.models import Receipt


def _money(value: Any) -> str:
    return format(value, "f")


def _price(value: Decimal) -> str:
    """A unit price: two decimals when exact in fen (10.00), else as many as needed (0.1234)."""
    in_fen = value.quantize(Decimal("0.01"))
    return format(in_fen, "f") if in_fen == value else format(value.normalize(), "f")


def receipt_summary(receipt: Receipt) -> dict[str, Any]:
    return {
        "receiptCode": receipt.receipt_code,
        "receiptNumber": receipt.number_text,
        "checkCode": receipt.check_code,
        "kindCode": receipt.kind.code,
        "busNo": receipt.bus_no,
        "busDate": receipt.bus_date.isoformat(),
        "issueDate": receipt.issue_date.isoformat(),
        "issuedAt": timezone.localtime(receipt.issued_at).isoformat(),
        "status": receipt.status,
        "statusLabel": receipt.get_status_display(),
        "isRed": receipt.is_red,
        "signStatus": receipt.sign_status,
        "payerName": receipt.payer_name,
        "totalAmount": _money(receipt.total_amount),
    }


def receipt_detail(receipt: Receipt) -> dict[str, Any]:
    data = receipt_summary(receipt)
    data.update(
        {
            "kindName": receipt.kind.name,
            "unitCode": receipt.unit.code,
            "unitName": receipt.unit.name,
            "issuingPointCode": receipt.issuing_point.code if receipt.issuing_point else "",
            "regionCode": receipt.region_code,
            "payer": {
                "type": receipt.payer_type,
                "name": receipt.payer_name,
                "code": receipt.payer_code,
                "phone": receipt.payer_phone,
                "email": receipt.payer_email,
                "account": receipt.payer_account,
                "bank": receipt.payer_bank,
            },
            "payee": {
                "name": receipt.payee_name,
                "account": receipt.payee_account,
                "bank": receipt.payee_bank,
            },
            "items": [
                {
                    "lineNo": item.line_no,
                    "itemCode": item.item_code,
                    "itemName": item.item_name,
                    "unit": item.unit_of_measure,
                    "quantity": format(item.quantity.normalize(), "f"),
                    "standard": _price(item.standard),
                    "amount": _money(item.amount),
                    "remark": item.remark,
                }
                for item in receipt.items.all()
            ],
            "totalAmountUpper": receipt.total_amount_upper,
            "currency": receipt.currency,
            "payMode": receipt.pay_mode,
            "handlingPerson": receipt.handling_person,
            "checker": receipt.checker,
            "remark": receipt.remark,
            "ext": receipt.ext,
            "relatedReceipt": (
                {
                    "receiptCode": receipt.related_receipt.receipt_code,
                    "receiptNumber": receipt.related_receipt.number_text,
                }
                if receipt.related_receipt_id and receipt.related_receipt
                else None
            ),
            "sandbox": receipt.sandbox,
        }
    )
    return data
