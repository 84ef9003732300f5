"""Reads of the signing app: certificates, keys for signing, trust chain, expiry, chain verification."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db.models import QuerySet
from django.utils import timezone

from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import FinanceBureau, Region, Unit
from zhongtai.signing import keystore, sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.errors import SigningError
from zhongtai.signing.models import Certificate, CertificateAuthority, RevocationList
from zhongtai.signing.services import CaHierarchy


def ca_hierarchy_get(*, province: Region) -> CaHierarchy | None:
    """The province's active root and issuing CA, or None before ``ca_bootstrap``."""
    active = {
        authority.kind: authority
        for authority in CertificateAuthority.objects.select_related("certificate").filter(
            region=province, status=CertificateAuthority.Status.ACTIVE
        )
    }
    root, issuing = active.get(CertificateAuthority.Kind.ROOT), active.get(CertificateAuthority.Kind.ISSUING)
    if root is None or issuing is None:
        return None
    return CaHierarchy(root=root, issuing=issuing, created=False)


def certificate_get(*, serial_hex: str) -> Certificate:
    """A certificate by serial number (hex, any case, colons allowed); 404 ApplicationError if unknown."""
    try:
        serial = certs.serial_to_hex(certs.serial_from_hex(serial_hex))
    except ValueError as exc:
        raise ApplicationError(
            SigningError.CERTIFICATE_NOT_FOUND, f"证书序列号“{serial_hex}”格式错误。", status=404
        ) from exc
    try:
        return Certificate.objects.select_related("unit", "bureau", "issued_by").get(serial_number=serial)
    except Certificate.DoesNotExist as exc:
        raise ApplicationError(
            SigningError.CERTIFICATE_NOT_FOUND, f"证书 {serial} 不存在。", {"serial": serial}, status=404
        ) from exc


def _current(certificates: QuerySet[Certificate], now: datetime.datetime | None) -> Certificate | None:
    moment = now or timezone.now()
    return (
        certificates.filter(status=Certificate.Status.VALID, not_before__lte=moment, not_after__gt=moment)
        .order_by("-not_before", "-id")
        .first()
    )


def certificate_current_for_unit(*, unit: Unit, now: datetime.datetime | None = None) -> Certificate | None:
    """The unit's newest valid signature certificate at ``now``."""
    return _current(Certificate.objects.filter(unit=unit, role=Certificate.Role.UNIT_SIGNATURE), now)


def certificate_current_for_bureau(
    *, bureau: FinanceBureau, now: datetime.datetime | None = None
) -> Certificate | None:
    """The bureau's newest valid supervision-seal certificate at ``now``."""
    return _current(Certificate.objects.filter(bureau=bureau, role=Certificate.Role.SUPERVISION_SEAL), now)


def certificates_expiring(*, within_days: int, now: datetime.datetime | None = None) -> list[Certificate]:
    """Valid certificates (CAs included) whose notAfter falls within the next ``within_days`` days."""
    moment = now or timezone.now()
    return list(
        Certificate.objects.select_related("unit", "bureau")
        .filter(
            status=Certificate.Status.VALID,
            not_after__gt=moment,
            not_after__lte=moment + datetime.timedelta(days=within_days),
        )
        .order_by("not_after", "id")
    )


def signing_key_get(*, certificate: Certificate) -> sm2.PrivateKey:
    """The hosted private key of a certificate, unsealed for signing.

    ApplicationError ``KEY_NOT_HOSTED`` when the unit keeps its own key;
    ``keystore.KeystoreError`` (a server fault, not a refusal) when it cannot be
    opened with the configured EREC_KEK.
    """
    if certificate.key_custody != Certificate.KeyCustody.HOSTED:
        raise ApplicationError(
            SigningError.KEY_NOT_HOSTED,
            f"证书 {certificate.serial_number} 的私钥由单位自行保管，平台不能代为签名。",
            {"serial": certificate.serial_number},
        )
    return keystore.private_key_unseal(certificate.private_key_sealed, public_key_der=bytes(certificate.public_key_der))


def crl_latest(*, authority: CertificateAuthority) -> RevocationList | None:
    return RevocationList.objects.filter(authority=authority).order_by("-crl_number").first()


def ca_certificates_der() -> list[bytes]:
    """DER of every CA certificate the platform has issued (intermediates for chain building)."""
    return [
        bytes(der)
        for der in Certificate.objects.filter(role=Certificate.Role.ISSUING_CA)
        .order_by("id")
        .values_list("der", flat=True)
    ]


def certificate_chain_verify(
    cert_der: bytes,
    *,
    at: datetime.datetime,
    trusted_root_der: bytes,
    crl_der: bytes | Sequence[bytes] | None = None,
    intermediates: Sequence[bytes] | None = None,
    now: datetime.datetime | None = None,
) -> certs.ChainVerdict:
    """Verify a signer certificate for a signature made at ``at`` (see ``x509.chain_verify``).

    The trust anchor is always the caller's ``trusted_root_der``, never the
    database. Intermediates default to the platform's issuing-CA certificates;
    they are untrusted input to path building, so taking them from the database is
    safe. ``crl_der`` is one CRL or several (e.g. the issuing CA's and the root's).
    """
    if crl_der is None:
        crls: Sequence[bytes] = ()
    elif isinstance(crl_der, bytes | bytearray | memoryview):
        crls = (bytes(crl_der),)
    else:
        crls = tuple(bytes(item) for item in crl_der)
    return certs.chain_verify(
        bytes(cert_der),
        at=at,
        trusted_root_der=bytes(trusted_root_der),
        intermediates=ca_certificates_der() if intermediates is None else intermediates,
        crls=crls,
        now=now,
    )
