"""Reimbursing parties (报销单位) and their signed API clients, shared by every test that needs one.

Registered as a plugin in tests/conftest.py, so the fixtures below serve the verification tests
and the webhook tests alike. Parties sign requests exactly as interface units do, so
``SignedClient`` serves them too.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import SignedClient
from verification.models import PartyCredential, ReimbursingParty
from verification.services import party_create, party_credential_create
from zhongtai.audit.services import Actor
from zhongtai.masterdata.validators import credit_code_check_char

ACTOR = Actor.system("tests")


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
