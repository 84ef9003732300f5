"""Certificate authority services (writes): bootstrap, issue, renew, revoke, CRLs.

Every change writes its audit row in the same transaction. Keys are generated and
certificates signed before the transaction opens, so row locks are held only for
the writes (SM2 signing takes about a millisecond, key generation about as much).
Two exceptions, both rare and fast: ``ca_bootstrap`` signs the issuing CA under
the province lock (it needs the root that the lock protects), and ``crl_generate``
signs under the CA lock (the CRL number and the list must match).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import FinanceBureau, Region, Unit
from zhongtai.signing import keystore, sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.errors import SigningError
from zhongtai.signing.locks import lock_authority, lock_certificate, lock_region
from zhongtai.signing.models import Certificate, CertificateAuthority, RevocationList

ROOT_VALIDITY = datetime.timedelta(days=7305)  # 20 years
ISSUING_VALIDITY = datetime.timedelta(days=3652)  # 10 years
END_ENTITY_VALIDITY = datetime.timedelta(days=730)  # 2 years
CRL_VALIDITY = datetime.timedelta(days=7)  # regenerated daily and on every revocation

_END_ENTITY_ROLES = (Certificate.Role.UNIT_SIGNATURE, Certificate.Role.SUPERVISION_SEAL)


@dataclass(frozen=True)
class CaHierarchy:
    root: CertificateAuthority
    issuing: CertificateAuthority
    created: bool


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return (now or timezone.now()).replace(microsecond=0)


def province_of(region: Region) -> Region:
    current = region
    while current.level != Region.Level.PROVINCE:
        if current.parent is None:
            raise ApplicationError(SigningError.REGION_NOT_PROVINCE, f"区划 {region.code} 没有所属的省级区划。")
        current = current.parent
    return current


def _province_org(province: Region) -> str:
    bureau = FinanceBureau.objects.filter(region=province).first()
    return bureau.name if bureau else f"{province.name}财政厅"


def _ca_subject(province: Region, common_name: str) -> list[tuple[str, str]]:
    return [
        ("country_name", "CN"),
        ("state_or_province_name", province.name),
        ("organization_name", _province_org(province)),
        ("common_name", common_name),
    ]


def _unit_subject(unit: Unit, province: Region) -> list[tuple[str, str]]:
    # serialNumber carries the unified social credit code, OU the platform's unit code.
    return [
        ("country_name", "CN"),
        ("state_or_province_name", province.name),
        ("locality_name", unit.region.name),
        ("organization_name", unit.name),
        ("organizational_unit_name", unit.code),
        ("serial_number", unit.credit_code),
        ("common_name", unit.name),
    ]


def _bureau_subject(bureau: FinanceBureau, province: Region) -> list[tuple[str, str]]:
    return [
        ("country_name", "CN"),
        ("state_or_province_name", province.name),
        ("locality_name", bureau.region.name),
        ("organization_name", bureau.name),
        ("organizational_unit_name", bureau.region.code),
        ("common_name", f"{bureau.name}财政票据监制章"),
    ]


@dataclass(frozen=True)
class _Built:
    serial: int
    der: bytes
    public_key_der: bytes
    sealed_key: str
    subject_text: str
    not_before: datetime.datetime
    not_after: datetime.datetime


def _build(
    *,
    profile: certs.Profile,
    subject: list[tuple[str, str]],
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    issuer: Certificate | None,
    public_key: sm2.PublicKey | None = None,
) -> _Built:
    """Sign a certificate; a fresh hosted key unless ``public_key`` (a subscriber-held key) is given."""
    private_key = None
    if public_key is None:
        private_key = sm2.generate_private_key()
        public_key = sm2.public_key_of(private_key)
    public_key_der = sm2.public_key_to_der(public_key)
    if issuer is None:
        assert private_key is not None
        issuer_key = private_key
    else:
        issuer_key = _hosted_key(issuer)
        not_after = min(not_after, issuer.not_after)
    name = certs.name_build(subject)
    serial = certs.random_serial()
    der = certs.certificate_build(
        profile=profile,
        serial=serial,
        subject=name,
        public_key_der=public_key_der,
        not_before=not_before,
        not_after=not_after,
        issuer_key=issuer_key,
        issuer_certificate_der=bytes(issuer.der) if issuer else None,
    )
    return _Built(
        serial=serial,
        der=der,
        public_key_der=public_key_der,
        sealed_key=keystore.private_key_seal(private_key) if private_key else "",
        subject_text=certs.name_text(name),
        not_before=not_before,
        not_after=not_after,
    )


def _hosted_key(certificate: Certificate) -> sm2.PrivateKey:
    if not certificate.private_key_sealed:
        raise ApplicationError(
            SigningError.KEY_NOT_HOSTED,
            f"证书 {certificate.serial_number} 的私钥由单位自行保管，平台无法使用。",
            {"serial": certificate.serial_number},
        )
    return keystore.private_key_unseal(certificate.private_key_sealed, public_key_der=bytes(certificate.public_key_der))


def _save(
    built: _Built,
    *,
    role: str,
    issued_by: Certificate | None,
    unit: Unit | None = None,
    bureau: FinanceBureau | None = None,
    renewal_of: Certificate | None = None,
) -> Certificate:
    return Certificate.objects.create(
        serial_number=certs.serial_to_hex(built.serial),
        role=role,
        issued_by=issued_by,
        unit=unit,
        bureau=bureau,
        subject=built.subject_text[:500],
        not_before=built.not_before,
        not_after=built.not_after,
        der=built.der,
        public_key_der=built.public_key_der,
        key_custody=Certificate.KeyCustody.HOSTED if built.sealed_key else Certificate.KeyCustody.SUBSCRIBER,
        private_key_sealed=built.sealed_key,
        fingerprint_sm3=sm2.sm3(built.der).hex(),
        renewal_of=renewal_of,
    )


def _audit_certificate(actor: Actor, action: str, certificate: Certificate, **data: object) -> None:
    unit = certificate.unit
    bureau = certificate.bureau
    region_code = unit.region.code if unit else bureau.region.code if bureau else ""
    audit_record(
        actor=actor,
        action=action,
        object_type="certificate",
        object_id=certificate.serial_number,
        unit_code=unit.code if unit else "",
        region_code=region_code,
        data={
            "role": certificate.role,
            "subject": certificate.subject,
            "notAfter": certificate.not_after.isoformat(),
            "keyCustody": certificate.key_custody,
            "fingerprintSm3": certificate.fingerprint_sm3,
            **data,
        },
    )


# --- CA hierarchy --------------------------------------------------------------


def _active(province: Region, kind: str) -> CertificateAuthority | None:
    return (
        CertificateAuthority.objects.select_related("certificate")
        .filter(region=province, kind=kind, status=CertificateAuthority.Status.ACTIVE)
        .first()
    )


def ca_bootstrap(*, province: Region, actor: Actor, now: datetime.datetime | None = None) -> CaHierarchy:
    """Create the province's root CA and issuing CA; idempotent (returns the existing ones).

    If the issuing CA was retired (its certificate revoked), a new one is created
    under the existing root.
    """
    if province.level != Region.Level.PROVINCE:
        raise ApplicationError(SigningError.REGION_NOT_PROVINCE, f"只能为省级区划建立 CA，{province} 不是省级区划。")
    root, issuing = (
        _active(province, CertificateAuthority.Kind.ROOT),
        _active(province, CertificateAuthority.Kind.ISSUING),
    )
    if root and issuing:
        return CaHierarchy(root=root, issuing=issuing, created=False)
    moment = _now(now)
    root_name, issuing_name = f"{province.name}财政电子票据根CA", f"{province.name}财政电子票据签发CA"
    root_built = None
    if root is None:
        root_built = _build(
            profile=certs.Profile.ROOT_CA,
            subject=_ca_subject(province, root_name),
            not_before=moment,
            not_after=moment + ROOT_VALIDITY,
            issuer=None,
        )
    try:
        with transaction.atomic():
            lock_region(region_id=province.id)
            root = _active(province, CertificateAuthority.Kind.ROOT)
            issuing = _active(province, CertificateAuthority.Kind.ISSUING)
            if root and issuing:
                return CaHierarchy(root=root, issuing=issuing, created=False)
            if root is None:
                assert root_built is not None
                root = _create_authority(
                    province,
                    CertificateAuthority.Kind.ROOT,
                    root_built,
                    Certificate.Role.ROOT_CA,
                    None,
                    actor,
                    root_name,
                )
            issuing_built = _build(
                profile=certs.Profile.ISSUING_CA,
                subject=_ca_subject(province, issuing_name),
                not_before=moment,
                not_after=moment + ISSUING_VALIDITY,
                issuer=root.certificate,
            )
            issuing = _create_authority(
                province,
                CertificateAuthority.Kind.ISSUING,
                issuing_built,
                Certificate.Role.ISSUING_CA,
                root,
                actor,
                issuing_name,
            )
    except IntegrityError:
        # Another process bootstrapped at the same moment (the partial unique constraint refused ours).
        root, issuing = _active(province, "root"), _active(province, "issuing")
        if root is None or issuing is None:
            raise
        return CaHierarchy(root=root, issuing=issuing, created=False)
    return CaHierarchy(root=root, issuing=issuing, created=True)


def _create_authority(
    province: Region,
    kind: str,
    built: _Built,
    role: str,
    parent: CertificateAuthority | None,
    actor: Actor,
    name: str,
) -> CertificateAuthority:
    certificate = _save(built, role=role, issued_by=parent.certificate if parent else None)
    authority = CertificateAuthority.objects.create(
        region=province,
        kind=kind,
        name=name,
        parent=parent,
        certificate=certificate,
    )
    audit_record(
        actor=actor,
        action="ca.create",
        object_type="certificate_authority",
        object_id=authority.pk,
        region_code=province.code,
        data={
            "kind": kind,
            "serial": certificate.serial_number,
            "subject": certificate.subject,
            "notAfter": certificate.not_after.isoformat(),
            "fingerprintSm3": certificate.fingerprint_sm3,
        },
    )
    return authority


def _issuing_ca_for(region: Region) -> CertificateAuthority:
    province = province_of(region)
    issuing = _active(province, CertificateAuthority.Kind.ISSUING)
    if issuing is None or issuing.certificate is None:
        raise ApplicationError(
            SigningError.CA_NOT_BOOTSTRAPPED,
            f"{province.name}尚未建立电子票据 CA，请先执行 ca_bootstrap。",
            {"region": province.code},
            status=409,
        )
    return issuing


# --- end-entity certificates -----------------------------------------------------


def certificate_issue_for_unit(
    *,
    unit: Unit,
    actor: Actor,
    public_key: sm2.PublicKey | None = None,
    now: datetime.datetime | None = None,
) -> Certificate:
    """Issue a unit signature certificate.

    Without ``public_key`` the platform generates the key pair and keeps the
    private key sealed (hosted). With it, the unit keeps its key on its own
    premises and the platform stores no private key; callers that take a key from
    outside should prove possession first (``x509.csr_public_key`` on a PKCS#10).
    """
    if unit.status != Unit.Status.ACTIVE:
        raise ApplicationError(
            SigningError.UNIT_INACTIVE,
            f"单位 {unit.code} 状态为“{unit.get_status_display()}”，不能签发证书。",
            {"unit": unit.code},
        )
    issuing = _issuing_ca_for(unit.region)
    moment = _now(now)
    built = _build(
        profile=certs.Profile.END_ENTITY,
        subject=_unit_subject(unit, issuing.region),
        not_before=moment,
        not_after=moment + END_ENTITY_VALIDITY,
        issuer=issuing.certificate,
        public_key=public_key,
    )
    with transaction.atomic():
        certificate = _save(built, role=Certificate.Role.UNIT_SIGNATURE, issued_by=issuing.certificate, unit=unit)
        _audit_certificate(actor, "certificate.issue", certificate)
    return certificate


def unit_hosted_certificate_ensure(*, unit: Unit, actor: Actor) -> Certificate | None:
    """The unit's current signature certificate, issued now with a hosted key if it has none.

    For units whose key the platform keeps (networked units, interface units that chose a hosted
    key): without a certificate their receipts could not be signed. Returns None when the
    province's CA has not been bootstrapped yet (``ca_bootstrap`` then issues it later).
    """
    from zhongtai.signing.selectors import certificate_current_for_unit

    current = certificate_current_for_unit(unit=unit)
    if current is not None:
        return current
    try:
        return certificate_issue_for_unit(unit=unit, actor=actor)
    except ApplicationError as error:
        if error.code == SigningError.CA_NOT_BOOTSTRAPPED:
            return None
        raise


def certificate_issue_for_bureau(
    *, bureau: FinanceBureau, actor: Actor, now: datetime.datetime | None = None
) -> Certificate:
    """Issue the certificate of a bureau's supervision seal (财政监制章); its key is always hosted."""
    issuing = _issuing_ca_for(bureau.region)
    moment = _now(now)
    built = _build(
        profile=certs.Profile.END_ENTITY,
        subject=_bureau_subject(bureau, issuing.region),
        not_before=moment,
        not_after=moment + END_ENTITY_VALIDITY,
        issuer=issuing.certificate,
    )
    with transaction.atomic():
        certificate = _save(built, role=Certificate.Role.SUPERVISION_SEAL, issued_by=issuing.certificate, bureau=bureau)
        _audit_certificate(actor, "certificate.issue", certificate)
    return certificate


def certificate_renew(
    *,
    certificate: Certificate,
    actor: Actor,
    public_key: sm2.PublicKey | None = None,
    now: datetime.datetime | None = None,
) -> Certificate:
    """Issue the successor of an end-entity certificate, with the holder's current master data.

    A hosted key is replaced by a new one. A subscriber-held key is re-certified
    unless the unit submits a new ``public_key``. The old certificate stays valid
    until it expires (receipts signed with it keep verifying); revoke it
    separately if it must stop earlier.
    """
    # The caller's instance may be stale (revoked meanwhile): decide on the stored row.
    certificate = Certificate.objects.select_related("unit__region", "bureau__region").get(pk=certificate.pk)
    if certificate.role not in _END_ENTITY_ROLES:
        raise ApplicationError(
            SigningError.CERTIFICATE_NOT_RENEWABLE,
            "CA 证书不能通过更新操作续期。",
            {"serial": certificate.serial_number},
        )
    if certificate.status != Certificate.Status.VALID:
        raise ApplicationError(
            SigningError.CERTIFICATE_NOT_RENEWABLE,
            f"证书 {certificate.serial_number} 已吊销，不能更新，请重新申请签发。",
            {"serial": certificate.serial_number},
        )
    if certificate.unit_id is not None:
        unit = certificate.unit
        assert unit is not None
        if unit.status != Unit.Status.ACTIVE:
            raise ApplicationError(
                SigningError.UNIT_INACTIVE, f"单位 {unit.code} 状态为“{unit.get_status_display()}”，不能更新证书。"
            )
        region = unit.region
    else:
        assert certificate.bureau is not None
        region = certificate.bureau.region
    if public_key is None and certificate.key_custody == Certificate.KeyCustody.SUBSCRIBER:
        public_key = sm2.public_key_from_der(bytes(certificate.public_key_der))
    if public_key is not None and certificate.key_custody == Certificate.KeyCustody.HOSTED:
        raise ApplicationError(
            SigningError.PUBLIC_KEY_INVALID, "平台托管私钥的证书更新时由平台生成新密钥，不接受外部公钥。"
        )
    issuing = _issuing_ca_for(region)
    moment = _now(now)
    if certificate.unit is not None:
        subject = _unit_subject(certificate.unit, issuing.region)
    else:
        assert certificate.bureau is not None
        subject = _bureau_subject(certificate.bureau, issuing.region)
    built = _build(
        profile=certs.Profile.END_ENTITY,
        subject=subject,
        not_before=moment,
        not_after=moment + END_ENTITY_VALIDITY,
        issuer=issuing.certificate,
        public_key=public_key,
    )
    with transaction.atomic():
        renewed = _save(
            built,
            role=certificate.role,
            issued_by=issuing.certificate,
            unit=certificate.unit,
            bureau=certificate.bureau,
            renewal_of=certificate,
        )
        _audit_certificate(actor, "certificate.renew", renewed, renewalOf=certificate.serial_number)
    return renewed


def certificate_revoke(
    *, certificate: Certificate, reason: str, actor: Actor, now: datetime.datetime | None = None
) -> Certificate:
    """Revoke a certificate (it appears in the next CRL of its issuer). The root cannot be revoked.

    Revoking an issuing CA's certificate retires that CA; ``ca_bootstrap`` then
    creates a new issuing CA under the root.
    """
    if reason not in Certificate.RevocationReason.values:
        raise ApplicationError(
            SigningError.REVOCATION_REASON_INVALID,
            f"吊销原因“{reason}”无效，可选：{'、'.join(Certificate.RevocationReason.values)}。",
            {"reason": reason},
        )
    if certificate.role == Certificate.Role.ROOT_CA:
        raise ApplicationError(
            SigningError.CERTIFICATE_NOT_REVOCABLE,
            "根 CA 证书不能吊销；根密钥泄露时应撤除信任并重建 CA。",
            {"serial": certificate.serial_number},
        )
    moment = _now(now)
    with transaction.atomic():
        locked = lock_certificate(certificate_id=certificate.pk)
        if locked.status == Certificate.Status.REVOKED:
            raise ApplicationError(
                SigningError.CERTIFICATE_ALREADY_REVOKED,
                f"证书 {locked.serial_number} 已于 {timezone.localtime(locked.revoked_at):%Y-%m-%d %H:%M:%S} 吊销。",
                {
                    "serial": locked.serial_number,
                    "revokedAt": locked.revoked_at.isoformat() if locked.revoked_at else "",
                },
                status=409,
            )
        locked.status = Certificate.Status.REVOKED
        locked.revoked_at = moment
        locked.revocation_reason = reason
        locked.save(update_fields=["status", "revoked_at", "revocation_reason"])
        if locked.role == Certificate.Role.ISSUING_CA:
            CertificateAuthority.objects.filter(certificate=locked).update(status=CertificateAuthority.Status.RETIRED)
        _audit_certificate(actor, "certificate.revoke", locked, reason=reason, revokedAt=moment.isoformat())
    return locked


def crl_generate(
    *,
    actor: Actor,
    authority: CertificateAuthority | None = None,
    province: Region | None = None,
    now: datetime.datetime | None = None,
) -> RevocationList:
    """Sign and store the next CRL of ``authority`` (default: the province's active issuing CA).

    The CRL lists every certificate the CA's key ever issued and revoked, expired
    ones included: receipts are kept 30 years and their signatures must stay
    checkable, so entries are never dropped.
    """
    if authority is None:
        if province is None:
            province = Region.objects.filter(level=Region.Level.PROVINCE).order_by("code").first()
            if province is None:
                raise ApplicationError(SigningError.CA_NOT_BOOTSTRAPPED, "尚未建立省级区划与电子票据 CA。", status=409)
        authority = _issuing_ca_for(province)
    ca_certificate = authority.certificate
    if ca_certificate is None:
        raise ApplicationError(SigningError.CA_NOT_BOOTSTRAPPED, f"{authority} 没有 CA 证书。", status=409)
    ca_key = _hosted_key(ca_certificate)
    this_update = _now(now)
    with transaction.atomic():
        locked = lock_authority(authority_id=authority.pk)
        number = locked.crl_number + 1
        revoked = list(
            Certificate.objects.filter(issued_by=ca_certificate, status=Certificate.Status.REVOKED).values_list(
                "serial_number", "revoked_at", "revocation_reason"
            )
        )
        der = certs.crl_build(
            issuer_key=ca_key,
            issuer_certificate_der=bytes(ca_certificate.der),
            crl_number=number,
            this_update=this_update,
            next_update=this_update + CRL_VALIDITY,
            entries=[
                certs.RevokedEntry(serial=certs.serial_from_hex(serial), revoked_at=revoked_at, reason=reason)
                for serial, revoked_at, reason in revoked
            ],
        )
        locked.crl_number = number
        locked.save(update_fields=["crl_number"])
        revocation_list = RevocationList.objects.create(
            authority=locked,
            crl_number=number,
            this_update=this_update,
            next_update=this_update + CRL_VALIDITY,
            revoked_count=len(revoked),
            der=der,
        )
        audit_record(
            actor=actor,
            action="crl.generate",
            object_type="certificate_authority",
            object_id=locked.pk,
            region_code=locked.region.code,
            data={
                "crlNumber": number,
                "revokedCount": len(revoked),
                "nextUpdate": revocation_list.next_update.isoformat(),
            },
        )
    return revocation_list
