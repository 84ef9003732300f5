"""Fixtures of the verification tests: signed receipts, the public form, its links.

Reimbursing parties and their signed clients come from tests/support/parties.py (a plugin).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from issuance.models import Receipt, SignStatus
from issuance.payload import parse_issue_input
from issuance.services import receipts_issue
from tests.conftest import nontax_payload, outpatient_payload
from tests.issuance.conftest import issue_direct
from tests.support.parties import ACTOR
from verification.captcha import captcha_issue
from zhongtai.masterdata.models import Unit

VERIFY = "/verify/"


@pytest.fixture(autouse=True)
def _fresh_cache(db: Any) -> Iterator[None]:
    """Rate-limit counters, captchas and verdicts live in the shared cache: Redis in the PostgreSQL pass,
    else the database cache table, which transactional tests do not flush."""
    cache.clear()
    yield
    cache.clear()


def signed(unit: Unit, payload: dict[str, Any], capture: Any) -> Receipt:
    """Issue through the service and let the pipeline sign it (the jobs run at commit)."""
    with capture(execute=True):
        receipt = issue_direct(unit, payload)
    receipt.refresh_from_db()
    assert receipt.sign_status == SignStatus.SIGNED, receipt.sign_status
    return receipt


@pytest.fixture
def receipt(unit: Unit, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Receipt:
    """A signed non-tax receipt of 55.50 yuan, paid by 张三."""
    return signed(unit, nontax_payload("V-0001"), django_capture_on_commit_callbacks)


@pytest.fixture
def medical_receipt(unit: Unit, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Receipt:
    """A signed outpatient receipt of 25.00 yuan, paid by 李四."""
    return signed(unit, outpatient_payload("V-MZ01"), django_capture_on_commit_callbacks)


@pytest.fixture
def unsigned_receipt(unit: Unit) -> Receipt:
    """A receipt whose signing has not happened (no certificates yet): still pending."""
    return issue_direct(unit, nontax_payload("V-PEND"))


@pytest.fixture
def sandbox_receipt(unit: Unit, pki: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Receipt:
    """A signed sandbox receipt (联调测试票据), numbered apart from production."""
    data, errors = parse_issue_input(nontax_payload("V-SBX"), require_bus_no=False)
    assert data is not None, errors.fields
    with django_capture_on_commit_callbacks(execute=True):
        outcome = receipts_issue(unit=unit, inputs=[data], actor=ACTOR, source=Receipt.Source.API, sandbox=True)[0]
    assert outcome.receipt is not None
    outcome.receipt.refresh_from_db()
    return outcome.receipt


def qr_url(receipt: Receipt, **overrides: str) -> str:
    params = {
        "c": receipt.receipt_code,
        "n": receipt.number_text,
        "k": receipt.check_code,
        "d": receipt.issue_date.strftime("%Y%m%d"),
        "a": format(receipt.total_amount, "f"),
        **overrides,
    }
    return VERIFY + "?" + "&".join(f"{name}={value}" for name, value in params.items())


def form_data(receipt_code: str, number: str, check_code: str, **extra: str) -> dict[str, str]:
    """A filled-in verification form with a fresh captcha, its answer read on the server side."""
    captcha, answer = captcha_issue()
    return {
        "receipt_code": receipt_code,
        "number": number,
        "check_code": check_code,
        "captcha_id": captcha.captcha_id,
        "captcha": answer,
        **extra,
    }


def receipt_form(receipt: Receipt, **overrides: str) -> dict[str, str]:
    """The form filled in with the receipt's elements (any field, the captcha too, overridable)."""
    return {**form_data(receipt.receipt_code, receipt.number_text, receipt.check_code), **overrides}


def wrong_check_code(receipt: Receipt) -> str:
    return "000000" if receipt.check_code != "000000" else "000001"


def download_links(response: Any) -> dict[str, str]:
    html = response.content.decode()
    links = re.findall(r'href="(/verify/download/[^"]+/)"[^>]*>下载(版式|数据)文件', html)
    return {"pdf" if kind == "版式" else "xml": url for url, kind in links}
