"""Enumeration is stopped: a rate limit per client, a daily cap per receipt, and a single-use captcha."""

from __future__ import annotations

import time
from typing import Any
from xml.etree import ElementTree

import pytest
from django.test import Client, RequestFactory

from issuance.models import Receipt
from tests.verification.conftest import VERIFY, form_data, qr_url, receipt_form, wrong_check_code
from verification.captcha import ALPHABET, captcha_check, captcha_issue, captcha_svg
from verification.limits import client_key
from verification.models import VerificationCounter


def _limited(response: Any) -> str:
    assert response.status_code == 429, response.status_code
    assert int(response["Retry-After"]) > 0
    return response.content.decode()


# --- the rate limit per client ----------------------------------------------------------------


def test_the_rate_limit_stops_a_client_after_its_checks(client: Client, receipt: Receipt, settings: Any) -> None:
    settings.EREC_VERIFY_RATE_LIMIT = 3
    settings.EREC_VERIFY_RATE_PER_RECEIPT_DAILY = 100
    # given a client that used its three checks: by form, by QR link, and a miss
    assert client.post(VERIFY, receipt_form(receipt)).status_code == 200
    assert client.get(qr_url(receipt)).status_code == 200
    assert client.get(qr_url(receipt, k=wrong_check_code(receipt))).status_code == 200
    # when it checks again, by QR link or by form
    by_qr = client.get(qr_url(receipt))
    by_form = client.post(VERIFY, receipt_form(receipt))
    # then both are refused, saying when to come back, and the receipt was not looked up
    assert "每 10 分钟最多查验 3 次" in _limited(by_qr)
    _limited(by_form)
    assert VerificationCounter.objects.get(receipt=receipt).count == 2


def test_the_rate_limit_is_per_client(receipt: Receipt, settings: Any) -> None:
    settings.EREC_VERIFY_RATE_LIMIT = 1
    first, second = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="203.0.113.8")
    assert first.get(qr_url(receipt)).status_code == 200
    _limited(first.get(qr_url(receipt)))
    # another address still has its own checks
    assert second.get(qr_url(receipt)).status_code == 200


def test_behind_trusted_proxies_the_forwarded_client_is_counted(receipt: Receipt, settings: Any) -> None:
    # given one proxy of ours in front, which appends the client's address to X-Forwarded-For
    settings.EREC_TRUSTED_PROXY_COUNT = 1
    settings.EREC_VERIFY_RATE_LIMIT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    alice = Client(**proxy, HTTP_X_FORWARDED_FOR="198.51.100.1")
    bob = Client(**proxy, HTTP_X_FORWARDED_FOR="198.51.100.2")
    # when two clients come through the same proxy
    assert alice.get(qr_url(receipt)).status_code == 200
    assert bob.get(qr_url(receipt)).status_code == 200
    # then each has its own limit, and a forged header in front of the proxy's entry changes nothing
    forger = Client(**proxy, HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.1")
    _limited(forger.get(qr_url(receipt)))


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # no proxy configured: the header is ignored
        (1, "10.0.0.2", "198.51.100.1", "198.51.100.1"),
        (1, "10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client's own prefix is ignored
        (2, "10.0.0.3", "198.51.100.1, 10.0.0.2", "198.51.100.1"),
        (2, "10.0.0.3", "198.51.100.1", "10.0.0.3"),  # too short: did not come through our proxies
        (1, "10.0.0.2", "not-an-address", "10.0.0.2"),
        (0, "2001:db8:1:2:3:4:5:6", "", "2001:db8:1:2::/64"),  # an IPv6 subscriber by its /64
        (0, "::ffff:203.0.113.9", "", "203.0.113.9"),
    ],
)
def test_the_client_address(settings: Any, proxies: int, remote: str, forwarded: str, expected: str) -> None:
    settings.EREC_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get(VERIFY, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_key(request) == expected


# --- the daily cap per receipt --------------------------------------------------------------


def test_one_receipt_is_checked_at_most_five_times_a_day_per_client(client: Client, receipt: Receipt) -> None:
    # given five checks of one receipt today (the published rule)
    for _ in range(5):
        assert client.get(qr_url(receipt)).status_code == 200
    # when the same client checks it a sixth time
    html = _limited(client.get(qr_url(receipt)))
    # then it is refused until tomorrow, and the counter stayed at five
    assert "同一张票据每天最多查验 5 次" in html
    assert VerificationCounter.objects.get(receipt=receipt).count == 5
    # while another receipt, and another client, may still be checked
    assert client.post(VERIFY, form_data(receipt.receipt_code, "0000000002", "abcdef")).status_code == 200
    assert Client(REMOTE_ADDR="203.0.113.50").get(qr_url(receipt)).status_code == 200


def test_misses_count_against_the_daily_cap_too(client: Client, receipt: Receipt) -> None:
    # guessing check codes of one receipt is stopped after five tries, found or not
    for guess in ("000001", "000002", "000003", "000004", "000005"):
        assert client.get(qr_url(receipt, k=guess)).status_code == 200
    _limited(client.get(qr_url(receipt)))


# --- the captcha -------------------------------------------------------------------------------


def test_a_wrong_captcha_is_refused_and_nothing_is_looked_up(client: Client, receipt: Receipt) -> None:
    response = client.post(VERIFY, receipt_form(receipt, captcha="WRONG"))
    assert "验证码错误或已过期，请重新输入。" in response.content.decode()
    assert not VerificationCounter.objects.exists()


def test_the_captcha_is_single_use(client: Client, receipt: Receipt) -> None:
    # given a form that was checked with its captcha once
    data = receipt_form(receipt)
    assert "<h1>查验结果</h1>" in client.post(VERIFY, data).content.decode()
    # when the same captcha is sent again
    again = client.post(VERIFY, data)
    # then it is refused
    assert "验证码错误或已过期，请重新输入。" in again.content.decode()
    assert VerificationCounter.objects.get(receipt=receipt).count == 1


def test_a_wrong_answer_uses_the_captcha_up(db: Any) -> None:
    captcha, answer = captcha_issue()
    assert not captcha_check(captcha_id=captcha.captcha_id, answer="ZZZZ")
    assert not captcha_check(captcha_id=captcha.captcha_id, answer=answer)


def test_the_captcha_expires(client: Client, receipt: Receipt, settings: Any) -> None:
    settings.EREC_VERIFY_CAPTCHA_SECONDS = 1
    data = receipt_form(receipt)
    time.sleep(1.2)
    response = client.post(VERIFY, data)
    assert "验证码错误或已过期，请重新输入。" in response.content.decode()


def test_the_captcha_answer_is_case_insensitive(db: Any) -> None:
    captcha, answer = captcha_issue()
    assert captcha_check(captcha_id=captcha.captcha_id, answer=f" {answer.lower()} ")


def test_a_made_up_captcha_id_is_refused(db: Any) -> None:
    assert not captcha_check(captcha_id="A" * 22, answer="ACDE")
    assert not captcha_check(captcha_id="../../etc", answer="ACDE")


def test_the_captcha_is_drawn_as_paths_only() -> None:
    # given a drawn captcha
    svg = captcha_svg("AC4X")
    root = ElementTree.fromstring(svg)
    # then it is an SVG of shapes and strokes: no text a script could read
    tags = {element.tag.split("}")[-1] for element in root.iter()}
    assert tags <= {"svg", "rect", "path", "circle"}
    assert "<text" not in svg
    # and each drawing of the same answer differs (random distortion and noise)
    assert captcha_svg("AC4X") != svg


def test_captcha_answers_are_four_or_five_unambiguous_characters(db: Any) -> None:
    answers = [captcha_issue()[1] for _ in range(40)]
    assert {len(answer) for answer in answers} <= {4, 5}
    assert all(set(answer) <= set(ALPHABET) for answer in answers)
    assert not set("0O1IL2Z5S9GB") & set(ALPHABET)


def test_captchas_drawn_are_limited_per_client(client: Client, settings: Any, db: Any) -> None:
    settings.EREC_VERIFY_RATE_CAPTCHAS = 2
    assert client.get(VERIFY).status_code == 200
    assert client.get(VERIFY).status_code == 200
    assert "请求验证码过于频繁" in _limited(client.get(VERIFY))
