"""The public verification page: genuine receipts, statuses, the QR link, and 查无此票 alike for every miss."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from issuance.models import Receipt
from issuance.red_offset import receipt_red_offset
from issuance.services import receipt_transition
from issuance.states import ReceiptStatus
from tests.conftest import nontax_payload
from tests.verification.conftest import (
    ACTOR,
    VERIFY,
    form_data,
    qr_url,
    receipt_form,
    signed,
    wrong_check_code,
)
from verification.models import ReceiptEntry, ReimbursingParty, VerificationCounter
from verification.services import entry_record


def _text(response: Any) -> str:
    return response.content.decode()


def _found(response: Any) -> str:
    assert response.status_code == 200
    html = _text(response)
    assert "<h1>查验结果</h1>" in html and "查无此票" not in html
    return html


def _not_found(response: Any) -> str:
    assert response.status_code == 200
    html = _text(response)
    assert "<h2>查无此票</h2>" in html and "<h1>查验结果</h1>" not in html
    return html


def _without_per_request_parts(html: str) -> str:
    """The page minus what differs on every rendering: the CSRF token and the captcha (id and picture)."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    html = re.sub(r'name="captcha_id" value="[^"]*"', "", html)
    return re.sub(r"<svg .*?</svg>", "", html, flags=re.DOTALL)


def test_the_form_page_opens_without_login(client: Client, db: Any) -> None:
    # when anyone opens the page
    response = client.get(VERIFY)
    # then it asks for the three elements and a captcha, in Chinese, and is never cached
    html = _text(response)
    assert response.status_code == 200
    for label in ("票据代码", "票据号码", "校验码", "开票日期（选填）", "交款人（选填）", "验证码"):
        assert label in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert response["Cache-Control"] == "no-store"
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "qianduan/portal.css" in html and "verification/public.css" in html


def test_a_genuine_receipt_is_verified_with_its_facts(client: Client, receipt: Receipt) -> None:
    # given a signed receipt; when its three elements and the captcha are entered
    html = _found(client.post(VERIFY, receipt_form(receipt)))
    # then both signatures verified, it is normal, and its facts are shown
    assert "查验通过：该票据为真" in html
    assert '<span class="badge ok">正常</span>' in html
    for fact in (receipt.receipt_code, receipt.number_text, receipt.check_code, "55.50", receipt.unit.name):
        assert fact in html
    assert receipt.issue_date.strftime("%Y-%m-%d") in html
    assert "伍拾伍元伍角" in html
    # and the payer, a person, is masked
    assert "张*" in html and "张三" not in html
    assert "本票据已被查验 1 次（含本次）" in html


def test_every_check_counts_once_atomically(client: Client, receipt: Receipt) -> None:
    # given a receipt verified twice already
    client.post(VERIFY, receipt_form(receipt))
    client.get(qr_url(receipt))
    # when it is verified a third time
    html = _found(client.get(qr_url(receipt)))
    # then the page and the counter say three
    assert "本票据已被查验 3 次（含本次）" in html
    assert VerificationCounter.objects.get(receipt=receipt).count == 3


def test_the_qr_link_verifies_without_a_captcha(client: Client, receipt: Receipt) -> None:
    # when the QR code printed on the layout file is scanned
    html = _found(client.get(qr_url(receipt)))
    # then the answer is the receipt's, genuine
    assert "查验通过：该票据为真" in html
    assert receipt.number_text in html


def test_the_check_code_is_case_insensitive_and_full_width_digits_are_read(client: Client, receipt: Receipt) -> None:
    # given the elements typed with a phone keyboard: full-width digits, upper-case check code
    full_width = receipt.number_text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    data = form_data(receipt.receipt_code, full_width, receipt.check_code.upper())
    # then the receipt is found
    _found(client.post(VERIFY, data))


def test_a_red_offset_receipt_shows_its_status(client: Client, receipt: Receipt) -> None:
    # given a receipt that was red-offset after the payer got it
    receipt_red_offset(receipt=receipt, reason="退费", actor=ACTOR, source=Receipt.Source.API)
    # when it is verified
    html = _found(client.get(qr_url(receipt)))
    # then it is still genuine, and its status says 已冲红
    assert "查验通过：该票据为真" in html
    assert '<span class="badge bad">已冲红</span>' in html
    assert ">正常<" not in html


def test_a_paper_converted_receipt_shows_its_status(client: Client, receipt: Receipt) -> None:
    receipt_transition(receipt=receipt, target=ReceiptStatus.PAPER_CONVERTED, actor=ACTOR)
    html = _found(client.get(qr_url(receipt)))
    assert '<span class="badge warn">已换开纸质票据</span>' in html


def test_a_reimbursed_receipt_shows_its_status(client: Client, receipt: Receipt, insurer: ReimbursingParty) -> None:
    # given a receipt that a party reimbursed in part
    entry_record(
        party=insurer,
        receipt=receipt,
        kind=ReceiptEntry.Kind.REIMBURSEMENT,
        amount=Decimal("10.00"),
        entry_date=receipt.issue_date,
        reference="LP-1",
        actor=ACTOR,
    )
    # when it is verified
    html = _found(client.get(qr_url(receipt)))
    # then its status is 已报销 (and no longer 正常), without naming the party to the public
    assert '<span class="badge warn">已报销</span>' in html
    assert ">正常<" not in html
    assert insurer.name not in html


def test_wrong_check_code_and_missing_receipt_give_the_same_page(client: Client, receipt: Receipt) -> None:
    # given a real receipt with a wrong check code, and a receipt number that was never issued
    wrong = client.post(VERIFY, receipt_form(receipt, check_code=wrong_check_code(receipt)))
    missing = client.post(VERIFY, form_data(receipt.receipt_code, "0000099999", receipt.check_code))
    # then both answer 查无此票 with the same status and, but for the CSRF token and captcha, the same bytes
    assert wrong.status_code == missing.status_code == 200
    _not_found(wrong)
    assert _without_per_request_parts(_text(wrong)) == _without_per_request_parts(_text(missing))
    # and neither echoes what was typed
    assert receipt.receipt_code not in _text(wrong)


def test_a_missing_receipt_by_qr_gives_the_same_page_as_by_form(client: Client, receipt: Receipt) -> None:
    by_qr = client.get(qr_url(receipt, k=wrong_check_code(receipt)))
    by_form = client.post(VERIFY, form_data("43010199", "0000000001", "abcdef"))
    _not_found(by_qr)
    assert _without_per_request_parts(_text(by_qr)) == _without_per_request_parts(_text(by_form))


def test_a_sandbox_receipt_is_never_found(client: Client, sandbox_receipt: Receipt) -> None:
    # given a signed sandbox receipt (联调测试票据) with its real elements
    assert sandbox_receipt.sandbox and sandbox_receipt.sign_status == "signed"
    # then neither the form nor its QR link finds it
    _not_found(client.post(VERIFY, receipt_form(sandbox_receipt)))
    _not_found(client.get(qr_url(sandbox_receipt)))
    assert not VerificationCounter.objects.exists()


def test_a_receipt_not_yet_signed_is_not_found(client: Client, unsigned_receipt: Receipt) -> None:
    assert unsigned_receipt.sign_status == "pending"
    _not_found(client.post(VERIFY, receipt_form(unsigned_receipt)))


def test_optional_elements_must_match_when_given(client: Client, receipt: Receipt, settings: Any) -> None:
    settings.EREC_VERIFY_RATE_PER_RECEIPT_DAILY = 10  # six checks of one receipt here
    # given the right three elements and the right issue date or payer: found
    day = receipt.issue_date.isoformat()
    _found(client.post(VERIFY, receipt_form(receipt, issue_date=day)))
    _found(client.post(VERIFY, receipt_form(receipt, payer_name="张三")))
    # but a wrong date, payer, or QR amount: 查无此票
    other_day = (receipt.issue_date - datetime.timedelta(days=1)).isoformat()
    _not_found(client.post(VERIFY, receipt_form(receipt, issue_date=other_day)))
    _not_found(client.post(VERIFY, receipt_form(receipt, payer_name="李四")))
    _not_found(client.get(qr_url(receipt, a="55.51")))
    _not_found(client.get(qr_url(receipt, d=other_day.replace("-", ""))))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("receipt_code", "4301012", "票据代码应为 8 位数字。"),
        ("receipt_code", "", "请输入票据代码。"),
        ("number", "12345", "票据号码应为 10 位数字（含前导 0）。"),
        ("check_code", "12345g", "校验码应为 6 位，由数字 0-9 和字母 a-f 组成。"),
        ("check_code", "", "请输入校验码。"),
        ("issue_date", "2026/01/01", "开票日期格式应为 YYYY-MM-DD，如 2026-01-31。"),
        ("issue_date", "2999-01-01", "开票日期不能晚于今天。"),
        ("captcha", "", "请输入验证码。"),
    ],
)
def test_every_field_is_validated_with_a_chinese_message(
    client: Client, receipt: Receipt, field: str, value: str, message: str
) -> None:
    # given a form with one bad field
    response = client.post(VERIFY, receipt_form(receipt, **{field: value}))
    # then the form comes back with that field's message, and nothing was looked up
    assert response.status_code == 200
    assert message in _text(response)
    assert "<h1>查验结果</h1>" not in _text(response)
    assert not VerificationCounter.objects.exists()


def test_a_malformed_qr_link_opens_the_form_with_its_errors(client: Client, receipt: Receipt) -> None:
    response = client.get(qr_url(receipt, k="xyz"))
    html = _text(response)
    assert response.status_code == 200
    assert "校验码应为 6 位，由数字 0-9 和字母 a-f 组成。" in html
    # the scanned values stay in the form so the visitor can correct them
    assert f'value="{receipt.receipt_code}"' in html


def test_asking_for_another_captcha_keeps_what_was_typed(client: Client, receipt: Receipt) -> None:
    response = client.post(
        VERIFY,
        {"receipt_code": receipt.receipt_code, "number": receipt.number_text, "refresh_captcha": "1"},
    )
    html = _text(response)
    assert response.status_code == 200
    assert f'value="{receipt.number_text}"' in html
    assert "请输入" not in html  # no errors: it was not a check
    assert not VerificationCounter.objects.exists()


def test_an_organisation_payer_is_shown_in_full(
    client: Client, unit: Any, pki: Any, django_capture_on_commit_callbacks: Any
) -> None:
    company = signed(
        unit,
        nontax_payload("V-ORG", payer={"type": 2, "name": "湖南星城建设有限公司"}),
        django_capture_on_commit_callbacks,
    )
    assert "湖南星城建设有限公司" in _found(client.get(qr_url(company)))
