"""The client against a real simulator: signed requests, the cross-province lookup, no usable answer."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

import pytest

from tests.support.natsim import Natsim
from tests.zhongtai.national.conftest import issue, sign
from zhongtai.masterdata.models import Unit
from zhongtai.national import client
from zhongtai.national.client import ForeignReceipt, NationalUnavailable, receipt_lookup
from zhongtai.national.outbox import events_sweep

pytestmark = pytest.mark.integration


def test_the_signature_is_the_documented_hmac() -> None:
    # docs/national.md: hex HMAC-SHA256 over METHOD, PATH, QUERY, timestamp, nonce, hex(SHA-256(body))
    signature = client.request_signature(
        secret="s3cret-430000",
        method="get",
        path="/v1/reconciliation",
        query="date=2026-11-26",
        timestamp="1764201600",
        nonce="abcdef0123456789",
        body=b"",
    )
    import hashlib
    import hmac

    message = "GET\n/v1/reconciliation\ndate=2026-11-26\n1764201600\nabcdef0123456789\n" + hashlib.sha256().hexdigest()
    assert signature == hmac.new(b"s3cret-430000", message.encode(), hashlib.sha256).hexdigest()


def test_a_delivered_receipt_is_found_with_its_data_file(national: Natsim, unit: Unit, pki: Any) -> None:
    [receipt] = sign(issue(unit, 1))
    events_sweep()
    found = receipt_lookup(
        receipt_code=receipt.receipt_code,
        number=receipt.number,
        check_code=receipt.check_code.upper(),
        issue_date=receipt.issue_date,
        total_amount=receipt.total_amount,
    )
    assert isinstance(found, ForeignReceipt)
    assert (found.province, found.receipt_code, found.number) == ("430000", receipt.receipt_code, receipt.number)
    assert (found.check_code, found.issue_date, found.total_amount) == (
        receipt.check_code,
        receipt.issue_date,
        Decimal("55.50"),
    )
    assert (found.is_red, found.status, found.statuses, found.genuine) == (False, "normal", ("normal",), True)
    assert found.unit_name == unit.name and found.kind_code == "0101"
    assert found.checked_at.tzinfo is not None
    with receipt.datafile.open("rb") as handle:
        assert found.datafile == handle.read()


def test_a_wrong_check_code_date_or_amount_is_not_found(national: Natsim, unit: Unit, pki: Any) -> None:
    [receipt] = sign(issue(unit, 1))
    events_sweep()
    ident = {"receipt_code": receipt.receipt_code, "number": receipt.number}
    wrong = "000000" if receipt.check_code != "000000" else "111111"
    assert receipt_lookup(**ident, check_code=wrong) is None
    assert receipt_lookup(**ident, check_code=receipt.check_code, total_amount=Decimal("55.51")) is None
    day = receipt.issue_date - datetime.timedelta(days=1)
    assert receipt_lookup(**ident, check_code=receipt.check_code, issue_date=day) is None
    assert receipt_lookup(receipt_code=receipt.receipt_code, number=9_999_999, check_code=receipt.check_code) is None
    # a check code that cannot exist is not even asked about
    lookups = national.stats()["counters"]["lookups"]
    assert receipt_lookup(**ident, check_code="zz!") is None
    assert national.stats()["counters"]["lookups"] == lookups


def test_another_provinces_receipt_is_found(national: Natsim) -> None:
    from natsim.seed import seed_foreign

    listing = seed_foreign(data_dir=national.data_dir, count=6, out=io.StringIO())
    hubei = next(row for row in listing if row["province"] == "420000")
    found = receipt_lookup(receipt_code=hubei["receiptCode"], number=hubei["number"], check_code=hubei["checkCode"])
    assert found is not None
    assert (found.province, found.genuine) == ("420000", True)
    assert found.datafile.startswith(b"<?xml")


def test_arguments_that_cannot_name_a_receipt_are_refused(national: Natsim) -> None:
    with pytest.raises(ValueError):
        receipt_lookup(receipt_code="4301012", number=1, check_code="abcdef")
    with pytest.raises(ValueError):
        receipt_lookup(receipt_code="43010126", number=0, check_code="abcdef")


def test_no_usable_answer_is_national_unavailable(national: Natsim, settings: Any) -> None:
    lookup = {"receipt_code": "43010126", "number": 1, "check_code": "abcdef"}
    # not configured
    settings.EREC_NATIONAL_URL = ""
    with pytest.raises(NationalUnavailable) as raised:
        receipt_lookup(**lookup)
    assert raised.value.code == "NOT_CONFIGURED"
    settings.EREC_NATIONAL_URL = national.base_url
    # a wrong secret: the simulator refuses the signature
    settings.EREC_NATIONAL_SECRET = "not-the-secret"
    with pytest.raises(NationalUnavailable) as raised:
        receipt_lookup(**lookup)
    assert raised.value.status == 401
    settings.EREC_NATIONAL_SECRET = national.secret
    # too slow
    settings.EREC_NATIONAL_TIMEOUT = 1
    national.control(delayMs=2500)
    with pytest.raises(NationalUnavailable) as raised:
        receipt_lookup(**lookup)
    assert raised.value.code == "TIMEOUT"
    national.reset()
    # not there at all
    national.stop()
    try:
        with pytest.raises(NationalUnavailable) as raised:
            receipt_lookup(**lookup)
        assert raised.value.code == "CONNECTION"
    finally:
        national.start()
    assert receipt_lookup(**lookup) is None


def test_reconciliation_figures_of_an_empty_day(national: Natsim) -> None:
    figures = client.reconciliation_get(day=datetime.date(2026, 1, 2))
    assert (figures.count, figures.blue_count, figures.red_count, figures.amount) == (0, 0, 0, Decimal("0.00"))
    import hashlib

    assert figures.digest == hashlib.sha256(b"").hexdigest()
    assert client.reconciliation_receipts(day=datetime.date(2026, 1, 2)) == []
