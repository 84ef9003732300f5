"""Fixtures of the provincial CA: a bootstrapped hierarchy, a bureau, certificates, CSR helper."""

from __future__ import annotations

import pytest
from asn1crypto import csr, keys

from tests.support.factories import FinanceBureauFactory
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import FinanceBureau, Region, Unit
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.models import Certificate
from zhongtai.signing.services import (
    CaHierarchy,
    ca_bootstrap,
    certificate_issue_for_bureau,
    certificate_issue_for_unit,
)

ACTOR = Actor.system("tests")


@pytest.fixture
def ca(province: Region) -> CaHierarchy:
    return ca_bootstrap(province=province, actor=ACTOR)


@pytest.fixture
def root_der(ca: CaHierarchy) -> bytes:
    assert ca.root.certificate is not None
    return bytes(ca.root.certificate.der)


@pytest.fixture
def issuing_der(ca: CaHierarchy) -> bytes:
    assert ca.issuing.certificate is not None
    return bytes(ca.issuing.certificate.der)


@pytest.fixture
def changsha_bureau(changsha: Region) -> FinanceBureau:
    return FinanceBureauFactory(region=changsha, name="长沙市财政局")


@pytest.fixture
def unit_certificate(ca: CaHierarchy, unit: Unit) -> Certificate:
    return certificate_issue_for_unit(unit=unit, actor=ACTOR)


@pytest.fixture
def seal_certificate(ca: CaHierarchy, changsha_bureau: FinanceBureau) -> Certificate:
    return certificate_issue_for_bureau(bureau=changsha_bureau, actor=ACTOR)


def make_csr(key: sm2.PrivateKey, common_name: str = "长沙市芙蓉区人民医院", *, tamper: bool = False) -> bytes:
    """A PKCS#10 request signed with SM2-with-SM3, as a unit's own tooling would send it."""
    info = csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": certs.name_build([("country_name", "CN"), ("common_name", common_name)]),
            "subject_pk_info": keys.PublicKeyInfo.load(sm2.public_key_to_der(sm2.public_key_of(key))),
            "attributes": [],
        }
    )
    signature = sm2.sign(key, info.dump())
    if tamper:
        signature = sm2.sign(sm2.generate_private_key(), info.dump())
    request = csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": sm2.SIGNATURE_OID},
            "signature": signature,
        }
    )
    return request.dump()


def pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    return certs.der_to_pem(der, label)
