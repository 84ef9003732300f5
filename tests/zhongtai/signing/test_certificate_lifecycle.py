"""Renewal, revocation, CRLs and expiry warnings."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509 as crypto_x509

from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Unit
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.errors import SigningError
from zhongtai.signing.models import Certificate, CertificateAuthority, RevocationList
from zhongtai.signing.selectors import (
    certificate_current_for_unit,
    certificate_get,
    certificates_expiring,
    crl_latest,
)
from zhongtai.signing.services import (
    CRL_VALIDITY,
    CaHierarchy,
    certificate_issue_for_unit,
    certificate_renew,
    certificate_revoke,
    crl_generate,
)

from .conftest import ACTOR

DAY = datetime.timedelta(days=1)


# --- renewal ----------------------------------------------------------------------------------


def test_renewal_issues_a_successor_with_a_new_hosted_key(unit_certificate: Certificate, unit: Unit) -> None:
    later = unit_certificate.not_before + 700 * DAY
    renewed = certificate_renew(certificate=unit_certificate, actor=ACTOR, now=later)
    assert renewed.renewal_of == unit_certificate
    assert renewed.serial_number != unit_certificate.serial_number
    assert bytes(renewed.public_key_der) != bytes(unit_certificate.public_key_der)
    assert renewed.not_before == later
    assert renewed.subject == unit_certificate.subject
    unit_certificate.refresh_from_db()
    assert unit_certificate.status == Certificate.Status.VALID  # the old one runs out on its own
    assert certificate_current_for_unit(unit=unit, now=later + DAY) == renewed
    event = AuditEvent.objects.get(action="certificate.renew")
    assert event.data["renewalOf"] == unit_certificate.serial_number


def test_renewal_picks_up_changed_master_data(unit_certificate: Certificate, unit: Unit) -> None:
    unit.name = "长沙市芙蓉区人民医院（新院区）"
    unit.save()
    renewed = certificate_renew(certificate=unit_certificate, actor=ACTOR)
    assert "新院区" in renewed.subject


def test_renewal_of_a_subscriber_key_recertifies_the_same_key(ca: CaHierarchy, unit: Unit) -> None:
    own = sm2.public_key_of(sm2.generate_private_key())
    first = certificate_issue_for_unit(unit=unit, actor=ACTOR, public_key=own)
    renewed = certificate_renew(certificate=first, actor=ACTOR)
    assert renewed.key_custody == Certificate.KeyCustody.SUBSCRIBER
    assert bytes(renewed.public_key_der) == bytes(first.public_key_der)
    rekeyed = certificate_renew(
        certificate=renewed, actor=ACTOR, public_key=sm2.public_key_of(sm2.generate_private_key())
    )
    assert bytes(rekeyed.public_key_der) != bytes(first.public_key_der)


def test_renewal_refusals(unit_certificate: Certificate, ca: CaHierarchy) -> None:
    with pytest.raises(ApplicationError) as hosted:
        certificate_renew(
            certificate=unit_certificate, actor=ACTOR, public_key=sm2.public_key_of(sm2.generate_private_key())
        )
    assert hosted.value.code == SigningError.PUBLIC_KEY_INVALID
    assert ca.issuing.certificate is not None
    with pytest.raises(ApplicationError) as of_ca:
        certificate_renew(certificate=ca.issuing.certificate, actor=ACTOR)
    assert of_ca.value.code == SigningError.CERTIFICATE_NOT_RENEWABLE
    certificate_revoke(certificate=unit_certificate, reason="superseded", actor=ACTOR)
    with pytest.raises(ApplicationError) as revoked:
        certificate_renew(certificate=unit_certificate, actor=ACTOR)
    assert revoked.value.code == SigningError.CERTIFICATE_NOT_RENEWABLE


# --- revocation -------------------------------------------------------------------------------


def test_revocation_records_reason_and_time_and_is_audited(unit_certificate: Certificate, unit: Unit) -> None:
    moment = unit_certificate.not_before + 3 * DAY
    revoked = certificate_revoke(certificate=unit_certificate, reason="key_compromise", actor=ACTOR, now=moment)
    assert (revoked.status, revoked.revoked_at, revoked.revocation_reason) == ("revoked", moment, "key_compromise")
    event = AuditEvent.objects.get(action="certificate.revoke")
    assert (event.object_id, event.unit_code, event.data["reason"]) == (
        revoked.serial_number,
        unit.code,
        "key_compromise",
    )
    assert certificate_current_for_unit(unit=unit, now=moment + DAY) is None


def test_revoking_twice_is_refused(unit_certificate: Certificate) -> None:
    certificate_revoke(certificate=unit_certificate, reason="superseded", actor=ACTOR)
    with pytest.raises(ApplicationError) as caught:
        certificate_revoke(certificate=unit_certificate, reason="key_compromise", actor=ACTOR)
    assert caught.value.code == SigningError.CERTIFICATE_ALREADY_REVOKED and caught.value.status_code == 409
    assert AuditEvent.objects.filter(action="certificate.revoke").count() == 1


def test_unknown_reason_is_refused(unit_certificate: Certificate) -> None:
    with pytest.raises(ApplicationError) as caught:
        certificate_revoke(certificate=unit_certificate, reason="because", actor=ACTOR)
    assert caught.value.code == SigningError.REVOCATION_REASON_INVALID
    unit_certificate.refresh_from_db()
    assert unit_certificate.status == Certificate.Status.VALID


def test_certificate_get_accepts_any_hex_spelling(unit_certificate: Certificate) -> None:
    serial = unit_certificate.serial_number
    colons = ":".join(serial[i : i + 2] for i in range(0, 32, 2)).lower()
    assert certificate_get(serial_hex=colons) == unit_certificate
    assert certificate_get(serial_hex=serial.lstrip("0").lower()) == unit_certificate
    with pytest.raises(ApplicationError) as caught:
        certificate_get(serial_hex="zz")
    assert caught.value.status_code == 404


# --- CRLs -------------------------------------------------------------------------------------


def test_crl_lists_revoked_certificates_and_is_signed_by_the_issuing_ca(
    unit_certificate: Certificate, seal_certificate: Certificate, ca: CaHierarchy, issuing_der: bytes
) -> None:
    empty = crl_generate(actor=ACTOR)
    assert (empty.crl_number, empty.revoked_count) == (1, 0)
    revoked = certificate_revoke(certificate=unit_certificate, reason="key_compromise", actor=ACTOR)
    crl = crl_generate(actor=ACTOR)
    assert (crl.crl_number, crl.revoked_count) == (2, 1)
    assert crl.next_update - crl.this_update == CRL_VALIDITY
    parsed = certs.crl_parse(bytes(crl.der))
    assert parsed.crl_number == 2
    assert parsed.revoked == {certs.serial_from_hex(revoked.serial_number): (revoked.revoked_at, "key_compromise")}
    issuing = certs.certificate_parse(issuing_der)
    assert parsed.issuer.dump() == issuing.subject.dump()
    assert parsed.authority_key_id == issuing.subject_key_id
    assert parsed.signature_oid == sm2.SIGNATURE_OID
    assert sm2.verify(issuing.public_key(), parsed.tbs, parsed.signature)
    assert crl_latest(authority=ca.issuing) == crl
    ca.issuing.refresh_from_db()
    assert ca.issuing.crl_number == 2


def test_crl_parses_with_cryptography(unit_certificate: Certificate) -> None:
    certificate_revoke(certificate=unit_certificate, reason="cessation_of_operation", actor=ACTOR)
    crl = crypto_x509.load_der_x509_crl(bytes(crl_generate(actor=ACTOR).der))
    entry = crl.get_revoked_certificate_by_serial_number(certs.serial_from_hex(unit_certificate.serial_number))
    assert entry is not None
    assert entry.extensions.get_extension_for_class(crypto_x509.CRLReason).value.reason == (
        crypto_x509.ReasonFlags.cessation_of_operation
    )
    assert crl.extensions.get_extension_for_class(crypto_x509.CRLNumber).value.crl_number == 1
    assert crl.signature_algorithm_oid.dotted_string == sm2.SIGNATURE_OID


def test_crl_generation_is_audited(ca: CaHierarchy) -> None:
    crl_generate(actor=ACTOR)
    event = AuditEvent.objects.get(action="crl.generate")
    assert (event.object_id, event.data["crlNumber"], event.data["revokedCount"]) == (str(ca.issuing.pk), 1, 0)


def test_root_crl_lists_revoked_issuing_cas(ca: CaHierarchy) -> None:
    assert ca.issuing.certificate is not None
    certificate_revoke(certificate=ca.issuing.certificate, reason="ca_compromise", actor=ACTOR)
    root_crl = crl_generate(actor=ACTOR, authority=ca.root)
    assert certs.crl_parse(bytes(root_crl.der)).revoked.keys() == {
        certs.serial_from_hex(ca.issuing.certificate.serial_number)
    }
    assert RevocationList.objects.filter(authority__kind=CertificateAuthority.Kind.ROOT).count() == 1


# --- expiry warnings --------------------------------------------------------------------------


def test_certificates_expiring_lists_only_valid_ones_in_the_window(
    unit_certificate: Certificate, seal_certificate: Certificate
) -> None:
    near_end = unit_certificate.not_after - 10 * DAY
    expiring = certificates_expiring(within_days=30, now=near_end)
    assert unit_certificate in expiring and seal_certificate in expiring
    assert certificates_expiring(within_days=5, now=near_end) == []
    assert certificates_expiring(within_days=30) == []  # CAs live far longer
    certificate_revoke(certificate=unit_certificate, reason="superseded", actor=ACTOR)
    assert unit_certificate not in certificates_expiring(within_days=30, now=near_end)


def test_periodic_task_publishes_a_crl_from_every_active_ca(ca: CaHierarchy) -> None:
    from zhongtai.signing.tasks import crl_publish_task

    assert crl_publish_task() == [1, 1]
    assert crl_publish_task() == [2, 2]
    assert {crl.authority_id for crl in RevocationList.objects.all()} == {ca.root.pk, ca.issuing.pk}
