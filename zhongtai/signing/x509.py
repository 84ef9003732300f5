"""X.509 v3 certificates and v2 CRLs with SM2-with-SM3 signatures, and a chain verifier.

``asn1crypto`` composes the to-be-signed structures; :mod:`zhongtai.signing.sm2`
signs and verifies them. Nothing here touches the database: the CA services call
the builders, and anyone holding DER bytes can call :func:`chain_verify`.

Profiles (see ``docs/certificates.md``):

* root CA: self-signed, basicConstraints CA (critical), keyUsage keyCertSign + cRLSign;
* issuing CA: basicConstraints CA with pathLen 0, keyUsage keyCertSign + cRLSign;
* end entity (unit signature, supervision seal): basicConstraints CA:FALSE,
  keyUsage digitalSignature + nonRepudiation.

Every certificate carries subjectKeyIdentifier and authorityKeyIdentifier. Key
identifiers are the leftmost 160 bits of SM3 over the subjectPublicKey bits (the
RFC 5280 method 1 with SM3 instead of SHA-1, as RFC 7093 allows).
"""

from __future__ import annotations

import datetime
import enum
import itertools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from asn1crypto import algos, csr, keys, pem, x509
from asn1crypto import crl as asn1_crl

from zhongtai.signing import sm2
from zhongtai.signing.errors import ChainFailure

UTC = datetime.UTC
_MAX_CHAIN_DEPTH = 4

# Known to asn1crypto by name only from here on; parsing keeps working without it.
if sm2.CURVE_OID not in keys.NamedCurve._map:
    keys.NamedCurve.register("sm2p256v1", sm2.CURVE_OID, 32)

# Extensions this verifier understands; an unknown critical one fails the chain.
_UNDERSTOOD_EXTENSIONS = {
    "basic_constraints",
    "key_usage",
    "key_identifier",
    "authority_key_identifier",
    "extended_key_usage",
}
_UNDERSTOOD_CRL_EXTENSIONS = {"crl_number", "authority_key_identifier"}
# Reasons that condemn every signature of the key, whatever the claimed signing time.
_REASONS_VOID_FROM_THE_START = {"key_compromise", "ca_compromise"}


class CertificateFormatError(ValueError):
    """The bytes are not a certificate (or CRL, or CSR) this platform can use."""


class Profile(enum.Enum):
    ROOT_CA = "root_ca"
    ISSUING_CA = "issuing_ca"
    END_ENTITY = "end_entity"


def _signature_algorithm() -> algos.SignedDigestAlgorithm:
    # GM/T 0015: the SM2-with-SM3 AlgorithmIdentifier has no parameters.
    return algos.SignedDigestAlgorithm({"algorithm": sm2.SIGNATURE_OID})


def _time(moment: datetime.datetime) -> x509.Time:
    moment = _utc(moment)
    # RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    if moment.year < 2050:
        return x509.Time({"utc_time": moment})
    return x509.Time({"general_time": moment})


def _utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: certificates need aware times")
    return moment.astimezone(UTC).replace(microsecond=0)


def random_serial() -> int:
    """A positive serial number from 16 random bytes (top bit cleared so DER stays 16 bytes)."""
    while True:
        value = int.from_bytes(secrets.token_bytes(16), "big") & ((1 << 127) - 1)
        if value:
            return value


def serial_to_hex(serial: int) -> str:
    return f"{serial:032X}"


def serial_from_hex(text: str) -> int:
    """Accepts upper/lower case, with or without colons or spaces; ValueError otherwise."""
    cleaned = text.replace(":", "").replace(" ", "").strip()
    if not cleaned or len(cleaned) > 40:
        raise ValueError("serial number must be 1 to 40 hex digits")
    return int(cleaned, 16)


def key_identifier(public_key_der: bytes) -> bytes:
    """Leftmost 160 bits of SM3 over the subjectPublicKey BIT STRING contents."""
    info = keys.PublicKeyInfo.load(public_key_der)
    return sm2.sm3(info["public_key"].contents[1:])[:20]


def name_build(attributes: Sequence[tuple[str, str]]) -> x509.Name:
    """A distinguished name with one attribute per RDN, most significant first, in the order given.

    Attribute types are asn1crypto names (``country_name``, ``organization_name``,
    ``organizational_unit_name``, ``common_name``, ``serial_number``...). Country and
    serialNumber are PrintableString (X.520), everything else UTF8String.
    """
    rdns = []
    for attribute_type, text in attributes:
        if attribute_type in ("country_name", "serial_number"):
            value = x509.DirectoryString(name="printable_string", value=x509.PrintableString(text))
        else:
            value = x509.DirectoryString(name="utf8_string", value=x509.UTF8String(text))
        rdns.append(x509.RelativeDistinguishedName([x509.NameTypeAndValue({"type": attribute_type, "value": value})]))
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def name_text(name: x509.Name) -> str:
    """RFC 4514-like one-line rendering, most significant first (C=CN, ..., CN=...)."""
    labels = {
        "country_name": "C",
        "state_or_province_name": "ST",
        "locality_name": "L",
        "organization_name": "O",
        "organizational_unit_name": "OU",
        "common_name": "CN",
        "serial_number": "serialNumber",
    }
    parts = []
    for rdn in name.chosen:
        for attribute in rdn:
            label = labels.get(attribute["type"].native, attribute["type"].dotted)
            parts.append(f"{label}={attribute['value'].native}")
    return ", ".join(parts)


# --- building ----------------------------------------------------------------


def certificate_build(
    *,
    profile: Profile,
    serial: int,
    subject: x509.Name,
    public_key_der: bytes,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    issuer_key: sm2.PrivateKey,
    issuer_certificate_der: bytes | None,
) -> bytes:
    """DER of a certificate signed by ``issuer_key``; ``issuer_certificate_der`` None means self-signed."""
    if _utc(not_after) <= _utc(not_before):
        raise ValueError("notAfter must be later than notBefore")
    spki = keys.PublicKeyInfo.load(public_key_der)
    sm2.public_key_from_der(public_key_der)  # refuses anything that is not an SM2 key
    subject_key_id = key_identifier(public_key_der)
    if issuer_certificate_der is None:
        if profile is not Profile.ROOT_CA:
            raise ValueError("only a root CA certificate is self-signed")
        issuer_name = subject
        authority_key_id = subject_key_id
    else:
        issuer = x509.Certificate.load(issuer_certificate_der)
        issuer_name = issuer.subject
        authority_key_id = issuer.key_identifier or key_identifier(issuer.public_key.dump())
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": _signature_algorithm(),
            "issuer": issuer_name,
            "validity": {"not_before": _time(not_before), "not_after": _time(not_after)},
            "subject": subject,
            "subject_public_key_info": spki,
            "extensions": _extensions(profile, subject_key_id, authority_key_id),
        }
    )
    signature = sm2.sign(issuer_key, tbs.dump())
    certificate = x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": _signature_algorithm(), "signature_value": signature}
    )
    return certificate.dump()


def _extensions(profile: Profile, subject_key_id: bytes, authority_key_id: bytes) -> list[dict[str, object]]:
    if profile is Profile.ROOT_CA:
        constraints: dict[str, object] = {"ca": True}
        usage = {"key_cert_sign", "crl_sign"}
    elif profile is Profile.ISSUING_CA:
        constraints = {"ca": True, "path_len_constraint": 0}
        usage = {"key_cert_sign", "crl_sign"}
    else:
        constraints = {"ca": False}  # cA DEFAULT FALSE: asn1crypto leaves it out, as DER requires
        usage = {"digital_signature", "non_repudiation"}
    return [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": constraints},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
        {"extn_id": "key_identifier", "critical": False, "extn_value": subject_key_id},
        {"extn_id": "authority_key_identifier", "critical": False, "extn_value": {"key_identifier": authority_key_id}},
    ]


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: datetime.datetime
    reason: str  # an asn1crypto CRLReason name: "key_compromise", "superseded", ...


def crl_build(
    *,
    issuer_key: sm2.PrivateKey,
    issuer_certificate_der: bytes,
    crl_number: int,
    this_update: datetime.datetime,
    next_update: datetime.datetime,
    entries: Iterable[RevokedEntry],
) -> bytes:
    """DER of a v2 CRL with cRLNumber and authorityKeyIdentifier, signed by ``issuer_key``."""
    if _utc(next_update) <= _utc(this_update):
        raise ValueError("nextUpdate must be later than thisUpdate")
    issuer = x509.Certificate.load(issuer_certificate_der)
    revoked = [
        {
            "user_certificate": entry.serial,
            "revocation_date": _time(entry.revoked_at),
            "crl_entry_extensions": [{"extn_id": "crl_reason", "critical": False, "extn_value": entry.reason}],
        }
        for entry in sorted(entries, key=lambda item: item.serial)
    ]
    tbs_fields: dict[str, object] = {
        "version": "v2",
        "signature": _signature_algorithm(),
        "issuer": issuer.subject,
        "this_update": _time(this_update),
        "next_update": _time(next_update),
        "crl_extensions": [
            {"extn_id": "crl_number", "critical": False, "extn_value": crl_number},
            {
                "extn_id": "authority_key_identifier",
                "critical": False,
                "extn_value": {"key_identifier": issuer.key_identifier},
            },
        ],
    }
    if revoked:
        # An empty revokedCertificates must be absent, not an empty SEQUENCE.
        tbs_fields["revoked_certificates"] = revoked
    tbs = asn1_crl.TbsCertList(tbs_fields)
    signature = sm2.sign(issuer_key, tbs.dump())
    return asn1_crl.CertificateList(
        {"tbs_cert_list": tbs, "signature_algorithm": _signature_algorithm(), "signature": signature}
    ).dump()


def csr_public_key(csr_der: bytes) -> sm2.PublicKey:
    """The SM2 public key of a PKCS#10 request, after checking its self-signature (proof of possession)."""
    try:
        request = csr.CertificationRequest.load(csr_der, strict=True)
        info = request["certification_request_info"]
        algorithm = request["signature_algorithm"]["algorithm"].dotted
        public_key_der = info["subject_pk_info"].dump()
        signature = request["signature"].native
        tbs = info.dump()
    except (ValueError, TypeError, KeyError) as exc:
        raise CertificateFormatError("not a PKCS#10 certification request") from exc
    if algorithm != sm2.SIGNATURE_OID:
        raise CertificateFormatError("certification request is not signed with SM2-with-SM3")
    public_key = sm2.public_key_from_der(public_key_der)
    if not sm2.verify(public_key, tbs, signature):
        raise CertificateFormatError("certification request signature does not verify")
    return public_key


# --- parsing -----------------------------------------------------------------


@dataclass(frozen=True)
class ParsedCertificate:
    der: bytes
    serial: int
    subject: x509.Name
    issuer: x509.Name
    not_before: datetime.datetime
    not_after: datetime.datetime
    is_ca: bool
    path_len: int | None
    key_usage: frozenset[str]
    subject_key_id: bytes | None
    authority_key_id: bytes | None
    public_key_der: bytes
    signature_oid: str
    tbs: bytes
    signature: bytes
    unknown_critical: tuple[str, ...]

    @property
    def serial_hex(self) -> str:
        return serial_to_hex(self.serial)

    @property
    def subject_text(self) -> str:
        return name_text(self.subject)

    def public_key(self) -> sm2.PublicKey:
        return sm2.public_key_from_der(self.public_key_der)


def certificate_parse(der: bytes) -> ParsedCertificate:
    """Parse strictly (no trailing bytes); CertificateFormatError for anything unusable."""
    try:
        cert = x509.Certificate.load(bytes(der), strict=True)
        tbs = cert["tbs_certificate"]
        outer_oid = cert["signature_algorithm"]["algorithm"].dotted
        inner_oid = tbs["signature"]["algorithm"].dotted
        constraints = cert.basic_constraints_value
        usage = cert.key_usage_value
        authority = cert.authority_key_identifier_value
        unknown = tuple(
            ext["extn_id"].dotted
            for ext in tbs["extensions"]
            if ext["critical"].native and ext["extn_id"].native not in _UNDERSTOOD_EXTENSIONS
        )
        parsed = ParsedCertificate(
            der=bytes(der),
            serial=tbs["serial_number"].native,
            subject=tbs["subject"],
            issuer=tbs["issuer"],
            not_before=tbs["validity"]["not_before"].native,
            not_after=tbs["validity"]["not_after"].native,
            is_ca=bool(constraints and constraints["ca"].native),
            path_len=constraints["path_len_constraint"].native if constraints else None,
            key_usage=frozenset(usage.native) if usage else frozenset(),
            subject_key_id=cert.key_identifier,
            authority_key_id=authority["key_identifier"].native if authority else None,
            public_key_der=tbs["subject_public_key_info"].dump(),
            signature_oid=outer_oid if outer_oid == inner_oid else f"{outer_oid}!={inner_oid}",
            tbs=tbs.dump(),
            signature=cert["signature_value"].native,
            unknown_critical=unknown,
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CertificateFormatError("not a readable X.509 certificate") from exc
    return parsed


@dataclass(frozen=True)
class ParsedCrl:
    der: bytes
    issuer: x509.Name
    this_update: datetime.datetime
    next_update: datetime.datetime | None
    crl_number: int | None
    authority_key_id: bytes | None
    revoked: dict[int, tuple[datetime.datetime, str]]
    signature_oid: str
    tbs: bytes
    signature: bytes
    unknown_critical: tuple[str, ...]


def crl_parse(der: bytes) -> ParsedCrl:
    try:
        certificate_list = asn1_crl.CertificateList.load(bytes(der), strict=True)
        tbs = certificate_list["tbs_cert_list"]
        outer_oid = certificate_list["signature_algorithm"]["algorithm"].dotted
        inner_oid = tbs["signature"]["algorithm"].dotted
        revoked: dict[int, tuple[datetime.datetime, str]] = {}
        unknown = [
            ext["extn_id"].dotted
            for ext in tbs["crl_extensions"]
            if ext["critical"].native and ext["extn_id"].native not in _UNDERSTOOD_CRL_EXTENSIONS
        ]
        for entry in tbs["revoked_certificates"]:
            reason = "unspecified"
            for ext in entry["crl_entry_extensions"]:
                if ext["extn_id"].native == "crl_reason":
                    reason = ext["extn_value"].native
                elif ext["critical"].native:
                    unknown.append(ext["extn_id"].dotted)
            revoked[entry["user_certificate"].native] = (entry["revocation_date"].native, reason)
        authority = certificate_list.authority_key_identifier_value
        parsed = ParsedCrl(
            der=bytes(der),
            issuer=tbs["issuer"],
            this_update=tbs["this_update"].native,
            next_update=tbs["next_update"].native,
            crl_number=certificate_list.crl_number_value.native if certificate_list.crl_number_value else None,
            authority_key_id=authority["key_identifier"].native if authority else None,
            revoked=revoked,
            signature_oid=outer_oid if outer_oid == inner_oid else f"{outer_oid}!={inner_oid}",
            tbs=tbs.dump(),
            signature=certificate_list["signature"].native,
            unknown_critical=tuple(unknown),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CertificateFormatError("not a readable X.509 CRL") from exc
    return parsed


# --- verification ------------------------------------------------------------

_REASON_TEXT = {
    ChainFailure.OK: "证书链有效。",
    ChainFailure.MALFORMED: "证书或证书撤销列表格式错误，无法解析。",
    ChainFailure.UNSUPPORTED_ALGORITHM: "签名算法不是 SM2-with-SM3（1.2.156.10197.1.501）。",
    ChainFailure.UNKNOWN_CRITICAL_EXTENSION: "证书含有无法识别的关键扩展。",
    ChainFailure.ISSUER_NOT_FOUND: "找不到签发者证书，证书链无法连接到受信任的根证书。",
    ChainFailure.BAD_SIGNATURE: "证书签名验证失败（证书可能被篡改或不是该签发者签发）。",
    ChainFailure.NOT_YET_VALID: "签名时间早于证书生效时间。",
    ChainFailure.EXPIRED: "签名时间晚于证书失效时间，证书已过期。",
    ChainFailure.NOT_A_CA: "签发者证书不是 CA 证书或不允许签发证书。",
    ChainFailure.PATH_TOO_LONG: "证书链长度超过签发者的路径长度约束。",
    ChainFailure.NOT_END_ENTITY: "签名证书应为最终实体证书，且用途须包含数字签名或不可否认。",
    ChainFailure.REVOKED: "证书已被吊销。",
    ChainFailure.CRL_MISSING: "未提供签发者的证书撤销列表，无法检查吊销状态。",
    ChainFailure.CRL_BAD_SIGNATURE: "证书撤销列表签名验证失败或签发者无权签发撤销列表。",
    ChainFailure.CRL_STALE: "证书撤销列表已过期或尚未生效。",
}


@dataclass(frozen=True)
class ChainVerdict:
    """The answer of :func:`chain_verify`: ``valid`` with a stable ``code`` and a Chinese reason."""

    valid: bool
    code: ChainFailure
    reason: str
    subject: str = ""
    serial_hex: str = ""
    chain: tuple[str, ...] = ()
    revocation_checked: bool = False
    revoked_at: datetime.datetime | None = None
    revocation_reason: str = ""
    detail: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


def _fail(code: ChainFailure, detail: str = "", **kwargs: object) -> ChainVerdict:
    return ChainVerdict(valid=False, code=code, reason=_REASON_TEXT[code], detail=detail, **kwargs)  # type: ignore[arg-type]


def _issued_by(child: ParsedCertificate, issuer: ParsedCertificate) -> bool:
    if child.issuer.dump() != issuer.subject.dump():
        return False
    if child.authority_key_id is not None and issuer.subject_key_id is not None:
        return child.authority_key_id == issuer.subject_key_id
    return True


def chain_verify(
    leaf_der: bytes,
    *,
    at: datetime.datetime,
    trusted_root_der: bytes,
    intermediates: Sequence[bytes] = (),
    crls: Sequence[bytes] = (),
    now: datetime.datetime | None = None,
) -> ChainVerdict:
    """Verify a signer's certificate for a signature made at ``at``.

    Checks, link by link up to the trusted root: SM2-with-SM3 signatures (our
    :func:`sm2.verify`), validity of every certificate at ``at``, basic
    constraints, key usage and path length, unknown critical extensions. With
    ``crls``, the leaf must be covered by a CRL of its issuer (an intermediate is
    checked too when its issuer's CRL is given); each CRL's signature is verified,
    it must be current at ``now`` (default: the present), and a certificate counts
    as revoked if it was revoked at or before ``at`` or for a key or CA compromise.
    """
    at = _utc(at)
    now = _utc(now or datetime.datetime.now(UTC))
    try:
        leaf = certificate_parse(leaf_der)
        root = certificate_parse(trusted_root_der)
        pool = [certificate_parse(der) for der in intermediates]
        parsed_crls = [crl_parse(der) for der in crls]
    except CertificateFormatError as exc:
        return _fail(ChainFailure.MALFORMED, str(exc))
    base: dict[str, object] = {"subject": leaf.subject_text, "serial_hex": leaf.serial_hex}

    chain = [leaf]
    while chain[-1].der != root.der:
        current = chain[-1]
        if _issued_by(current, root):
            chain.append(root)
            break
        candidates = [cert for cert in pool if _issued_by(current, cert) and cert not in chain]
        if not candidates or len(chain) > _MAX_CHAIN_DEPTH:
            return _fail(ChainFailure.ISSUER_NOT_FOUND, current.subject_text, **base)
        chain.append(candidates[0])
    base["chain"] = tuple(cert.subject_text for cert in chain)

    for cert in chain:
        if cert.signature_oid != sm2.SIGNATURE_OID:
            return _fail(ChainFailure.UNSUPPORTED_ALGORITHM, cert.subject_text, **base)
        if cert.unknown_critical:
            return _fail(ChainFailure.UNKNOWN_CRITICAL_EXTENSION, ", ".join(cert.unknown_critical), **base)
        if at < cert.not_before:
            return _fail(ChainFailure.NOT_YET_VALID, cert.subject_text, **base)
        if at > cert.not_after:
            return _fail(ChainFailure.EXPIRED, cert.subject_text, **base)

    if leaf.is_ca or not leaf.key_usage & {"digital_signature", "non_repudiation"}:
        return _fail(ChainFailure.NOT_END_ENTITY, leaf.subject_text, **base)
    for depth, (child, issuer) in enumerate(itertools.pairwise(chain)):
        if not issuer.is_ca or "key_cert_sign" not in issuer.key_usage:
            return _fail(ChainFailure.NOT_A_CA, issuer.subject_text, **base)
        # CAs strictly below this issuer in the path (the leaf is not counted).
        if issuer.path_len is not None and depth > issuer.path_len:
            return _fail(ChainFailure.PATH_TOO_LONG, issuer.subject_text, **base)
        if not _signature_ok(issuer, child.tbs, child.signature):
            return _fail(ChainFailure.BAD_SIGNATURE, child.subject_text, **base)
    if not _signature_ok(root, root.tbs, root.signature):
        return _fail(ChainFailure.BAD_SIGNATURE, root.subject_text, **base)

    if not parsed_crls:
        return ChainVerdict(
            valid=True,
            code=ChainFailure.OK,
            reason=_REASON_TEXT[ChainFailure.OK],
            notes=("未提供证书撤销列表，未检查吊销状态。",),
            **base,  # type: ignore[arg-type]
        )
    notes: list[str] = []
    for position, (child, issuer) in enumerate(itertools.pairwise(chain)):
        matching = [item for item in parsed_crls if _crl_issued_by(item, issuer)]
        if not matching:
            if position == 0:
                return _fail(ChainFailure.CRL_MISSING, issuer.subject_text, **base)
            notes.append(f"未提供“{issuer.subject_text}”的撤销列表，未检查“{child.subject_text}”的吊销状态。")
            continue
        for revocation_list in matching:
            failure = _crl_check(revocation_list, issuer, now)
            if failure is not None:
                return _fail(failure, issuer.subject_text, **base)
            entry = revocation_list.revoked.get(child.serial)
            if entry is not None:
                revoked_at, reason = entry
                if revoked_at <= at or reason in _REASONS_VOID_FROM_THE_START:
                    return _fail(
                        ChainFailure.REVOKED,
                        child.subject_text,
                        revoked_at=revoked_at,
                        revocation_reason=reason,
                        revocation_checked=True,
                        **base,
                    )
                notes.append(f"“{child.subject_text}”于签名之后被吊销（{reason}），签名时证书有效。")
    return ChainVerdict(
        valid=True,
        code=ChainFailure.OK,
        reason=_REASON_TEXT[ChainFailure.OK],
        revocation_checked=True,
        notes=tuple(notes),
        **base,  # type: ignore[arg-type]
    )


def _signature_ok(issuer: ParsedCertificate, tbs: bytes, signature: bytes) -> bool:
    try:
        public_key = issuer.public_key()
    except ValueError:
        return False
    return sm2.verify(public_key, tbs, signature)


def _crl_issued_by(revocation_list: ParsedCrl, issuer: ParsedCertificate) -> bool:
    if revocation_list.issuer.dump() != issuer.subject.dump():
        return False
    if revocation_list.authority_key_id is not None and issuer.subject_key_id is not None:
        return revocation_list.authority_key_id == issuer.subject_key_id
    return True


def _crl_check(revocation_list: ParsedCrl, issuer: ParsedCertificate, now: datetime.datetime) -> ChainFailure | None:
    if revocation_list.signature_oid != sm2.SIGNATURE_OID:
        return ChainFailure.UNSUPPORTED_ALGORITHM
    if revocation_list.unknown_critical:
        return ChainFailure.UNKNOWN_CRITICAL_EXTENSION
    if "crl_sign" not in issuer.key_usage or not _signature_ok(issuer, revocation_list.tbs, revocation_list.signature):
        return ChainFailure.CRL_BAD_SIGNATURE
    if revocation_list.this_update > now or (
        revocation_list.next_update is not None and revocation_list.next_update < now
    ):
        return ChainFailure.CRL_STALE
    return None


def der_to_pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    return pem.armor(label, der)


def pem_to_der(data: bytes) -> bytes:
    """DER from PEM (or DER passed through unchanged)."""
    if pem.detect(data):
        _, _, der = pem.unarmor(data)
        return bytes(der)
    return bytes(data)


__all__ = [
    "CertificateFormatError",
    "ChainVerdict",
    "ParsedCertificate",
    "ParsedCrl",
    "Profile",
    "RevokedEntry",
    "certificate_build",
    "certificate_parse",
    "chain_verify",
    "crl_build",
    "crl_parse",
    "csr_public_key",
    "der_to_pem",
    "key_identifier",
    "name_build",
    "name_text",
    "pem_to_der",
    "random_serial",
    "serial_from_hex",
    "serial_to_hex",
]
