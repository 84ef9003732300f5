"""Cross-province verification (跨省查验): a receipt code of another province is looked up through the
national platform — the REAL simulator process (tests/support/natsim.py) holding the demo receipts of
Hubei and Guangdong that ``natsim seed-foreign`` stores — and answered in the same shape, on the
party API and on the public page."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pytest
from django.test import Client

from natsim.seed import seed_foreign
from tests.issuance.conftest import error_of
from tests.support.api import SignedClient
from tests.support.natsim import Natsim
from tests.verification.conftest import VERIFY, download_links, form_data
from verification.foreign import FOREIGN_CACHE_SECONDS
from verification.models import VerificationCounter

UNAVAILABLE = "全国平台暂时无法访问，请稍后再试"


@pytest.fixture
def foreign(natsim: Natsim, pki: dict[str, Any], settings: Any) -> list[dict[str, Any]]:
    """The demo receipts of other provinces, stored in the simulator; the platform pointed at it."""
    natsim.register_pki(pki)
    settings.EREC_NATIONAL_URL = natsim.base_url
    settings.EREC_NATIONAL_SECRET = natsim.secret
    settings.EREC_NATIONAL_TIMEOUT = 5
    return seed_foreign(data_dir=natsim.data_dir, count=10, out=io.StringIO())


def pick(listing: list[dict[str, Any]], *, status: str = "normal", province: str = "420000") -> dict[str, Any]:
    return next(row for row in listing if row["province"] == province and row["status"] == status)


def detail(row: dict[str, Any], check_code: str | None = None, tail: str = "") -> str:
    code = row["checkCode"] if check_code is None else check_code
    return f"/api/v1/public/receipts/{row['receiptCode']}/{row['number']:010d}{tail}?checkCode={code}"


def lookups(natsim: Natsim) -> int:
    """How many receipt lookups the simulator has answered since it was last reset."""
    return int(natsim.stats()["counters"]["lookups"])


# --- the party API ------------------------------------------------------------------------------


def test_a_party_verifies_a_receipt_of_another_province(
    insurer_api: SignedClient, foreign: list[dict[str, Any]]
) -> None:
    # given a genuine Hubei receipt the national platform holds
    row = pick(foreign)
    # when a party verifies it here
    response = insurer_api.get(detail(row))
    # then the answer has the shape of our own receipts', from the national platform
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    assert (body["receiptCode"], body["receiptNumber"], body["checkCode"]) == (
        row["receiptCode"],
        f"{row['number']:010d}",
        row["checkCode"],
    )
    assert body["genuine"] is True and body["failureReason"] == ""
    assert body["checks"] == [
        {"name": "national_platform", "title": "全国财政电子票据平台核验", "ok": True, "code": "OK"}
    ]
    assert body["totalAmount"] == row["totalAmount"] and body["issueDate"] == row["issueDate"]
    assert body["unitName"] == row["unitName"] and body["kindCode"] == "0101" and body["kindName"]
    assert body["payerName"] and re.fullmatch(r"[0-9A-Z]{18}", body["unitCreditCode"])
    assert body["status"] == "issued" and body["statusLabel"] == "正常" and body["reimbursed"] is False
    assert (body["provinceCode"], body["provinceName"], body["source"]) == ("42", "湖北省", "national")
    # and what the issuing province and the national platform keep is not pretended here
    assert body["verificationCount"] is None and body["entries"] == []
    assert body["claimedAmount"] is None and body["remainingAmount"] is None
    assert not VerificationCounter.objects.exists()


def test_our_own_receipts_say_where_they_come_from(insurer_api: SignedClient, receipt: Any) -> None:
    body = insurer_api.get(
        f"/api/v1/public/receipts/{receipt.receipt_code}/{receipt.number_text}?checkCode={receipt.check_code}"
    ).json()
    assert (body["provinceCode"], body["provinceName"], body["source"]) == ("43", "湖南省", "province")


@pytest.mark.parametrize(
    ("status", "expected", "label", "reimbursed"),
    [
        ("red_offset", "red_offset", "已冲红", False),
        ("paper_converted", "paper_converted", "已换开纸质票据", False),
        ("reimbursed", "issued", "已报销", True),
    ],
)
def test_the_national_status_is_shown_as_ours(
    insurer_api: SignedClient, foreign: list[dict[str, Any]], status: str, expected: str, label: str, reimbursed: bool
) -> None:
    body = insurer_api.get(detail(pick(foreign, status=status, province="440000"))).json()
    assert (body["status"], body["statusLabel"], body["reimbursed"]) == (expected, label, reimbursed)
    assert body["provinceName"] == "广东省"


def test_a_red_receipt_of_another_province_says_so(insurer_api: SignedClient, foreign: list[dict[str, Any]]) -> None:
    red = next(row for row in foreign if row["province"] == "420000" and row["totalAmount"].startswith("-"))
    body = insurer_api.get(detail(red)).json()
    assert body["isRed"] is True and body["genuine"] is True and body["totalAmount"] == red["totalAmount"]


def test_a_foreign_miss_is_the_same_404(insurer_api: SignedClient, foreign: list[dict[str, Any]]) -> None:
    row = pick(foreign)
    wrong = "000000" if row["checkCode"] != "000000" else "000001"
    error_of(insurer_api.get(detail(row, wrong)), 404, "NO_SUCH_RECEIPT")
    missing = {**row, "number": 9_999_999}
    error_of(insurer_api.get(detail(missing)), 404, "NO_SUCH_RECEIPT")


def test_a_code_of_no_province_is_not_found_without_asking(
    insurer_api: SignedClient, natsim: Natsim, foreign: list[dict[str, Any]]
) -> None:
    natsim.reset()
    error_of(insurer_api.get("/api/v1/public/receipts/99010126/0000000001?checkCode=abcdef"), 404, "NO_SUCH_RECEIPT")
    assert lookups(natsim) == 0


def test_the_data_file_is_the_national_platforms(
    insurer_api: SignedClient, natsim: Natsim, foreign: list[dict[str, Any]]
) -> None:
    # given the data file the national platform holds for the receipt
    row = pick(foreign)
    status, answer = natsim.request(
        "GET", f"/v1/receipts/{row['receiptCode']}/{row['number']}", query=f"checkCode={row['checkCode']}"
    )
    assert status == 200
    # when a party downloads it here
    response = insurer_api.get(detail(row, tail="/datafile"))
    # then it gets exactly those bytes
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    assert response.content == base64.b64decode(answer["dataFile"])
    assert f"{row['receiptCode']}-{row['number']:010d}.xml" in response["Content-Disposition"]


def test_entries_on_a_foreign_receipt_are_refused(insurer_api: SignedClient, foreign: list[dict[str, Any]]) -> None:
    row = pick(foreign)
    url = f"/api/v1/public/receipts/{row['receiptCode']}/{row['number']:010d}/entries"
    payload = {"checkCode": row["checkCode"], "kind": "reimbursement", "amount": "1.00", "entryDate": row["issueDate"]}
    body = error_of(insurer_api.post(url, payload), 422, "ENTRY_FOREIGN_RECEIPT")
    assert "湖北省" in body["message"] and body["extra"] == {"province": "42", "provinceName": "湖北省"}


def test_the_national_platform_down_is_a_503(
    insurer_api: SignedClient, natsim: Natsim, foreign: list[dict[str, Any]]
) -> None:
    row = pick(foreign)
    natsim.stop()
    try:
        body = error_of(insurer_api.get(detail(row)), 503, "NATIONAL_UNAVAILABLE")
        assert UNAVAILABLE in body["message"]
        error_of(insurer_api.get(detail(row, tail="/datafile")), 503, "NATIONAL_UNAVAILABLE")
    finally:
        natsim.start()
    # and once it is back, the receipt is found
    assert insurer_api.get(detail(row)).status_code == 200


def test_a_national_platform_not_configured_is_a_503(
    insurer_api: SignedClient, settings: Any, foreign: list[dict[str, Any]]
) -> None:
    settings.EREC_NATIONAL_URL = ""
    error_of(insurer_api.get(detail(pick(foreign))), 503, "NATIONAL_UNAVAILABLE")


def test_a_found_answer_is_reused_briefly_but_a_miss_never(
    insurer_api: SignedClient, natsim: Natsim, foreign: list[dict[str, Any]]
) -> None:
    row = pick(foreign)
    natsim.reset()
    assert insurer_api.get(detail(row)).status_code == 200
    assert insurer_api.get(detail(row, tail="/datafile")).status_code == 200
    assert lookups(natsim) == 1  # the second came from the cache (FOREIGN_CACHE_SECONDS)
    assert FOREIGN_CACHE_SECONDS <= 300
    wrong = "000000" if row["checkCode"] != "000000" else "000001"
    for _ in range(2):
        error_of(insurer_api.get(detail(row, wrong)), 404, "NO_SUCH_RECEIPT")
    assert lookups(natsim) == 3


# --- the public page ----------------------------------------------------------------------------


def _form(row: dict[str, Any], **extra: str) -> dict[str, str]:
    return form_data(row["receiptCode"], f"{row['number']:010d}", row["checkCode"], **extra)


def test_the_page_verifies_a_receipt_of_another_province(
    client: Client, natsim: Natsim, foreign: list[dict[str, Any]]
) -> None:
    # given a genuine Hubei receipt
    row = pick(foreign)
    # when anyone checks it with the form
    response = client.post(VERIFY, _form(row))
    # then the answer page shows it as verified by the national platform
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>查验结果</h1>" in html and "查验通过：该票据为真" in html
    assert "该票据由湖北省开具，已经全国财政电子票据平台核验" in html
    assert row["receiptCode"] in html and row["checkCode"] in html and row["unitName"] in html
    assert "湖北省（外省票据，经全国平台查验）" in html
    assert "外省票据的查验次数由全国平台统计，本平台不计数" in html
    # and offers the data file only, saying why there is no PDF
    links = download_links(response)
    assert set(links) == {"xml"}
    assert "外省票据不提供版式文件（PDF）下载" in html
    natsim.stop()  # the link right after the answer is served from the brief cache
    try:
        download = client.get(links["xml"])
    finally:
        natsim.start()
    assert download.status_code == 200 and download["Content-Type"] == "application/xml"
    assert download.content.startswith(b"<") and row["checkCode"].encode() in download.content


def test_the_page_with_a_wrong_check_code_is_not_found(client: Client, foreign: list[dict[str, Any]]) -> None:
    row = pick(foreign)
    response = client.post(VERIFY, _form({**row, "checkCode": "000000" if row["checkCode"] != "000000" else "000001"}))
    assert response.status_code == 200 and "<h2>查无此票</h2>" in response.content.decode()


def test_the_page_compares_the_payer_of_a_foreign_receipt(client: Client, foreign: list[dict[str, Any]]) -> None:
    row = pick(foreign)
    response = client.post(VERIFY, _form(row, payer_name="不是交款人"))
    assert "<h2>查无此票</h2>" in response.content.decode()


def test_the_page_says_when_the_national_platform_is_down(
    client: Client, natsim: Natsim, foreign: list[dict[str, Any]]
) -> None:
    row = pick(foreign)
    natsim.stop()
    try:
        response = client.post(VERIFY, _form(row))
    finally:
        natsim.start()
    assert response.status_code == 503
    html = response.content.decode()
    assert UNAVAILABLE in html and 'data-code="NATIONAL_UNAVAILABLE"' in html
    # and what was typed is kept for the next try
    assert f'value="{row["receiptCode"]}"' in html and f'value="{row["checkCode"]}"' in html


def test_a_qr_link_never_asks_the_national_platform(
    client: Client, natsim: Natsim, foreign: list[dict[str, Any]]
) -> None:
    # our QR links carry our receipts only: one with another province's code is 查无此票
    row = pick(foreign)
    natsim.reset()
    response = client.get(f"{VERIFY}?c={row['receiptCode']}&n={row['number']:010d}&k={row['checkCode']}")
    assert response.status_code == 200 and "<h2>查无此票</h2>" in response.content.decode()
    assert lookups(natsim) == 0


def test_foreign_checks_count_against_the_limits(
    client: Client, natsim: Natsim, settings: Any, foreign: list[dict[str, Any]]
) -> None:
    # given a per-receipt daily cap of 1
    settings.EREC_VERIFY_RATE_PER_RECEIPT_DAILY = 1
    row = pick(foreign)
    assert client.post(VERIFY, _form(row)).status_code == 200
    # then a second check of the same receipt is refused before the national platform is asked
    natsim.reset()
    assert client.post(VERIFY, _form(row)).status_code == 429
    assert lookups(natsim) == 0


def test_a_foreign_check_needs_the_captcha(client: Client, natsim: Natsim, foreign: list[dict[str, Any]]) -> None:
    row = pick(foreign)
    natsim.reset()
    response = client.post(VERIFY, _form(row, captcha="WRONG"))
    assert "验证码错误或已过期" in response.content.decode()
    assert lookups(natsim) == 0
