"""ca_bootstrap: the root and issuing CA of the province, created once."""

from __future__ import annotations

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as crypto_x509

from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Region
from zhongtai.signing import x509 as certs
from zhongtai.signing.errors import SigningError
from zhongtai.signing.models import Certificate, CertificateAuthority
from zhongtai.signing.services import CaHierarchy, ca_bootstrap, certificate_revoke

from .conftest import ACTOR


def test_bootstrap_creates_root_and_issuing_ca(ca: CaHierarchy, province: Region) -> None:
    assert ca.created
    assert (ca.root.kind, ca.issuing.kind) == ("root", "issuing")
    assert ca.issuing.parent == ca.root
    assert ca.root.certificate is not None and ca.issuing.certificate is not None
    assert ca.root.certificate.role == Certificate.Role.ROOT_CA and ca.root.certificate.issued_by is None
    assert ca.issuing.certificate.issued_by == ca.root.certificate
    assert ca.root.name == "湖南省财政电子票据根CA"


def test_bootstrap_is_idempotent(ca: CaHierarchy, province: Region) -> None:
    again = ca_bootstrap(province=province, actor=ACTOR)
    assert not again.created
    assert (again.root.pk, again.issuing.pk) == (ca.root.pk, ca.issuing.pk)
    assert CertificateAuthority.objects.count() == 2
    assert Certificate.objects.count() == 2
    assert AuditEvent.objects.filter(action="ca.create").count() == 2


def test_bootstrap_writes_audit_rows(ca: CaHierarchy) -> None:
    events = AuditEvent.objects.filter(action="ca.create").order_by("id")
    assert [event.data["kind"] for event in events] == ["root", "issuing"]
    assert events[0].data["serial"] == ca.root.certificate.serial_number  # type: ignore[union-attr]
    assert all(event.region_code == "430000" for event in events)


def test_ca_certificates_follow_the_profile(root_der: bytes, issuing_der: bytes) -> None:
    root, issuing = asn1_x509.Certificate.load(root_der), asn1_x509.Certificate.load(issuing_der)
    assert root.self_signed == "maybe" and root.subject == root.issuer
    assert issuing.issuer == root.subject
    for cert in (root, issuing):
        assert cert["tbs_certificate"]["version"].native == "v3"
        assert cert["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
        assert cert.basic_constraints_value["ca"].native is True
        assert cert.key_usage_value.native == {"key_cert_sign", "crl_sign"}
        assert cert.critical_extensions == {"basic_constraints", "key_usage"}
        assert cert.key_identifier is not None
        assert cert.authority_key_identifier is not None
        assert 0 < cert.serial_number < 2**127
    assert root.basic_constraints_value["path_len_constraint"].native is None
    assert issuing.basic_constraints_value["path_len_constraint"].native == 0
    assert issuing.authority_key_identifier == root.key_identifier
    assert root.authority_key_identifier == root.key_identifier
    assert "湖南省财政电子票据签发CA" in certs.name_text(issuing.subject)


def test_ca_certificates_parse_with_cryptography(root_der: bytes, issuing_der: bytes) -> None:
    root = crypto_x509.load_der_x509_certificate(root_der)
    issuing = crypto_x509.load_der_x509_certificate(issuing_der)
    assert root.version == crypto_x509.Version.v3
    assert root.signature_algorithm_oid.dotted_string == "1.2.156.10197.1.501"
    assert issuing.extensions.get_extension_for_class(crypto_x509.BasicConstraints).value.path_length == 0
    assert issuing.issuer == root.subject


def test_bootstrap_refuses_a_city(changsha: Region) -> None:
    with pytest.raises(ApplicationError) as caught:
        ca_bootstrap(province=changsha, actor=ACTOR)
    assert caught.value.code == SigningError.REGION_NOT_PROVINCE


def test_a_revoked_issuing_ca_is_replaced_under_the_same_root(ca: CaHierarchy, province: Region) -> None:
    assert ca.issuing.certificate is not None
    certificate_revoke(certificate=ca.issuing.certificate, reason="ca_compromise", actor=ACTOR)
    ca.issuing.refresh_from_db()
    assert ca.issuing.status == CertificateAuthority.Status.RETIRED
    renewed = ca_bootstrap(province=province, actor=ACTOR)
    assert renewed.created and renewed.root.pk == ca.root.pk and renewed.issuing.pk != ca.issuing.pk


def test_the_root_cannot_be_revoked(ca: CaHierarchy) -> None:
    assert ca.root.certificate is not None
    with pytest.raises(ApplicationError) as caught:
        certificate_revoke(certificate=ca.root.certificate, reason="key_compromise", actor=ACTOR)
    assert caught.value.code == SigningError.CERTIFICATE_NOT_REVOCABLE
