"""Fixtures of the verification tests: signed receipts, reimbursing parties and their signed clients.

Parties sign requests exactly as interface units do, so ``SignedClient`` serves them too.
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
from tests.support.api import SignedClient
from verification.captcha import captcha_issue
from verification.models import PartyCredential, ReimbursingParty
from verification.services import party_create, party_credential_create
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit
from zhongtai.masterdata.validators import credit_code_check_char

VERIFY = "/verify/"
ACTOR = Actor.system("tests")


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


# --- reimbursing parties ---------------------------------------------------------------------------


def credit_code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


def make_party(name: str, party_type: str, first17: str) -> ReimbursingParty:
    return party_create(name=name, party_type=party_type, credit_code=credit_code(first17), actor=ACTOR)


def client_for(party: ReimbursingParty, scope: str = PartyCredential.Scope.ENTRY) -> SignedClient:
    issued = party_credential_create(party=party, actor=ACTOR, scope=scope)
    return SignedClient(issued.credential.app_id, issued.secret)


@pytest.fixture
def insurance(db: Any) -> ReimbursingParty:
    return make_party("湖南省医疗保障局", ReimbursingParty.PartyType.MEDICAL_INSURANCE, "11430000MB1E6F7H8")


@pytest.fixture
def insurer(db: Any) -> ReimbursingParty:
    return make_party("中国人寿湖南分公司", ReimbursingParty.PartyType.COMMERCIAL_INSURANCE, "91430000MA4J9K1L2")


@pytest.fixture
def employer(db: Any) -> ReimbursingParty:
    return make_party("长沙市某单位财务处", ReimbursingParty.PartyType.EMPLOYER, "11430100MB1A2C3D4")


@pytest.fixture
def insurance_api(insurance: ReimbursingParty) -> SignedClient:
    return client_for(insurance)


@pytest.fixture
def insurer_api(insurer: ReimbursingParty) -> SignedClient:
    return client_for(insurer)


@pytest.fixture
def employer_api(employer: ReimbursingParty) -> SignedClient:
    return client_for(employer)


@pytest.fixture
def read_only_insurer_api(insurer: ReimbursingParty) -> SignedClient:
    return client_for(insurer, PartyCredential.Scope.READ)
