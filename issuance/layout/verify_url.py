"""The public verification address a receipt's QR code opens (查验链接).

``{EREC_PUBLIC_BASE_URL}/verify/?c=<code>&n=<number>&k=<check code>&d=<yyyymmdd>&a=<amount>``:
the three elements Hunan asks for plus the date and amount the national platform asks for,
so that scanning the code fills in the whole verification form.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from urllib.parse import urlencode

FEN = Decimal("0.01")


def configured_base_url() -> str:
    """``settings.EREC_PUBLIC_BASE_URL`` without its trailing slash."""
    from django.conf import settings

    return str(settings.EREC_PUBLIC_BASE_URL).rstrip("/")


def verify_url(
    *,
    receipt_code: str,
    number: str | int,
    check_code: str,
    issue_date: datetime.date,
    amount: Decimal,
    base_url: str | None = None,
) -> str:
    """The verification URL of one receipt; ``base_url`` defaults to the configured one."""
    base = configured_base_url() if base_url is None else base_url.rstrip("/")
    number_text = f"{number:010d}" if isinstance(number, int) else number
    query = urlencode(
        [
            ("c", receipt_code),
            ("n", number_text),
            ("k", check_code),
            ("d", issue_date.strftime("%Y%m%d")),
            ("a", format(amount.quantize(FEN), "f")),
        ]
    )
    return f"{base}/verify/?{query}"
