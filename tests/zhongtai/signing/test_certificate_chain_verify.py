"""certificate_chain_verify: chain, validity at signing time, revocation; pyOpenSSL as a second opinion."""

from __future__ import annotations

import datetime

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as crypto_x509
from OpenSSL import crypto

from zhongtai.masterdata.models import Region
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.errors import ChainFailure
from zhongtai.signing.models import Certificate
from zhongtai.signing.selectors import certificate_chain_verify
from zhongtai.signing.services import CaHierarchy, ca_bootstrap, certificate_revoke, crl_generate

from .conftest import ACTOR

DAY = datetime.timedelta(days=1)


def soon(certificate: Certificate) -> datetime.datetime:
    return certificate.not_before + datetime.timedelta(hours=1)


def verify(certificate: Certificate, root_der: bytes, **kwargs: object) -> certs.ChainVerdict:
    at = kwargs.pop("at", soon(certificate))
    return certificate_chain_verify(bytes(certificate.der), at=at, trusted_root_der=root_der, **kwargs)  # type: ignore[arg-type]


def crl_now(**kwargs: object) -> bytes:
    return bytes(crl_generate(actor=ACTOR, **kwargs).der)  # type: ignore[arg-type]


def test_valid_chain(unit_certificate: Certificate, root_der: bytes) -> None:
    verdict = verify(unit_certificate, root_der)
    assert verdict.valid and verdict.code == ChainFailure.OK
    assert len(verdict.chain) == 3 and "签发CA" in verdict.chain[1] and "根CA" in verdict.chain[2]
    assert verdict.serial_hex == unit_certificate.serial_number
    assert not verdict.revocation_checked


def test_valid_chain_with_crl(unit_certificate: Certificate, seal_certificate: Certificate, root_der: bytes) -> None:
    crl = crl_now()
    for certificate in (unit_certificate, seal_certificate):
        verdict = verify(certificate, root_der, crl_der=crl)
        assert verdict.valid and verdict.revocation_checked, verdict


def test_explicit_intermediates(unit_certificate: Certificate, root_der: bytes, issuing_der: bytes) -> None:
    assert verify(unit_certificate, root_der, intermediates=[issuing_der]).valid
    verdict = verify(unit_certificate, root_der, intermediates=[])
    assert verdict.code == ChainFailure.ISSUER_NOT_FOUND


def test_wrong_root_fails(unit_certificate: Certificate, db: object) -> None:
    # another province's CA, same shape, different keys
    other = Region.objects.create(code="440000", name="广东省", level=Region.Level.PROVINCE)
    other_root = ca_bootstrap(province=other, actor=ACTOR).root.certificate
    assert other_root is not None
    verdict = verify(unit_certificate, bytes(other_root.der))
    assert not verdict.valid and verdict.code == ChainFailure.ISSUER_NOT_FOUND


def test_a_forged_root_with_the_same_name_fails_on_signature(unit_certificate: Certificate, root_der: bytes) -> None:
    # same subject, different key: the issuing CA's authorityKeyIdentifier no longer matches, so no path
    genuine = certs.certificate_parse(root_der)
    impostor_key = sm2.generate_private_key()
    impostor = certs.certificate_build(
        profile=certs.Profile.ROOT_CA,
        serial=certs.random_serial(),
        subject=genuine.subject,
        public_key_der=sm2.public_key_to_der(sm2.public_key_of(impostor_key)),
        not_before=genuine.not_before,
        not_after=genuine.not_after,
        issuer_key=impostor_key,
        issuer_certificate_der=None,
    )
    verdict = verify(unit_certificate, impostor)
    assert not verdict.valid and verdict.code == ChainFailure.ISSUER_NOT_FOUND


def test_tampered_certificate_fails(unit_certificate: Certificate, root_der: bytes) -> None:
    cert = asn1_x509.Certificate.load(bytes(unit_certificate.der))
    tbs = cert["tbs_certificate"]
    tbs["validity"]["not_after"] = asn1_x509.Time({"utc_time": tbs["validity"]["not_after"].native + 3650 * DAY})
    forged = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": cert["signature_algorithm"],
            "signature_value": cert["signature_value"].native,
        }
    ).dump(force=True)
    assert forged != bytes(unit_certificate.der)
    verdict = certificate_chain_verify(forged, at=soon(unit_certificate), trusted_root_der=root_der)
    assert not verdict.valid and verdict.code == ChainFailure.BAD_SIGNATURE


def test_flipped_byte_in_the_signature_fails(unit_certificate: Certificate, root_der: bytes) -> None:
    der = bytearray(bytes(unit_certificate.der))
    der[-5] ^= 0x01  # inside the signature value
    verdict = certificate_chain_verify(bytes(der), at=soon(unit_certificate), trusted_root_der=root_der)
    assert not verdict.valid and verdict.code in (ChainFailure.BAD_SIGNATURE, ChainFailure.MALFORMED)


def test_garbage_is_malformed(root_der: bytes) -> None:
    verdict = certificate_chain_verify(
        b"\x30\x03\x02\x01\x00", at=datetime.datetime.now(datetime.UTC), trusted_root_der=root_der
    )
    assert verdict.code == ChainFailure.MALFORMED and not verdict.valid


def test_expired_at_signing_time_fails(unit_certificate: Certificate, root_der: bytes) -> None:
    verdict = verify(unit_certificate, root_der, at=unit_certificate.not_after + datetime.timedelta(seconds=1))
    assert not verdict.valid and verdict.code == ChainFailure.EXPIRED
    assert verify(unit_certificate, root_der, at=unit_certificate.not_after).valid


def test_signing_time_before_issuance_fails(unit_certificate: Certificate, root_der: bytes) -> None:
    verdict = verify(unit_certificate, root_der, at=unit_certificate.not_before - datetime.timedelta(seconds=1))
    assert not verdict.valid and verdict.code == ChainFailure.NOT_YET_VALID


def test_revoked_certificate_in_crl_fails(unit_certificate: Certificate, root_der: bytes) -> None:
    revoked = certificate_revoke(certificate=unit_certificate, reason="cessation_of_operation", actor=ACTOR)
    crl = crl_now()
    assert revoked.revoked_at is not None
    verdict = verify(unit_certificate, root_der, crl_der=crl, at=revoked.revoked_at + datetime.timedelta(minutes=1))
    assert not verdict.valid and verdict.code == ChainFailure.REVOKED
    assert verdict.revocation_reason == "cessation_of_operation" and verdict.revoked_at == revoked.revoked_at


def test_signature_made_before_an_ordinary_revocation_still_verifies(
    unit_certificate: Certificate, root_der: bytes
) -> None:
    signed_at = unit_certificate.not_before
    certificate_revoke(certificate=unit_certificate, reason="affiliation_changed", actor=ACTOR, now=signed_at + 2 * DAY)
    verdict = verify(unit_certificate, root_der, crl_der=crl_now(), at=signed_at + DAY)
    assert verdict.valid and verdict.revocation_checked and verdict.notes


def test_key_compromise_voids_even_earlier_signatures(unit_certificate: Certificate, root_der: bytes) -> None:
    signed_at = unit_certificate.not_before
    certificate_revoke(certificate=unit_certificate, reason="key_compromise", actor=ACTOR, now=signed_at + 2 * DAY)
    verdict = verify(unit_certificate, root_der, crl_der=crl_now(), at=signed_at + DAY)
    assert not verdict.valid and verdict.code == ChainFailure.REVOKED


def test_tampered_crl_is_detected(unit_certificate: Certificate, root_der: bytes) -> None:
    certificate_revoke(certificate=unit_certificate, reason="key_compromise", actor=ACTOR)
    crl = asn1_crl.CertificateList.load(crl_now())
    tbs = crl["tbs_cert_list"]
    # the attacker removes the revocation entry and keeps the old signature
    tbs["revoked_certificates"] = []
    tbs_fields = {name: tbs[name] for name in ("version", "signature", "issuer", "this_update", "next_update")}
    tbs_fields["crl_extensions"] = tbs["crl_extensions"]
    forged = asn1_crl.CertificateList(
        {
            "tbs_cert_list": asn1_crl.TbsCertList(tbs_fields),
            "signature_algorithm": crl["signature_algorithm"],
            "signature": crl["signature"].native,
        }
    ).dump()
    verdict = verify(unit_certificate, root_der, crl_der=forged)
    assert not verdict.valid and verdict.code == ChainFailure.CRL_BAD_SIGNATURE


def test_crl_signed_by_another_key_is_refused(unit_certificate: Certificate, root_der: bytes, ca: CaHierarchy) -> None:
    assert ca.issuing.certificate is not None
    impostor_key = sm2.generate_private_key()
    forged = certs.crl_build(
        issuer_key=impostor_key,
        issuer_certificate_der=bytes(ca.issuing.certificate.der),
        crl_number=99,
        this_update=datetime.datetime.now(datetime.UTC),
        next_update=datetime.datetime.now(datetime.UTC) + DAY,
        entries=[],
    )
    verdict = verify(unit_certificate, root_der, crl_der=forged)
    assert verdict.code == ChainFailure.CRL_BAD_SIGNATURE


def test_stale_crl_is_refused(unit_certificate: Certificate, root_der: bytes) -> None:
    crl = crl_generate(actor=ACTOR)
    verdict = verify(unit_certificate, root_der, crl_der=bytes(crl.der), now=crl.next_update + DAY)
    assert verdict.code == ChainFailure.CRL_STALE


def test_crl_of_the_wrong_issuer_counts_as_missing(
    unit_certificate: Certificate, root_der: bytes, ca: CaHierarchy
) -> None:
    root_crl = crl_now(authority=ca.root)
    verdict = verify(unit_certificate, root_der, crl_der=root_crl)
    assert verdict.code == ChainFailure.CRL_MISSING


def test_revoked_issuing_ca_fails_through_the_root_crl(
    unit_certificate: Certificate, root_der: bytes, ca: CaHierarchy
) -> None:
    assert ca.issuing.certificate is not None
    issuing_crl = crl_now()
    certificate_revoke(certificate=ca.issuing.certificate, reason="ca_compromise", actor=ACTOR)
    verdict = verify(unit_certificate, root_der, crl_der=[issuing_crl, crl_now(authority=ca.root)])
    assert verdict.code == ChainFailure.REVOKED and "签发CA" in verdict.detail


def test_a_ca_certificate_is_not_a_signer(ca: CaHierarchy, root_der: bytes) -> None:
    assert ca.issuing.certificate is not None
    verdict = verify(ca.issuing.certificate, root_der)
    assert verdict.code == ChainFailure.NOT_END_ENTITY


def test_an_end_entity_cannot_issue(unit_certificate: Certificate, root_der: bytes, issuing_der: bytes) -> None:
    # a certificate "issued" by the unit's hosted key must not chain
    from zhongtai.signing.selectors import signing_key_get

    rogue_key = sm2.generate_private_key()
    rogue = certs.certificate_build(
        profile=certs.Profile.END_ENTITY,
        serial=certs.random_serial(),
        subject=certs.name_build([("common_name", "rogue")]),
        public_key_der=sm2.public_key_to_der(sm2.public_key_of(rogue_key)),
        not_before=unit_certificate.not_before,
        not_after=unit_certificate.not_after,
        issuer_key=signing_key_get(certificate=unit_certificate),
        issuer_certificate_der=bytes(unit_certificate.der),
    )
    verdict = certificate_chain_verify(
        rogue,
        at=soon(unit_certificate),
        trusted_root_der=root_der,
        intermediates=[issuing_der, bytes(unit_certificate.der)],
    )
    assert verdict.code == ChainFailure.NOT_A_CA


# --- pyOpenSSL (OpenSSL inside the cryptography wheel) as an independent second opinion ---------------


def openssl_verify(leaf: bytes, root: bytes, issuing: bytes, crls: list[bytes], at: datetime.datetime) -> str:
    store = crypto.X509Store()
    store.add_cert(crypto.X509.from_cryptography(crypto_x509.load_der_x509_certificate(root)))
    for crl in crls:
        store.add_crl(crypto_x509.load_der_x509_crl(crl))
    if crls:
        store.set_flags(crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL)
    store.set_time(at)
    context = crypto.X509StoreContext(
        store,
        crypto.X509.from_cryptography(crypto_x509.load_der_x509_certificate(leaf)),
        chain=[crypto.X509.from_cryptography(crypto_x509.load_der_x509_certificate(issuing))],
    )
    try:
        context.verify_certificate()
    except crypto.X509StoreContextError as exc:
        return str(exc)
    return "ok"


def test_pyopenssl_validates_the_chain_with_crl_checking(
    unit_certificate: Certificate, seal_certificate: Certificate, root_der: bytes, issuing_der: bytes, ca: CaHierarchy
) -> None:
    crls = [crl_now(), crl_now(authority=ca.root)]
    now = datetime.datetime.now(datetime.UTC)
    assert openssl_verify(bytes(unit_certificate.der), root_der, issuing_der, crls, now) == "ok"
    assert openssl_verify(bytes(seal_certificate.der), root_der, issuing_der, crls, now) == "ok"


def test_pyopenssl_agrees_on_revocation_expiry_and_tampering(
    unit_certificate: Certificate, seal_certificate: Certificate, root_der: bytes, issuing_der: bytes, ca: CaHierarchy
) -> None:
    certificate_revoke(certificate=unit_certificate, reason="key_compromise", actor=ACTOR)
    crls = [crl_now(), crl_now(authority=ca.root)]
    now = datetime.datetime.now(datetime.UTC)
    assert "revoked" in openssl_verify(bytes(unit_certificate.der), root_der, issuing_der, crls, now)
    assert openssl_verify(bytes(seal_certificate.der), root_der, issuing_der, crls, now) == "ok"
    later = seal_certificate.not_after + DAY
    assert "expired" in openssl_verify(bytes(seal_certificate.der), root_der, issuing_der, [], later)
    tampered = bytearray(bytes(seal_certificate.der))
    tampered[-5] ^= 0x01
    assert "signature" in openssl_verify(bytes(tampered), root_der, issuing_der, [], now)
    # and our verifier says the same things
    assert verify(unit_certificate, root_der, crl_der=crls, at=now).code == ChainFailure.REVOKED
    assert verify(seal_certificate, root_der, crl_der=crls, at=now).valid


def test_pyopenssl_detects_a_tampered_crl(unit_certificate: Certificate, root_der: bytes, issuing_der: bytes) -> None:
    crl = bytearray(crl_now())
    crl[-5] ^= 0x01
    now = datetime.datetime.now(datetime.UTC)
    assert "CRL signature" in openssl_verify(bytes(unit_certificate.der), root_der, issuing_der, [bytes(crl)], now)


def test_the_root_itself_is_not_a_signer(root_der: bytes, ca: CaHierarchy) -> None:
    assert ca.root.certificate is not None
    assert verify(ca.root.certificate, root_der).code == ChainFailure.NOT_END_ENTITY


def test_a_sub_ca_below_the_issuing_ca_breaks_its_path_length(
    unit_certificate: Certificate, root_der: bytes, issuing_der: bytes, ca: CaHierarchy
) -> None:
    from zhongtai.signing.selectors import signing_key_get

    assert ca.issuing.certificate is not None
    issuing_key = signing_key_get(certificate=ca.issuing.certificate)
    sub_key, leaf_key = sm2.generate_private_key(), sm2.generate_private_key()
    start, end = unit_certificate.not_before, unit_certificate.not_after
    sub_ca = certs.certificate_build(
        profile=certs.Profile.ISSUING_CA,
        serial=certs.random_serial(),
        subject=certs.name_build([("common_name", "sub CA")]),
        public_key_der=sm2.public_key_to_der(sm2.public_key_of(sub_key)),
        not_before=start,
        not_after=end,
        issuer_key=issuing_key,
        issuer_certificate_der=issuing_der,
    )
    leaf = certs.certificate_build(
        profile=certs.Profile.END_ENTITY,
        serial=certs.random_serial(),
        subject=certs.name_build([("common_name", "leaf")]),
        public_key_der=sm2.public_key_to_der(sm2.public_key_of(leaf_key)),
        not_before=start,
        not_after=end,
        issuer_key=sub_key,
        issuer_certificate_der=sub_ca,
    )
    verdict = certificate_chain_verify(
        leaf, at=soon(unit_certificate), trusted_root_der=root_der, intermediates=[issuing_der, sub_ca]
    )
    assert verdict.code == ChainFailure.PATH_TOO_LONG and "签发CA" in verdict.detail


def resign(der: bytes, *, outer_oid: str | None = None, extra_critical: bool = False) -> bytes:
    """A copy of a certificate with a changed outer algorithm or an added critical extension."""
    cert = asn1_x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    if extra_critical:
        extensions = [
            *tbs["extensions"],
            asn1_x509.Extension({"extn_id": "1.2.3.4", "critical": True, "extn_value": b"\x05\x00"}),
        ]
        tbs["extensions"] = extensions
    algorithm = {"algorithm": outer_oid} if outer_oid else cert["signature_algorithm"]
    return asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": cert["signature_value"].native}
    ).dump(force=True)


def test_another_signature_algorithm_is_refused(unit_certificate: Certificate, root_der: bytes) -> None:
    forged = resign(bytes(unit_certificate.der), outer_oid="1.2.840.10045.4.3.2")  # ecdsa-with-SHA256
    verdict = certificate_chain_verify(forged, at=soon(unit_certificate), trusted_root_der=root_der)
    assert verdict.code == ChainFailure.UNSUPPORTED_ALGORITHM


def test_an_unknown_critical_extension_is_refused(unit_certificate: Certificate, root_der: bytes) -> None:
    forged = resign(bytes(unit_certificate.der), extra_critical=True)
    verdict = certificate_chain_verify(forged, at=soon(unit_certificate), trusted_root_der=root_der)
    assert verdict.code == ChainFailure.UNKNOWN_CRITICAL_EXTENSION
