"""Issuing end-entity certificates: units (hosted or own key) and supervision seals of bureaus."""

from __future__ import annotations

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as crypto_x509
from cryptography.x509.oid import NameOID
from OpenSSL import crypto

from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import FinanceBureau, Region, Unit
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.errors import SigningError
from zhongtai.signing.models import Certificate
from zhongtai.signing.selectors import certificate_current_for_bureau, certificate_current_for_unit, signing_key_get
from zhongtai.signing.services import CaHierarchy, certificate_issue_for_unit

from .conftest import ACTOR, make_csr


def test_unit_certificate_has_a_hosted_key_that_matches(unit_certificate: Certificate, unit: Unit) -> None:
    assert unit_certificate.role == Certificate.Role.UNIT_SIGNATURE
    assert unit_certificate.unit == unit
    assert unit_certificate.key_custody == Certificate.KeyCustody.HOSTED
    key = signing_key_get(certificate=unit_certificate)
    parsed = certs.certificate_parse(bytes(unit_certificate.der))
    assert sm2.verify(parsed.public_key(), b"receipt", sm2.sign(key, b"receipt"))
    assert certificate_current_for_unit(unit=unit) == unit_certificate


def test_unit_certificate_profile(unit_certificate: Certificate, unit: Unit, issuing_der: bytes) -> None:
    cert = asn1_x509.Certificate.load(bytes(unit_certificate.der))
    issuer = asn1_x509.Certificate.load(issuing_der)
    assert cert["tbs_certificate"]["version"].native == "v3"
    assert cert["signature_algorithm"]["algorithm"].dotted == sm2.SIGNATURE_OID
    assert cert["tbs_certificate"]["signature"]["algorithm"].dotted == sm2.SIGNATURE_OID
    assert cert["signature_algorithm"]["parameters"].native is None
    assert cert.basic_constraints_value["ca"].native is False
    assert cert.key_usage_value.native == {"digital_signature", "non_repudiation"}
    assert cert.critical_extensions == {"basic_constraints", "key_usage"}
    assert cert.authority_key_identifier == issuer.key_identifier
    assert cert.key_identifier == certs.key_identifier(bytes(unit_certificate.public_key_der))
    assert cert.issuer == issuer.subject
    assert certs.serial_to_hex(cert.serial_number) == unit_certificate.serial_number
    subject = cert.subject.native
    assert subject["serial_number"] == unit.credit_code
    assert subject["organizational_unit_name"] == unit.code
    assert subject["common_name"] == unit.name == subject["organization_name"]
    assert subject["country_name"] == "CN"
    # the signature verifies with the issuing CA's key (our sm2, independent of the verifier)
    assert sm2.verify(
        sm2.public_key_from_der(issuer.public_key.dump()),
        cert["tbs_certificate"].dump(),
        cert["signature_value"].native,
    )


def test_unit_certificate_parses_with_cryptography_and_pyopenssl(unit_certificate: Certificate, unit: Unit) -> None:
    cert = crypto_x509.load_der_x509_certificate(bytes(unit_certificate.der))
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == unit.credit_code
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == unit.code
    usage = cert.extensions.get_extension_for_class(crypto_x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert f"{cert.serial_number:032X}" == unit_certificate.serial_number
    legacy = crypto.X509.from_cryptography(cert)
    assert legacy.get_signature_algorithm() == b"SM2-with-SM3"
    assert legacy.to_cryptography().subject == cert.subject
    pem = crypto.dump_certificate(crypto.FILETYPE_PEM, legacy)
    assert crypto.load_certificate(crypto.FILETYPE_PEM, pem).digest("sha256") == legacy.digest("sha256")


def test_issuance_is_audited(unit_certificate: Certificate, unit: Unit) -> None:
    event = AuditEvent.objects.get(action="certificate.issue", object_id=unit_certificate.serial_number)
    assert event.object_type == "certificate"
    assert (event.unit_code, event.region_code) == (unit.code, unit.region.code)
    assert event.data["keyCustody"] == "hosted"
    assert event.data["fingerprintSm3"] == sm2.sm3(bytes(unit_certificate.der)).hex()


def test_unit_with_its_own_key_gets_a_certificate_and_no_key_is_stored(ca: CaHierarchy, unit: Unit) -> None:
    own_key = sm2.generate_private_key()
    certificate = certificate_issue_for_unit(unit=unit, actor=ACTOR, public_key=sm2.public_key_of(own_key))
    assert certificate.key_custody == Certificate.KeyCustody.SUBSCRIBER
    assert certificate.private_key_sealed == ""
    assert bytes(certificate.public_key_der) == sm2.public_key_to_der(sm2.public_key_of(own_key))
    with pytest.raises(ApplicationError) as caught:
        signing_key_get(certificate=certificate)
    assert caught.value.code == SigningError.KEY_NOT_HOSTED


def test_csr_proves_possession_of_the_submitted_key() -> None:
    own_key = sm2.generate_private_key()
    assert certs.csr_public_key(make_csr(own_key)) == sm2.public_key_of(own_key)
    with pytest.raises(certs.CertificateFormatError, match="does not verify"):
        certs.csr_public_key(make_csr(own_key, tamper=True))
    with pytest.raises(certs.CertificateFormatError):
        certs.csr_public_key(b"\x30\x03\x02\x01\x00")


def test_bureau_gets_a_supervision_seal_certificate(
    seal_certificate: Certificate, changsha_bureau: FinanceBureau
) -> None:
    assert seal_certificate.role == Certificate.Role.SUPERVISION_SEAL
    assert seal_certificate.bureau == changsha_bureau and seal_certificate.unit is None
    assert seal_certificate.key_custody == Certificate.KeyCustody.HOSTED
    subject = asn1_x509.Certificate.load(bytes(seal_certificate.der)).subject.native
    assert subject["common_name"] == "长沙市财政局财政票据监制章"
    assert subject["organizational_unit_name"] == "430100"
    assert certificate_current_for_bureau(bureau=changsha_bureau) == seal_certificate


def test_end_entity_expires_with_its_issuer_at_the_latest(unit_certificate: Certificate, ca: CaHierarchy) -> None:
    assert ca.issuing.certificate is not None
    assert unit_certificate.not_after <= ca.issuing.certificate.not_after
    assert (unit_certificate.not_after - unit_certificate.not_before).days == 730


def test_inactive_unit_is_refused(ca: CaHierarchy, unit: Unit) -> None:
    unit.status = Unit.Status.SUSPENDED
    unit.save()
    with pytest.raises(ApplicationError) as caught:
        certificate_issue_for_unit(unit=unit, actor=ACTOR)
    assert caught.value.code == SigningError.UNIT_INACTIVE


def test_issuing_before_bootstrap_is_refused(unit: Unit, province: Region) -> None:
    with pytest.raises(ApplicationError) as caught:
        certificate_issue_for_unit(unit=unit, actor=ACTOR)
    assert caught.value.code == SigningError.CA_NOT_BOOTSTRAPPED
    assert caught.value.status_code == 409
    assert not Certificate.objects.exists()


def test_serial_numbers_are_random_positive_and_16_bytes(unit_certificate: Certificate) -> None:
    serials = {certs.random_serial() for _ in range(200)}
    assert len(serials) == 200
    assert all(0 < serial < 2**127 for serial in serials)
    assert any(serial >= 2**120 for serial in serials)
    assert len(unit_certificate.serial_number) == 32
