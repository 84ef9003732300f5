#!/usr/bin/env python3
"""Verify a fiscal electronic receipt (财政电子票据) offline, with Python and tongsuopy only.

    pip install tongsuopy==1.0.1
    python verify_receipt.py 票据.pdf --root root-ca.pem --certs certs/ --crl certs/issuing-ca.crl.pem
    python verify_receipt.py einvoice.xml --root root-ca.pem --certs certs/ --json

FILE is the data file (einvoice.xml) or the layout file (PDF) that carries it. The root, the unit
and supervision-seal certificates and the CRL come from the platform (``manage.py
export_certificates``). Exit code: 0 valid, 1 invalid (the reason is printed), 2 usage error.

This script is a second implementation of ``manage.py verify_receipt`` for reimbursing parties
(报销单位) and auditors: it imports nothing of the platform, runs the same checks in the same
order and reports them under the same names and codes (docs/verification.md). What it implements
itself, from the published specifications:

* the data file structure of docs/schema/einvoice-1.0.xsd, as tables (a test keeps them equal to
  the XSD), and the consistency rules of docs/signature.md;
* the signed parts of docs/signature.md, canonicalised with the standard library's C14N 2.0,
  which gives the same bytes as Exclusive C14N 1.0 for these namespace-free documents;
* a DER reader for X.509 certificates and CRLs (only the fields a chain check needs);
* certificate chain, validity at the signing time, CRL and certificate-role checks;
* a reader for the embedded file of a PDF (classic cross-reference tables, object streams and
  Flate-compressed streams; encrypted PDFs are refused).

SM2 with SM3 comes from tongsuopy, with the default signer ID 1234567812345678.
Runs on Python 3.10 or later.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import datetime
import itertools
import json
import re
import sys
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.parsers import expat

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11; this runs on 3.10
BEIJING = datetime.timezone(datetime.timedelta(hours=8))
MAX_DATAFILE_BYTES = 16 * 1024 * 1024
XML_FILENAME = "einvoice.xml"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
XML_WHITESPACE = " \t\r\n"
SIGNATURE_ALGORITHM = "SM2-with-SM3"
SIGNATURE_OID = "1.2.156.10197.1.501"
EXC_C14N_URI = "http://www.w3.org/2001/10/xml-exc-c14n#"
ROLES = ("unit", "supervisor")
ROLE_LABEL = {"unit": "单位签名", "supervisor": "财政监制签名"}
SEAL_CN_SUFFIX = "财政票据监制章"

CHECK_TITLES = {
    "file_type": "文件类型",
    "well_formed": "XML 格式与安全",
    "schema": "数据文件规范（XSD 与一致性规则）",
    "canonical": "签名覆盖的规范化字节",
    "unit_signature": "单位签名",
    "supervisor_signature": "财政监制签名",
    "unit_certificate_chain": "单位签名证书链",
    "supervisor_certificate_chain": "财政监制章证书链",
    "unit_revocation": "单位签名证书吊销状态",
    "supervisor_revocation": "财政监制章证书吊销状态",
    "unit_certificate_role": "单位签名证书用途",
    "supervisor_certificate_role": "财政监制章证书用途",
    "sandbox_receipt": "联调测试票据",
}
MAY_BE_UNCHECKED = {"unit_revocation", "supervisor_revocation"}
# Reported only when it applies (a sandbox receipt), and then failed.
ONLY_WHEN_THEY_APPLY = {"sandbox_receipt"}
# The platform writes this into the signed data of every receipt issued in joint testing.
SANDBOX_REMARK = "联调测试票据，仅供测试，无效"
DATAFILE_PROBLEM = {
    "DATAFILE_TOO_LARGE": "文件超过 16 MiB",
    "DATAFILE_NOT_WELL_FORMED": "不是格式良好的 XML",
    "DATAFILE_FORBIDDEN_CONSTRUCT": "含有不允许的 DTD、实体引用或处理指令",
    "DATAFILE_NOT_UTF8": "编码不是 UTF-8",
    "DATAFILE_UNSUPPORTED_VERSION": "不支持的数据文件版本",
    "DATAFILE_SCHEMA_INVALID": "不符合数据文件 XSD",
    "DATAFILE_INCONSISTENT": "数据前后不一致（违反 XSD 之外的规则）",
    "DATAFILE_SIGNATURE_STATE": "签名的顺序或数量不对（应为单位签名在前、财政监制签名在后）",
}


# --- the verdict ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: not performed; the reason says why
    code: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": CHECK_TITLES[self.name],
            "ok": self.ok,
            "code": self.code,
            "reason": self.reason,
            "data": self.data,
        }


@dataclass
class Verdict:
    trust: str
    checks: list[Check] = field(default_factory=list)
    file_type: str = ""
    summary: dict[str, str] | None = None

    @property
    def valid(self) -> bool:
        if any(check.ok is False for check in self.checks):
            return False
        by_name = {check.name: check for check in self.checks}
        for name in CHECK_TITLES:
            check = by_name.get(name)
            if check is None and name in ONLY_WHEN_THEY_APPLY:
                continue
            if check is None or check.ok is False or (check.ok is None and name not in MAY_BE_UNCHECKED):
                return False
        return True

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.ok is False]

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "verdict": "有效" if self.valid else "无效",
            "fileType": self.file_type,
            "trust": self.trust,
            "checks": [check.as_dict() for check in self.checks],
            "receipt": self.summary,
        }


class UsageError(Exception):
    """A --root, --certs or --crl that cannot be used, or an unreadable file: exit code 2."""


# --- SM2 and SM3 (tongsuopy) ------------------------------------------------------------------

_SM2_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


def sm3(data: bytes) -> bytes:
    from tongsuopy.crypto import hashes

    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _plausible_signature(signature: bytes) -> bool:
    """Strict DER SEQUENCE of two positive INTEGERs below n, nothing trailing."""
    if not 8 <= len(signature) <= 72 or signature[0] != 0x30 or signature[1] != len(signature) - 2:
        return False
    pos = 2
    for _ in range(2):
        if pos + 2 > len(signature) or signature[pos] != 0x02:
            return False
        length = signature[pos + 1]
        body = signature[pos + 2 : pos + 2 + length]
        if not 0 < length <= 33 or len(body) != length or body[0] & 0x80:
            return False
        if length > 1 and body[0] == 0 and not body[1] & 0x80:
            return False
        if not 0 < int.from_bytes(body, "big") < _SM2_ORDER:
            return False
        pos += 2 + length
    return pos == len(signature)


def sm2_verify(point: bytes, data: bytes, signature: bytes) -> bool:
    """SM2 with SM3 and the default signer ID; False for anything that is not a valid signature."""
    from tongsuopy.crypto import hashes
    from tongsuopy.crypto.asymciphers import ec

    if len(point) != 65 or point[0] != 0x04 or not _plausible_signature(signature):
        return False
    try:
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big"), ec.SM2()
        )
        numbers.public_key().verify(signature, data, ec.ECDSA(hashes.SM3()))
    except Exception:  # the library's errors all mean "not valid" here
        return False
    return True


# --- DER --------------------------------------------------------------------------------------


class DerError(ValueError):
    pass


@dataclass(frozen=True)
class Tlv:
    tag: int
    raw: bytes  # the whole encoding
    value: bytes  # the content octets

    def children(self) -> list[Tlv]:
        items, pos = [], 0
        while pos < len(self.value):
            item, pos = _tlv(self.value, pos)
            items.append(item)
        return items


def _tlv(data: bytes, pos: int) -> tuple[Tlv, int]:
    if pos + 2 > len(data):
        raise DerError("truncated")
    tag, length, start = data[pos], data[pos + 1], pos + 2
    if tag & 0x1F == 0x1F:
        raise DerError("high tag number")
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or start + count > len(data):
            raise DerError("bad length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise DerError("truncated")
    return Tlv(tag, data[pos:end], data[start:end]), end


def der_parse(data: bytes) -> Tlv:
    item, end = _tlv(data, 0)
    if end != len(data):
        raise DerError("trailing bytes")
    return item


def _oid(item: Tlv) -> str:
    if item.tag != 0x06 or not item.value:
        raise DerError("not an OBJECT IDENTIFIER")
    parts, value = [], 0
    for byte in item.value:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = min(parts[0] // 40, 2)
    return ".".join(str(part) for part in [first, parts[0] - 40 * first, *parts[1:]])


def _integer(item: Tlv) -> int:
    if item.tag not in (0x02, 0x0A) or not item.value:
        raise DerError("not an INTEGER")
    return int.from_bytes(item.value, "big", signed=True)


def _time(item: Tlv) -> datetime.datetime:
    text = item.value.decode("ascii")
    if item.tag == 0x17 and len(text) == 13 and text.endswith("Z"):
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif item.tag != 0x18 or len(text) != 15 or not text.endswith("Z"):
        raise DerError("not a UTCTime or GeneralizedTime")
    return datetime.datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def _bits(item: Tlv) -> bytes:
    if item.tag != 0x03 or not item.value:
        raise DerError("not a BIT STRING")
    return item.value[1:]


_STRING_CODECS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be", 0x1C: "utf-32-be"}
_NAME_LABELS = {
    "2.5.4.6": "C",
    "2.5.4.8": "ST",
    "2.5.4.7": "L",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.3": "CN",
    "2.5.4.5": "serialNumber",
}


def _name(item: Tlv) -> tuple[tuple[str, str], ...]:
    """(label, value) of each attribute of a Name, most significant first."""
    attributes = []
    for rdn in item.children():
        for pair in rdn.children():
            oid_item, value = pair.children()[:2]
            oid = _oid(oid_item)
            codec = _STRING_CODECS.get(value.tag, "latin-1")
            attributes.append((_NAME_LABELS.get(oid, oid), value.value.decode(codec, "replace")))
    return tuple(attributes)


_KEY_USAGE = (
    "digital_signature",
    "non_repudiation",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)
_UNDERSTOOD_EXTENSIONS = {"2.5.29.19", "2.5.29.15", "2.5.29.14", "2.5.29.35", "2.5.29.37"}
_UNDERSTOOD_CRL_EXTENSIONS = {"2.5.29.20", "2.5.29.35"}
_EC_PUBLIC_KEY, _SM2_CURVE = "1.2.840.10045.2.1", "1.2.156.10197.1.301"
_REASONS = (
    "unspecified",
    "key_compromise",
    "ca_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "certificate_hold",
    "",
    "remove_from_crl",
    "privilege_withdrawn",
    "aa_compromise",
)


def _extensions(item: Tlv) -> list[tuple[str, bool, bytes]]:
    found = []
    for extension in item.children():
        parts = extension.children()
        critical = len(parts) == 3 and parts[1].tag == 0x01 and parts[1].value != b"\x00"
        found.append((_oid(parts[0]), critical, parts[-1].value))
    return found


def _authority_key_id(value: bytes) -> bytes | None:
    return next((part.value for part in der_parse(value).children() if part.tag == 0x80), None)


@dataclass(frozen=True)
class Certificate:
    der: bytes
    tbs: bytes
    signature_oid: str
    signature: bytes
    serial: int
    issuer: bytes  # the Name's DER, compared byte for byte
    subject: bytes
    subject_attributes: tuple[tuple[str, str], ...]
    not_before: datetime.datetime
    not_after: datetime.datetime
    point: bytes  # 04 || x || y, empty when the key is not on the SM2 curve
    is_ca: bool
    path_len: int | None
    key_usage: frozenset[str]
    subject_key_id: bytes | None
    authority_key_id: bytes | None
    unknown_critical: tuple[str, ...]

    @property
    def subject_text(self) -> str:
        return ", ".join(f"{label}={value}" for label, value in self.subject_attributes)

    def attribute(self, label: str) -> str:
        return next((value for key, value in self.subject_attributes if key == label), "")


def certificate_parse(der: bytes) -> Certificate:
    """An X.509 v3 certificate; DerError when it is not one."""
    try:
        tbs, algorithm, signature = der_parse(der).children()
        fields = tbs.children()
        at = 1 if fields[0].tag == 0xA0 else 0
        serial, inner_algorithm, issuer, validity, subject, spki = fields[at : at + 6]
        key_algorithm, key_bits = spki.children()
        key_oids = [_oid(part) for part in key_algorithm.children() if part.tag == 0x06]
        point = _bits(key_bits) if key_oids == [_EC_PUBLIC_KEY, _SM2_CURVE] else b""
        is_ca, path_len, usage = False, None, frozenset()
        subject_key_id = authority_key_id = None
        unknown = []
        for extensions in (part for part in fields[at + 6 :] if part.tag == 0xA3):
            for oid, critical, value in _extensions(extensions.children()[0]):
                if oid == "2.5.29.19":
                    for part in der_parse(value).children():
                        if part.tag == 0x01:
                            is_ca = part.value != b"\x00"
                        elif part.tag == 0x02:
                            path_len = _integer(part)
                elif oid == "2.5.29.15":
                    bits = _bits(der_parse(value))
                    usage = frozenset(
                        name
                        for index, name in enumerate(_KEY_USAGE)
                        if index // 8 < len(bits) and bits[index // 8] & 0x80 >> index % 8
                    )
                elif oid == "2.5.29.14":
                    subject_key_id = der_parse(value).value
                elif oid == "2.5.29.35":
                    authority_key_id = _authority_key_id(value)
                elif critical and oid not in _UNDERSTOOD_EXTENSIONS:
                    unknown.append(oid)
        not_before, not_after = validity.children()
        outer_oid, inner_oid = _oid(algorithm.children()[0]), _oid(inner_algorithm.children()[0])
        return Certificate(
            der=der,
            tbs=tbs.raw,
            signature_oid=outer_oid if outer_oid == inner_oid else f"{outer_oid}!={inner_oid}",
            signature=_bits(signature),
            serial=_integer(serial),
            issuer=issuer.raw,
            subject=subject.raw,
            subject_attributes=_name(subject),
            not_before=_time(not_before),
            not_after=_time(not_after),
            point=point,
            is_ca=is_ca,
            path_len=path_len,
            key_usage=usage,
            subject_key_id=subject_key_id,
            authority_key_id=authority_key_id,
            unknown_critical=tuple(unknown),
        )
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DerError(f"not a readable X.509 certificate: {exc}") from exc


@dataclass(frozen=True)
class Crl:
    der: bytes
    tbs: bytes
    signature_oid: str
    signature: bytes
    issuer: bytes
    this_update: datetime.datetime
    next_update: datetime.datetime | None
    authority_key_id: bytes | None
    revoked: dict[int, tuple[datetime.datetime, str]]
    unknown_critical: tuple[str, ...]


def crl_parse(der: bytes) -> Crl:
    """An X.509 v2 CRL; DerError when it is not one."""
    try:
        tbs, algorithm, signature = der_parse(der).children()
        fields = tbs.children()
        at = 1 if fields[0].tag == 0x02 else 0
        inner_algorithm, issuer, this_update = fields[at : at + 3]
        rest = fields[at + 3 :]
        next_update = _time(rest.pop(0)) if rest and rest[0].tag in (0x17, 0x18) else None
        revoked: dict[int, tuple[datetime.datetime, str]] = {}
        unknown: list[str] = []
        authority_key_id = None
        for part in rest:
            if part.tag == 0x30:
                for entry in part.children():
                    items = entry.children()
                    reason = "unspecified"
                    for oid, critical, value in _extensions(items[2]) if len(items) > 2 else []:
                        if oid == "2.5.29.21":
                            code = _integer(der_parse(value))
                            reason = _REASONS[code] if 0 <= code < len(_REASONS) else "unspecified"
                        elif critical:
                            unknown.append(oid)
                    revoked[_integer(items[0])] = (_time(items[1]), reason)
            elif part.tag == 0xA0:
                for oid, critical, value in _extensions(part.children()[0]):
                    if oid == "2.5.29.35":
                        authority_key_id = _authority_key_id(value)
                    elif critical and oid not in _UNDERSTOOD_CRL_EXTENSIONS:
                        unknown.append(oid)
        outer_oid, inner_oid = _oid(algorithm.children()[0]), _oid(inner_algorithm.children()[0])
        return Crl(
            der=der,
            tbs=tbs.raw,
            signature_oid=outer_oid if outer_oid == inner_oid else f"{outer_oid}!={inner_oid}",
            signature=_bits(signature),
            issuer=issuer.raw,
            this_update=_time(this_update),
            next_update=next_update,
            authority_key_id=authority_key_id,
            revoked=revoked,
            unknown_critical=tuple(unknown),
        )
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DerError(f"not a readable X.509 CRL: {exc}") from exc


# --- certificate chains (the rules of docs/certificates.md, "Verifying a certificate") --------

CHAIN_REASON = {
    "OK": "证书链有效。",
    "UNSUPPORTED_ALGORITHM": "签名算法不是 SM2-with-SM3（1.2.156.10197.1.501）。",
    "UNKNOWN_CRITICAL_EXTENSION": "证书含有无法识别的关键扩展。",
    "ISSUER_NOT_FOUND": "找不到签发者证书，证书链无法连接到受信任的根证书。",
    "BAD_SIGNATURE": "证书签名验证失败（证书可能被篡改或不是该签发者签发）。",
    "NOT_YET_VALID": "签名时间早于证书生效时间。",
    "EXPIRED": "签名时间晚于证书失效时间，证书已过期。",
    "NOT_A_CA": "签发者证书不是 CA 证书或不允许签发证书。",
    "PATH_TOO_LONG": "证书链长度超过签发者的路径长度约束。",
    "NOT_END_ENTITY": "签名证书应为最终实体证书，且用途须包含数字签名或不可否认。",
    "REVOKED": "证书已被吊销。",
    "CRL_MISSING": "未提供签发者的证书撤销列表，无法检查吊销状态。",
    "CRL_BAD_SIGNATURE": "证书撤销列表签名验证失败或签发者无权签发撤销列表。",
    "CRL_STALE": "证书撤销列表已过期或尚未生效。",
}
_VOID_FROM_THE_START = {"key_compromise", "ca_compromise"}
_MAX_CHAIN_DEPTH = 4


@dataclass(frozen=True)
class ChainResult:
    code: str
    detail: str = ""  # the subject concerned
    chain: tuple[str, ...] = ()
    revoked_at: datetime.datetime | None = None
    revocation_reason: str = ""
    notes: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.code == "OK"


def _issued_by(child: Certificate | Crl, issuer: Certificate) -> bool:
    if child.issuer != issuer.subject:
        return False
    if child.authority_key_id is not None and issuer.subject_key_id is not None:
        return child.authority_key_id == issuer.subject_key_id
    return True


def chain_verify(
    leaf: Certificate,
    *,
    at: datetime.datetime,
    root: Certificate,
    pool: list[Certificate],
    crls: list[Crl],
    now: datetime.datetime,
) -> ChainResult:
    """The same rules, in the same order, as the platform's chain verifier."""
    chain = [leaf]
    while chain[-1].der != root.der:
        current = chain[-1]
        if _issued_by(current, root):
            chain.append(root)
            break
        candidates = [cert for cert in pool if _issued_by(current, cert) and all(cert.der != c.der for c in chain)]
        if not candidates or len(chain) > _MAX_CHAIN_DEPTH:
            return ChainResult("ISSUER_NOT_FOUND", current.subject_text)
        chain.append(candidates[0])
    subjects = tuple(cert.subject_text for cert in chain)

    def fail(code: str, cert: Certificate | None, **extra: Any) -> ChainResult:
        return ChainResult(code, cert.subject_text if cert else "", subjects, **extra)

    for cert in chain:
        if cert.signature_oid != SIGNATURE_OID:
            return fail("UNSUPPORTED_ALGORITHM", cert)
        if cert.unknown_critical:
            return ChainResult("UNKNOWN_CRITICAL_EXTENSION", ", ".join(cert.unknown_critical), subjects)
        if at < cert.not_before:
            return fail("NOT_YET_VALID", cert)
        if at > cert.not_after:
            return fail("EXPIRED", cert)
    if leaf.is_ca or not leaf.key_usage & {"digital_signature", "non_repudiation"}:
        return fail("NOT_END_ENTITY", leaf)
    for depth, (child, issuer) in enumerate(itertools.pairwise(chain)):
        if not issuer.is_ca or "key_cert_sign" not in issuer.key_usage:
            return fail("NOT_A_CA", issuer)
        if issuer.path_len is not None and depth > issuer.path_len:
            return fail("PATH_TOO_LONG", issuer)
        if not sm2_verify(issuer.point, child.tbs, child.signature):
            return fail("BAD_SIGNATURE", child)
    if not sm2_verify(root.point, root.tbs, root.signature):
        return fail("BAD_SIGNATURE", root)
    if not crls:
        return ChainResult("OK", chain=subjects)
    notes = []
    for position, (child, issuer) in enumerate(itertools.pairwise(chain)):
        matching = [item for item in crls if _issued_by(item, issuer)]
        if not matching:
            if position == 0:
                return fail("CRL_MISSING", issuer)
            notes.append(f"未提供“{issuer.subject_text}”的撤销列表，未检查“{child.subject_text}”的吊销状态。")
            continue
        for revocation_list in matching:
            if revocation_list.signature_oid != SIGNATURE_OID:
                return fail("UNSUPPORTED_ALGORITHM", issuer)
            if revocation_list.unknown_critical:
                return fail("UNKNOWN_CRITICAL_EXTENSION", issuer)
            if "crl_sign" not in issuer.key_usage or not sm2_verify(
                issuer.point, revocation_list.tbs, revocation_list.signature
            ):
                return fail("CRL_BAD_SIGNATURE", issuer)
            next_update = revocation_list.next_update
            if revocation_list.this_update > now or (next_update is not None and next_update < now):
                return fail("CRL_STALE", issuer)
            entry = revocation_list.revoked.get(child.serial)
            if entry is not None:
                revoked_at, reason = entry
                if revoked_at <= at or reason in _VOID_FROM_THE_START:
                    return fail("REVOKED", child, revoked_at=revoked_at, revocation_reason=reason)
                notes.append(f"“{child.subject_text}”于签名之后被吊销（{reason}），签名时间证书有效。")
    return ChainResult("OK", chain=subjects, notes=tuple(notes))


# --- PDF: the embedded data file --------------------------------------------------------------


class PdfError(ValueError):
    pass


@dataclass(frozen=True)
class _Ref:
    number: int


@dataclass(frozen=True)
class _Stream:
    info: dict[str, Any]
    raw: bytes


class _Name(str):
    pass


_PDF_WHITESPACE = b" \t\r\n\x0c\x00"
_PDF_DELIMITERS = b"()<>[]{}/%"
_OBJECT_RE = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}


class _Lexer:
    """Just enough of PDF's object syntax (ISO 32000-1 §7.3) to follow the catalog to a file."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos

    def skip(self) -> None:
        while self.pos < len(self.data):
            if self.data[self.pos] in _PDF_WHITESPACE:
                self.pos += 1
            elif self.data[self.pos] == ord("%"):
                while self.pos < len(self.data) and self.data[self.pos] not in b"\r\n":
                    self.pos += 1
            else:
                return

    def _token(self) -> bytes:
        start = self.pos
        while (
            self.pos < len(self.data)
            and self.data[self.pos] not in _PDF_WHITESPACE
            and self.data[self.pos] not in _PDF_DELIMITERS
        ):
            self.pos += 1
        if start == self.pos:
            raise PdfError(f"unexpected byte at {self.pos}")
        return self.data[start : self.pos]

    def value(self, depth: int = 0) -> Any:
        if depth > 64:
            raise PdfError("nesting too deep")
        self.skip()
        data, pos = self.data, self.pos
        if data.startswith(b"<<", pos):
            self.pos += 2
            result: dict[str, Any] = {}
            while True:
                self.skip()
                if data.startswith(b">>", self.pos):
                    self.pos += 2
                    return result
                key = self.value(depth + 1)
                if not isinstance(key, _Name):
                    raise PdfError("dictionary key is not a name")
                result[str(key)] = self.value(depth + 1)
        if data.startswith(b"[", pos):
            self.pos += 1
            items = []
            while True:
                self.skip()
                if data.startswith(b"]", self.pos):
                    self.pos += 1
                    return items
                items.append(self.value(depth + 1))
        if data.startswith(b"(", pos):
            return self._literal()
        if data.startswith(b"<", pos):
            end = data.find(b">", pos)
            if end < 0:
                raise PdfError("unterminated hex string")
            digits = re.sub(rb"\s", b"", data[pos + 1 : end])
            self.pos = end + 1
            return binascii.unhexlify(digits + b"0" * (len(digits) % 2))
        if data.startswith(b"/", pos):
            self.pos += 1
            raw = self._token() if self.pos < len(data) and data[self.pos] not in _PDF_DELIMITERS else b""
            name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda match: bytes([int(match.group(1), 16)]), raw)
            return _Name(name.decode("latin-1"))
        token = self._token()
        if re.fullmatch(rb"\d+", token):
            after = self.pos
            reference = re.compile(rb"\s+(\d+)\s+R(?=[\s/\[\]<>()%]|$)").match(data, after)
            if reference:
                self.pos = reference.end()
                return _Ref(int(token))
            return int(token)
        if re.fullmatch(rb"[+-]?(\d+\.?\d*|\.\d+)", token):
            return float(token) if b"." in token else int(token)
        return {b"true": True, b"false": False, b"null": None}.get(token, token)

    def _literal(self) -> bytes:
        data, out, depth = self.data, bytearray(), 0
        self.pos += 1
        while self.pos < len(data):
            byte = data[self.pos]
            self.pos += 1
            if byte == ord("\\"):
                following = data[self.pos : self.pos + 1]
                self.pos += 1
                if following in (b"\r", b"\n"):
                    if following == b"\r" and data[self.pos : self.pos + 1] == b"\n":
                        self.pos += 1
                elif following and following[0] in _ESCAPES:
                    out += _ESCAPES[following[0]]
                elif following.isdigit():
                    octal = re.compile(rb"[0-7]{1,3}").match(data, self.pos - 1)
                    if octal is None:
                        out += following
                    else:
                        out.append(int(octal.group(0), 8) & 0xFF)
                        self.pos = octal.end()
                else:
                    out += following
            elif byte == ord("("):
                depth += 1
                out.append(byte)
            elif byte == ord(")"):
                if depth == 0:
                    return bytes(out)
                depth -= 1
                out.append(byte)
            else:
                out.append(byte)
        raise PdfError("unterminated string")


def _pdf_objects(data: bytes) -> dict[int, Any]:
    """Every object of the file in file order, so that an incremental update's version wins."""
    objects: dict[int, Any] = {}
    pos = 0
    while True:
        match = _OBJECT_RE.search(data, pos)
        if match is None:
            break
        lexer = _Lexer(data, match.end())
        try:
            value = lexer.value()
            lexer.skip()
            if isinstance(value, dict) and data.startswith(b"stream", lexer.pos):
                start = lexer.pos + 6
                start += 2 if data.startswith(b"\r\n", start) else 1
                length = value.get("Length")
                end = start + length if isinstance(length, int) else -1
                if end < 0 or not data[end : end + 12].lstrip(b"\r\n ").startswith(b"endstream"):
                    end = data.find(b"endstream", start)
                    if end < 0:
                        raise PdfError("unterminated stream")
                value = _Stream(value, data[start:end])
                pos = end + 9
            else:
                pos = lexer.pos
        except (PdfError, ValueError, IndexError):
            pos = match.end()
            continue
        objects[int(match.group(1))] = value
    for value in list(objects.values()):
        if isinstance(value, _Stream) and value.info.get("Type") == "ObjStm":
            _read_object_stream(value, objects)
    return objects


def _read_object_stream(stream: _Stream, objects: dict[int, Any]) -> None:
    body = _stream_data(stream, objects)
    first, count = stream.info.get("First"), stream.info.get("N")
    if not isinstance(first, int) or not isinstance(count, int):
        raise PdfError("malformed object stream")
    header = [int(number) for number in body[:first].split()]
    for index in range(min(count, len(header) // 2)):
        number, offset = header[2 * index], header[2 * index + 1]
        if number not in objects:
            objects[number] = _Lexer(body, first + offset).value()


def _resolve(value: Any, objects: dict[int, Any]) -> Any:
    for _ in range(32):
        if not isinstance(value, _Ref):
            return value
        value = objects.get(value.number)
    raise PdfError("reference loop")


def _stream_data(stream: _Stream, objects: dict[int, Any]) -> bytes:
    filters = _resolve(stream.info.get("Filter"), objects)
    names = [filters] if isinstance(filters, str) else list(filters or [])
    data = stream.raw
    length = _resolve(stream.info.get("Length"), objects)
    if isinstance(length, int) and length <= len(data):
        data = data[:length]
    for name in names:
        if name != "FlateDecode":
            raise PdfError(f"不支持的 PDF 压缩方式 {name}")
        parameters = _resolve(stream.info.get("DecodeParms"), objects)
        if isinstance(parameters, dict) and _resolve(parameters.get("Predictor"), objects) not in (None, 1):
            raise PdfError("不支持带预测器的 PDF 压缩流")
        data = zlib.decompress(data)
    return data


def _pdf_text(value: Any) -> str:
    if not isinstance(value, bytes):
        return str(value)
    if value.startswith(b"\xfe\xff"):
        return value[2:].decode("utf-16-be", "replace")
    return value.decode("latin-1")


def pdf_embedded_files(data: bytes, filename: str) -> list[bytes]:
    """The contents of every embedded file named ``filename`` in the catalog's EmbeddedFiles tree."""
    objects = _pdf_objects(data)
    trailer: dict[str, Any] = {}
    at = data.rfind(b"trailer")
    if at >= 0:
        try:
            found = _Lexer(data, at + 7).value()
        except (PdfError, ValueError, IndexError):
            found = None
        trailer = found if isinstance(found, dict) else {}
    if "Root" not in trailer:
        streams = [v for v in objects.values() if isinstance(v, _Stream) and v.info.get("Type") == "XRef"]
        trailer = streams[-1].info if streams else {}
    if "Encrypt" in trailer:
        raise PdfError("PDF 已加密，无法读取附件")
    catalog = _resolve(trailer.get("Root"), objects)
    if not isinstance(catalog, dict):
        raise PdfError("找不到 PDF 的文档目录（Catalog）")
    names = _resolve(catalog.get("Names"), objects)
    tree = _resolve(names.get("EmbeddedFiles"), objects) if isinstance(names, dict) else None
    contents: list[bytes] = []

    def walk(node: Any, depth: int) -> None:
        if not isinstance(node, dict) or depth > 16:
            return
        pairs = _resolve(node.get("Names"), objects) or []
        for key, spec in zip(pairs[::2], pairs[1::2], strict=False):
            if _pdf_text(_resolve(key, objects)) != filename:
                continue
            spec = _resolve(spec, objects)
            embedded = _resolve(spec.get("EF"), objects) if isinstance(spec, dict) else None
            stream = _resolve(embedded.get("F") or embedded.get("UF"), objects) if isinstance(embedded, dict) else None
            if not isinstance(stream, _Stream):
                raise PdfError(f"附件 {filename} 没有文件内容")
            contents.append(_stream_data(stream, objects))
        for kid in _resolve(node.get("Kids"), objects) or []:
            walk(_resolve(kid, objects), depth + 1)

    walk(tree, 0)
    return contents


# --- the data file: safe parsing, structure (the XSD as tables), rules, signed parts ----------


class DataFileProblem(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def datafile_load(xml: bytes) -> ET.Element:
    """Parse, refusing what a data file must not contain: DTD, entities, processing instructions."""
    if len(xml) > MAX_DATAFILE_BYTES:
        raise DataFileProblem("DATAFILE_TOO_LARGE", f"larger than {MAX_DATAFILE_BYTES} bytes")
    try:
        xml.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileProblem("DATAFILE_NOT_UTF8", f"not UTF-8 at byte {exc.start}") from exc
    declared: dict[str, str | None] = {}

    def refuse(what: str) -> Any:
        def handler(*args: Any) -> None:
            raise DataFileProblem("DATAFILE_FORBIDDEN_CONSTRUCT", f"{what} is not allowed")

        return handler

    parser = expat.ParserCreate()
    parser.XmlDeclHandler = lambda version, encoding, standalone: declared.update(version=version, encoding=encoding)
    parser.StartDoctypeDeclHandler = refuse("a DOCTYPE (DTD)")
    parser.EntityDeclHandler = refuse("an entity declaration")
    parser.ProcessingInstructionHandler = refuse("a processing instruction")
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as exc:
        raise DataFileProblem(
            "DATAFILE_NOT_WELL_FORMED", f"line {exc.lineno}: {expat.errors.messages[exc.code]}"
        ) from exc
    if (declared.get("encoding") or "UTF-8").upper() != "UTF-8":
        raise DataFileProblem("DATAFILE_NOT_UTF8", f"the encoding must be UTF-8, not {declared['encoding']}")
    if (declared.get("version") or "1.0") != "1.0":
        raise DataFileProblem("DATAFILE_NOT_WELL_FORMED", f"XML version must be 1.0, not {declared['version']}")
    root = ET.fromstring(xml)
    if root.tag != "EInvoice":
        raise DataFileProblem("DATAFILE_SCHEMA_INVALID", f"the root element must be EInvoice, not {root.tag}")
    return root


# docs/schema/einvoice-1.0.xsd as tables; tests/test_standalone_verifier.py keeps them equal to it.
# Simple types, flattened with their base's facets: (base, patterns, enumeration, maxLength, maxInclusive).
_LINE = "[^\\s]([^\\t\\n\\r]*[^\\s])?"
SIMPLE_TYPES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], int | None, int | None]] = {
    "Line": ("xs:string", (_LINE,), (), None, None),
    **{f"Line{n}": ("xs:string", (_LINE,), (), n, None) for n in (20, 40, 60, 64, 80, 100, 200, 500)},
    "ReceiptCode": ("xs:string", ("[0-9]{8}",), (), None, None),
    "ReceiptNumberDigits": ("xs:string", ("[0-9]{10}",), (), None, None),
    "ReceiptNumber": ("xs:string", ("[0-9]{10}", "0*[1-9][0-9]*"), (), None, None),
    "CheckCode": ("xs:string", ("[0-9a-f]{6}",), (), None, None),
    "RegionCode": ("xs:string", ("[1-9][0-9]{5}",), (), None, None),
    "CreditCode": ("xs:string", ("[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}",), (), None, None),
    "Code20": ("xs:string", ("[0-9A-Za-z_.\\-]{1,20}",), (), None, None),
    "ItemCode": ("xs:string", ("[0-9A-Za-z_.\\-]{1,32}",), (), None, None),
    "Amount": ("xs:string", ("(0|-?[1-9][0-9]{0,11})\\.[0-9]{2}|-0\\.(0[1-9]|[1-9][0-9])",), (), None, None),
    "Price": ("xs:string", ("(0|[1-9][0-9]{0,11})\\.([0-9]{2}|[0-9]{2}[1-9]|[0-9]{3}[1-9])",), (), None, None),
    "Quantity": ("xs:string", ("-?((0|[1-9][0-9]{0,9})\\.[0-9]{0,3}[1-9]|[1-9][0-9]{0,9})",), (), None, None),
    "ExchangeRate": ("xs:string", ("(0|[1-9][0-9]{0,5})(\\.[0-9]{0,5}[1-9])?",), (), None, None),
    "Date8": ("xs:string", ("[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])",), (), None, None),
    "Time": ("xs:string", ("([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]",), (), None, None),
    "Count": ("xs:nonNegativeInteger", ("0|[1-9][0-9]*",), (), None, 100000),
    "PayerType": ("xs:string", (), ("1", "2"), None, None),
    "Currency": ("xs:string", ("[A-Z]{3}",), (), None, None),
    "SignatureRole": ("xs:string", (), ("unit", "supervisor"), None, None),
    "CertificateSerial": (
        "xs:string",
        ("00|(0[1-9A-F]|[1-7][0-9A-F])([0-9A-F]{2}){0,19}|00[89A-F][0-9A-F]([0-9A-F]{2}){0,18}",),
        (),
        None,
        None,
    ),
    "SigningTime": (
        "xs:string",
        ("[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\+08:00",),
        (),
        None,
        None,
    ),
    "Base64": (
        "xs:string",
        ("([A-Za-z0-9+/]{4})+([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=",),
        (),
        400,
        None,
    ),
    # Anonymous types of single elements, named after the element.
    "EInvoiceID": ("xs:string", ("[0-9]{18}",), (), None, None),
    "EInvoiceTag": ("xs:string", ("CZ-EI-[0-9]{2}",), (), None, None),
    "Version": ("xs:string", (), ("1.0.0",), None, None),
    "SignatureAlgorithm": ("xs:string", (), (SIGNATURE_ALGORITHM,), None, None),
    "SignatureAlgorithmOID": ("xs:string", (), (SIGNATURE_OID,), None, None),
    "CanonicalizationMethod": ("xs:string", (), (EXC_C14N_URI,), None, None),
}
# Complex types: each child as Name:Type, then ? (optional), + (one or more) or {min,max}.
# A type that is a key here is complex; any other is a key of SIMPLE_TYPES.
_SEQUENCES = {
    "EInvoice": "Header:HeaderType EInvoiceData:EInvoiceDataType Signatures:SignaturesType?",
    "HeaderType": "EInvoiceID:EInvoiceID EInvoiceTag:EInvoiceTag Version:Version",
    "EInvoiceDataType": "Main:MainType Details:DetailsType AuxDetails:AuxDetailsType?",
    "MainType": (
        "EInvoiceName:Line60 EInvoiceCode:ReceiptCode EInvoiceNumber:ReceiptNumber RandomNumber:CheckCode "
        "EInvoiceSpecimenCode:Code20 SupervisorAreaCode:RegionCode TotalAmount:Amount IssueDate:Date8 "
        "IssueTime:Time InvoicingParty:InvoicingPartyType PayerParty:PayerPartyType PayMode:Line20? "
        "BizCode:Line64? CurrencyType:Currency ExchangeRate:ExchangeRate? Remark:Line500? "
        "HandlingPerson:Line40? Checker:Line40? SupervisorRemark:Line500? MainExt:MainExtType?"
    ),
    "InvoicingPartyType": (
        "InvoicingPartyCode:CreditCode InvoicingPartyName:Line100 RecName:Line100? RecAcct:Line40? RecOpBk:Line100?"
    ),
    "PayerPartyType": (
        "PayerPartyType:PayerType PayerPartyCode:Line40? PayerPartyName:Line100 PayerAcct:Line40? PayerOpBk:Line100?"
    ),
    "MainExtType": (
        "MedicalInstitutionType:Line40? MedicalInsuranceType:Line40? MedicalInsuranceNumber:Line40? "
        "VisitNumber:Line40? Department:Line60? PatientNumber:Line40? VisitDate:Date8? AdmissionDate:Date8? "
        "DischargeDate:Date8? HospitalDays:Count? FundPay:Amount? OtherFundPay:Amount? "
        "PersonalAccountPay:Amount? PersonalCashPay:Amount? SelfPay:Amount? SelfExpense:Amount? "
        "DonationPurpose:Line200? CaseNumber:Line60? StudentNumber:Line40? SchoolTerm:Line40? "
        "DecisionNumber:Line80? HouseAddress:Line200? MembershipPeriod:Line40? "
        "RelatedInvoiceCode:ReceiptCode? RelatedInvoiceNumber:ReceiptNumber? PayCode:Line40?"
    ),
    "DetailsType": "Item:ItemType{1,200}",
    "ItemType": (
        "ItemCode:ItemCode ItemName:Line100 ItemQuantity:Quantity ItemUnit:Line20? ItemStd:Price "
        "ItemAmount:Amount ItemRemark:Line200?"
    ),
    "AuxDetailsType": "AuxItem:AuxItemType+",
    "AuxItemType": (
        "AuxItemRelatedCode:ItemCode? AuxItemCode:ItemCode AuxItemName:Line100 AuxItemQuantity:Quantity "
        "AuxItemUnit:Line20? AuxItemStd:Price AuxItemAmount:Amount AuxItemRemark:Line200?"
    ),
    "SignaturesType": "Signature:SignatureType{1,2}",
    "SignatureType": (
        "SignatureAlgorithm:SignatureAlgorithm SignatureAlgorithmOID:SignatureAlgorithmOID "
        "CanonicalizationMethod:CanonicalizationMethod CertificateSerial:CertificateSerial "
        "SigningTime:SigningTime SignatureValue:Base64"
    ),
}
_PARTICLE_RE = re.compile(r"(\w+):(\w+)(\?|\+|\{(\d+),(\d+)\})?")


def _particles(sequence: str) -> tuple[tuple[str, str, int, int | None], ...]:
    """(name, type, minOccurs, maxOccurs or None for unbounded) of each child, in order."""
    particles = []
    for name, kind, suffix, low, high in _PARTICLE_RE.findall(sequence):
        occurs = {"": (1, 1), "?": (0, 1), "+": (1, None)}.get(suffix) or (int(low), int(high))
        particles.append((name, kind, *occurs))
    return tuple(particles)


COMPLEX_TYPES = {name: _particles(sequence) for name, sequence in _SEQUENCES.items()}
# The one attribute of the schema: Signature/@Role (required).
ATTRIBUTES: dict[str, dict[str, str]] = {"SignatureType": {"Role": "SignatureRole"}}


def _xsd_regex(pattern: str) -> re.Pattern[str]:
    # XSD's \s is exactly space, tab, CR and LF; Python's would also match U+3000 and NBSP.
    return re.compile(pattern.replace("\\s", " \\t\\n\\r"))


_PATTERNS = {name: [_xsd_regex(p) for p in facets[1]] for name, facets in SIMPLE_TYPES.items()}


def _value_problem(text: str, kind: str) -> str | None:
    base, _, enumeration, max_length, max_inclusive = SIMPLE_TYPES[kind]
    if base != "xs:string":
        text = text.strip(XML_WHITESPACE)  # XSD collapses whitespace in numeric types
    if enumeration and text not in enumeration:
        return f"value {text!r} is not one of {', '.join(enumeration)}"
    if any(not pattern.fullmatch(text) for pattern in _PATTERNS[kind]):
        return f"value {text!r} is not a valid {kind}"
    if max_length is not None and len(text) > max_length:
        return f"value is longer than {max_length} characters"
    if max_inclusive is not None and int(text) > max_inclusive:
        return f"value {text} is larger than {max_inclusive}"
    return None


def _structure_problem(element: ET.Element, kind: str, path: str) -> str | None:
    """The first way ``element`` breaks the schema, or None."""
    allowed = ATTRIBUTES.get(kind, {})
    for name, value in element.attrib.items():
        if name not in allowed:
            return f"{path}: attribute {name} is not allowed"
        problem = _value_problem(value, allowed[name])
        if problem:
            return f"{path}/@{name}: {problem}"
    for name in allowed:
        if name not in element.attrib:
            return f"{path}: attribute {name} is required"
    if kind not in COMPLEX_TYPES:
        if len(element):
            return f"{path}: element content is not allowed here"
        problem = _value_problem(element.text or "", kind)
        return f"{path}: {problem}" if problem else None
    if (element.text or "").strip(XML_WHITESPACE) or any((c.tail or "").strip(XML_WHITESPACE) for c in element):
        return f"{path}: text is not allowed between elements"
    children = list(element)
    at = 0
    for name, child_kind, minimum, maximum in COMPLEX_TYPES[kind]:
        count = 0
        while at < len(children) and children[at].tag == name and (maximum is None or count < maximum):
            problem = _structure_problem(children[at], child_kind, f"{path}/{name}")
            if problem:
                return problem
            at, count = at + 1, count + 1
        if count < minimum:
            return f"{path}: missing {name}"
    if at < len(children):
        return f"{path}: element {children[at].tag} is not expected here"
    return None


_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _credit_code_valid(code: str) -> bool:
    """GB 32100-2015 check character (the pattern was checked by the schema tables)."""
    total = sum(_CREDIT_ALPHABET.index(ch) * weight for ch, weight in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31] == code[17]


def _rules_problem(root: ET.Element) -> DataFileProblem | None:
    """The rules of docs/signature.md beside the schema, in the platform's order."""
    main = root.find("EInvoiceData/Main")
    assert main is not None

    def text(path: str, base: ET.Element = main) -> str:
        return base.findtext(path) or ""

    def inconsistent(message: str) -> DataFileProblem:
        return DataFileProblem("DATAFILE_INCONSISTENT", message)

    code = text("EInvoiceCode")
    if text("Header/EInvoiceID", root) != code + text("EInvoiceNumber"):
        return inconsistent("EInvoiceID must be EInvoiceCode followed by EInvoiceNumber")
    if text("Header/EInvoiceTag", root)[-2:] != code[:2]:
        return inconsistent("the province of EInvoiceTag is not that of the receipt code")
    if text("SupervisorAreaCode")[:2] != code[:2]:
        return inconsistent("SupervisorAreaCode is not in the province of the receipt code")
    if not _credit_code_valid(text("InvoicingParty/InvoicingPartyCode")):
        return inconsistent("invalid unified social credit code (check character)")
    ext_dates = [name for name, kind, _, _ in COMPLEX_TYPES["MainExtType"] if kind == "Date8"]
    dates = [text("IssueDate")] + [
        text(f"MainExt/{name}") for name in ext_dates if main.find(f"MainExt/{name}") is not None
    ]
    for day in dates:
        try:
            datetime.date(int(day[:4]), int(day[4:6]), int(day[6:8]))
        except ValueError:
            return inconsistent(f"{day} is not a calendar date")
    total = Decimal(text("TotalAmount"))
    items_total = sum(
        (Decimal(item.findtext("ItemAmount") or "0") for item in root.iterfind("EInvoiceData/Details/Item")), Decimal(0)
    )
    if items_total != total:
        return inconsistent(f"the items add up to {items_total}, not to TotalAmount {total}")
    related_code, related_number = main.find("MainExt/RelatedInvoiceCode"), main.find("MainExt/RelatedInvoiceNumber")
    if (related_code is None) != (related_number is None):
        return inconsistent("RelatedInvoiceCode and RelatedInvoiceNumber go together")
    if total < 0 and related_code is None:
        return inconsistent("a red receipt (negative total) must name its original")
    if total >= 0 and related_code is not None:
        return inconsistent("only a red receipt (negative total) names an original")
    roles = [signature.get("Role") for signature in root.iterfind("Signatures/Signature")]
    if roles and roles != list(ROLES[: len(roles)]):
        return DataFileProblem(
            "DATAFILE_SIGNATURE_STATE", f"signatures must be the unit's, then the supervisor's; found {roles}"
        )
    return None


def datafile_validate(root: ET.Element) -> DataFileProblem | None:
    version = root.findtext("Header/Version")
    if version != "1.0.0":
        return DataFileProblem("DATAFILE_UNSUPPORTED_VERSION", f"unsupported data file version {version!r}")
    problem = _structure_problem(root, "EInvoice", "/EInvoice")
    if problem:
        return DataFileProblem("DATAFILE_SCHEMA_INVALID", problem)
    return _rules_problem(root)


def _strip_blank_text(root: ET.Element) -> None:
    root.tail = None
    for node in root.iter():
        if node.text is not None and not node.text.strip(XML_WHITESPACE):
            node.text = None
        if node is not root and node.tail is not None and not node.tail.strip(XML_WHITESPACE):
            node.tail = None


def canonical_bytes(element: ET.Element) -> bytes:
    """C14N 2.0 of the element with whitespace-only text removed: Exclusive C14N 1.0 for data files."""
    work = copy.deepcopy(element)
    _strip_blank_text(work)
    return ET.canonicalize(ET.tostring(work, encoding="unicode")).encode("utf-8")


def signature_of(root: ET.Element, role: str) -> ET.Element | None:
    return next((s for s in root.iterfind("Signatures/Signature") if s.get("Role") == role), None)


def signed_part(root: ET.Element, role: str) -> bytes:
    """The bytes ``role``'s signature covers (docs/signature.md, "What is signed")."""
    part = copy.deepcopy(root)
    later = set(ROLES[ROLES.index(role) + 1 :])
    signatures = part.find("Signatures")
    if signatures is not None:
        for signature in list(signatures):
            if signature.get("Role") in later:
                signatures.remove(signature)
            elif signature.get("Role") == role:
                for value in signature.findall("SignatureValue"):
                    signature.remove(value)
    return canonical_bytes(part)


# --- trust material ---------------------------------------------------------------------------

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)-----END \1-----", re.DOTALL)


def _der_blocks(data: bytes, label: str) -> list[bytes]:
    if b"-----BEGIN" not in data:
        return [data]
    return [
        base64.b64decode(re.sub(rb"\s", b"", body)) for kind, body in _PEM_RE.findall(data) if kind == label.encode()
    ]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"无法读取文件 {path}：{exc.strerror}") from exc


def _certificates_in(path: Path, *, explicit: bool) -> list[Certificate]:
    found = []
    for der in _der_blocks(_read(path), "CERTIFICATE"):
        try:
            found.append(certificate_parse(der))
        except DerError:
            if explicit:
                raise UsageError(f"{path} 不是可读的 X.509 证书（PEM 或 DER）。") from None
    if explicit and not found:
        raise UsageError(f"{path} 中没有证书。")
    return found


@dataclass(frozen=True)
class Trust:
    root: Certificate
    pool: list[Certificate]
    crls: list[Crl]
    description: str


def common_name(subject_text: str) -> str:
    at = subject_text.rfind("CN=")
    return subject_text[at + 3 :] if at >= 0 else subject_text


def trust_load(root: Path, certificates: list[Path], crls: list[Path]) -> Trust:
    roots = _certificates_in(root, explicit=True)
    if len(roots) != 1:
        raise UsageError(f"根证书文件 {root} 应只含一个证书，实际含 {len(roots)} 个。")
    pool: dict[bytes, Certificate] = {}
    for path in certificates:
        if path.is_dir():
            files = sorted(item for item in path.iterdir() if item.suffix.lower() in {".pem", ".crt", ".cer", ".der"})
            items = [cert for item in files for cert in _certificates_in(item, explicit=False)]
        elif path.exists():
            items = _certificates_in(path, explicit=True)
        else:
            raise UsageError(f"证书文件或目录 {path} 不存在。")
        pool.update((cert.der, cert) for cert in items)
    if not pool:
        raise UsageError("--certs 中没有找到任何证书。")
    lists = []
    for path in crls:
        blocks = _der_blocks(_read(path), "X509 CRL")
        if not blocks:
            raise UsageError(f"{path} 中没有证书撤销列表。")
        for der in blocks:
            try:
                lists.append(crl_parse(der))
            except DerError:
                raise UsageError(f"{path} 不是可读的证书撤销列表（CRL，PEM 或 DER）。") from None
    anchor = roots[0]
    description = f"根证书文件 {root}（{common_name(anchor.subject_text)}，SM3 指纹 {sm3(anchor.der).hex()}）"
    return Trust(anchor, list(pool.values()), lists, description)


# --- the checks -------------------------------------------------------------------------------

REVOCATION_REASON_TEXT = {
    "unspecified": "未指明原因",
    "key_compromise": "密钥泄露",
    "ca_compromise": "CA 密钥泄露",
    "affiliation_changed": "单位信息变更",
    "superseded": "证书已被取代",
    "cessation_of_operation": "停止使用",
    "certificate_hold": "暂停使用",
    "remove_from_crl": "从 CRL 中移除",
    "privilege_withdrawn": "权限撤销",
    "aa_compromise": "属性机构密钥泄露",
}
_SERIAL_RE = re.compile(r"[0-9A-Fa-f]{1,40}\Z")
_SIGNING_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00\Z")


def beijing(moment: datetime.datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _short_note(note: str) -> str:
    return re.sub(r"“[^”]*CN=([^”]*)”", r"“\1”", note)


def _file_type(content: bytes) -> tuple[Check, bytes | None, str]:
    name = "file_type"
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return Check(name, True, "OK", f"XML 数据文件（{len(content)} 字节）。"), content, "xml"
    if b"%PDF-" not in content[:1024]:
        return Check(name, False, "FILE_UNSUPPORTED", "既不是 XML 数据文件，也不是 PDF 版式文件。"), None, ""
    try:
        found = pdf_embedded_files(content, XML_FILENAME)
    except (PdfError, ValueError, zlib.error) as exc:
        return Check(name, False, "PDF_UNREADABLE", f"不是可读的 PDF 文件：{exc}"), None, "pdf"
    if not found:
        reason = f"PDF 中没有名为 {XML_FILENAME} 的数据文件附件，无法验证签名（版式文件本身不带签名）。"
        return Check(name, False, "PDF_NO_DATAFILE", reason), None, "pdf"
    if len(found) > 1:
        reason = f"PDF 中有多个名为 {XML_FILENAME} 的附件，无法确定哪一个是签名的数据文件。"
        return Check(name, False, "PDF_SEVERAL_DATAFILES", reason), None, "pdf"
    reason = f"PDF 版式文件，内含唯一的数据文件附件 {XML_FILENAME}（{len(found[0])} 字节）。"
    return Check(name, True, "OK", reason, {"xmlBytes": len(found[0])}), found[0], "pdf"


def _problem_check(name: str, problem: DataFileProblem) -> Check:
    return Check(name, False, problem.code, f"{DATAFILE_PROBLEM[problem.code]}：{problem.code}: {problem.message}")


def _summary(root: ET.Element) -> dict[str, str]:
    def text(path: str) -> str:
        return (root.findtext(f"EInvoiceData/Main/{path}") or "").strip()

    date = text("IssueDate")
    return {
        "kindName": text("EInvoiceName"),
        "receiptCode": text("EInvoiceCode"),
        "number": text("EInvoiceNumber"),
        "checkCode": text("RandomNumber"),
        "issueDate": f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 else date,
        "issueTime": text("IssueTime"),
        "totalAmount": text("TotalAmount"),
        "payerName": text("PayerParty/PayerPartyName"),
        "unitName": text("InvoicingParty/InvoicingPartyName"),
        "unitCreditCode": text("InvoicingParty/InvoicingPartyCode"),
    }


def _canonical(xml: bytes, root: ET.Element) -> tuple[Check, dict[str, bytes]]:
    signed: dict[str, bytes] = {}
    data: dict[str, Any] = {}
    parts = []
    for role in ROLES:
        if signature_of(root, role) is None:
            continue
        signed[role] = signed_part(root, role)
        digest = sm3(signed[role]).hex()
        data[f"{role}Bytes"], data[f"{role}Sm3"] = len(signed[role]), digest
        parts.append(f"{ROLE_LABEL[role]}覆盖 {len(signed[role])} 字节（SM3 {digest[:16]}…）")
    normal = xml.lstrip(b"\xef\xbb\xbf") == XML_DECLARATION + canonical_bytes(root)
    data["normalForm"] = normal
    form = (
        "文件为平台写出的标准格式" if normal else "文件不是平台写出的标准格式（如经过缩进排版），签名按规范化字节验证"
    )
    covered = "；".join(parts) if parts else "文件中没有签名"
    reason = f"按 Exclusive XML C14N 1.0 计算签名部分：{covered}。{form}。"
    return Check("canonical", True, "OK", reason, data), signed


@dataclass(frozen=True)
class Signer:
    role: str
    signing_time: datetime.datetime
    certificate: Certificate


def _signature(root: ET.Element, role: str, signed: bytes | None, trust: Trust) -> tuple[Check, Signer | None]:
    name, label = f"{role}_signature", ROLE_LABEL[role]
    element = signature_of(root, role)
    if element is None or signed is None:
        return Check(name, False, "SIGNATURE_MISSING", f"数据文件中没有{label}。"), None
    algorithm = tuple(
        element.findtext(tag) for tag in ("SignatureAlgorithm", "SignatureAlgorithmOID", "CanonicalizationMethod")
    )
    if algorithm != (SIGNATURE_ALGORITHM, SIGNATURE_OID, EXC_C14N_URI):
        reason = f"{label}的算法或规范化方法不受支持：{' / '.join(str(item) for item in algorithm)}。"
        return Check(name, False, "SIGNATURE_MALFORMED", reason), None
    serial_text, time_text = element.findtext("CertificateSerial") or "", element.findtext("SigningTime") or ""
    try:
        if not _SERIAL_RE.match(serial_text) or not _SIGNING_TIME_RE.match(time_text):
            raise ValueError
        serial = int(serial_text, 16)
        signing_time = datetime.datetime.strptime(time_text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=BEIJING)
        value = base64.b64decode(element.findtext("SignatureValue") or "", validate=True)
    except (ValueError, binascii.Error):
        return Check(name, False, "SIGNATURE_MALFORMED", f"{label}的证书序列号、签名时间或签名值格式错误。"), None
    data: dict[str, Any] = {"certificateSerial": serial_text, "signingTime": time_text}
    candidates = [cert for cert in trust.pool if cert.serial == serial]
    if not candidates:
        reason = (
            f"找不到序列号为 {serial_text} 的证书，无法验证{label}"
            "（用 --certs 提供单位与监制章证书，或由平台运维人员在平台上验证）。"
        )
        return Check(name, False, "CERTIFICATE_NOT_FOUND", reason, data), None
    for candidate in candidates:
        if sm2_verify(candidate.point, signed, value):
            data["subject"] = candidate.subject_text
            reason = (
                f"{label}有效：用证书 {serial_text}（{common_name(candidate.subject_text)}）的公钥验证通过，"
                f"签名时间 {beijing(signing_time)}。"
            )
            return Check(name, True, "OK", reason, data), Signer(role, signing_time, candidate)
    covers = "全部数据与它自己的签名信息" if role == "unit" else "全部数据、单位签名与它自己的签名信息"
    reason = f"{label}与数据不符（它覆盖{covers}）：文件在签名后被改动过，或签名不是证书 {serial_text} 的私钥所签。"
    data["subject"] = candidates[0].subject_text
    return Check(name, False, "SIGNATURE_MISMATCH", reason, data), Signer(role, signing_time, candidates[0])


def _chain(signer: Signer, trust: Trust, now: datetime.datetime) -> tuple[Check, ChainResult]:
    result = chain_verify(
        signer.certificate, at=signer.signing_time, root=trust.root, pool=trust.pool, crls=[], now=now
    )
    if result.valid:
        path = " → ".join(common_name(subject) for subject in result.chain)
        reason = f"证书链有效：{path}；签名时间 {beijing(signer.signing_time)} 时链上证书均在有效期内。"
    else:
        reason = CHAIN_REASON[result.code].rstrip("。")
        leaf = signer.certificate
        if result.code in ("EXPIRED", "NOT_YET_VALID") and result.detail == leaf.subject_text:
            reason += (
                f"（证书 {common_name(leaf.subject_text)} 有效期 {beijing(leaf.not_before)} 至 "
                f"{beijing(leaf.not_after)}，签名时间 {beijing(signer.signing_time)}）"
            )
        elif result.detail:
            reason += f"（{result.detail}）"
        reason += "。"
    data = {"chain": list(result.chain), "rootSm3": sm3(trust.root.der).hex()}
    return Check(f"{signer.role}_certificate_chain", result.valid, result.code, reason, data), result


def _revocation(signer: Signer, chain: ChainResult, trust: Trust, now: datetime.datetime) -> Check:
    name = f"{signer.role}_revocation"
    if not chain.valid:
        return Check(name, None, "NOT_CHECKED", "证书链未通过，未检查吊销状态。")
    if not trust.crls:
        return Check(name, None, "NOT_CHECKED", "未提供证书撤销列表（--crl），未检查吊销状态。")
    result = chain_verify(
        signer.certificate, at=signer.signing_time, root=trust.root, pool=trust.pool, crls=trust.crls, now=now
    )
    if result.valid:
        notes = "".join(_short_note(note) for note in result.notes)
        return Check(name, True, "OK", f"证书撤销列表中没有签名时已生效的吊销记录。{notes}")
    if result.code == "REVOKED" and result.revoked_at is not None:
        reason_text = REVOCATION_REASON_TEXT.get(result.revocation_reason, result.revocation_reason)
        text = (
            f"证书 {common_name(result.detail)} 已于 {beijing(result.revoked_at)} 吊销（原因：{reason_text}），"
            f"签名时间 {beijing(signer.signing_time)}。"
        )
        if result.revoked_at > signer.signing_time:
            text += "因密钥泄露而吊销的证书，其签名无论签名时间如何均不可信。"
        data = {"revokedAt": result.revoked_at.isoformat(), "reason": result.revocation_reason}
        return Check(name, False, "REVOKED", text, data)
    detail = f"（{result.detail}）" if result.detail else ""
    return Check(name, False, result.code, CHAIN_REASON[result.code] + detail)


def _role(signer: Signer, root: ET.Element) -> Check:
    name = f"{signer.role}_certificate_role"
    cert = signer.certificate
    cn, credit_code = cert.attribute("CN"), cert.attribute("serialNumber")
    is_seal = cn.endswith(SEAL_CN_SUFFIX) and not credit_code
    if signer.role == "unit":
        party_code = (root.findtext("EInvoiceData/Main/InvoicingParty/InvoicingPartyCode") or "").strip()
        if is_seal or not credit_code:
            return Check(name, False, "CERTIFICATE_ROLE_MISMATCH", f"单位签名使用的不是单位签名证书（{cn}）。")
        if credit_code != party_code:
            reason = (
                f"单位签名证书属于统一社会信用代码为 {credit_code} 的单位（{cn}），"
                f"与票据上的开票单位 {party_code} 不符。"
            )
            return Check(name, False, "CREDIT_CODE_MISMATCH", reason)
        return Check(name, True, "OK", f"单位签名证书主体（{cn}）的统一社会信用代码 {credit_code} 与开票单位一致。")
    region = cert.attribute("OU")
    receipt_code = (root.findtext("EInvoiceData/Main/EInvoiceCode") or "").strip()
    if not is_seal:
        return Check(name, False, "CERTIFICATE_ROLE_MISMATCH", f"财政监制签名使用的不是财政票据监制章证书（{cn}）。")
    if region[:2] != receipt_code[:2]:
        reason = f"监制章证书（{cn}）属于区划 {region}，不是票据所属省份（{receipt_code[:2]}）的财政部门。"
        return Check(name, False, "CERTIFICATE_ROLE_MISMATCH", reason)
    return Check(name, True, "OK", f"财政监制签名使用的是财政票据监制章证书（{cn}）。")


def receipt_verify(content: bytes, trust: Trust, now: datetime.datetime | None = None) -> Verdict:
    """Every check of docs/verification.md, in order; never raises for a bad file."""
    moment = now or datetime.datetime.now(UTC)
    verdict = Verdict(trust.description)
    file_check, xml, verdict.file_type = _file_type(content)
    verdict.checks.append(file_check)
    if xml is None:
        return verdict
    try:
        root = datafile_load(xml)
    except DataFileProblem as problem:
        if problem.code == "DATAFILE_SCHEMA_INVALID":
            verdict.checks.append(Check("well_formed", True, "OK", "XML 格式良好。"))
            verdict.checks.append(_problem_check("schema", problem))
        else:
            verdict.checks.append(_problem_check("well_formed", problem))
        return verdict
    verdict.checks.append(Check("well_formed", True, "OK", "XML 格式良好，UTF-8 编码，没有 DTD、实体引用或处理指令。"))
    problem = datafile_validate(root)
    if problem is None:
        reason = "符合数据文件结构（按 XSD 规则逐项检查）与一致性规则。"
        verdict.checks.append(Check("schema", True, "OK", reason))
    else:
        verdict.checks.append(_problem_check("schema", problem))
    canonical_check, signed = _canonical(xml, root)
    verdict.checks.append(canonical_check)
    signers: dict[str, Signer | None] = {}
    for role in ROLES:
        check, signers[role] = _signature(root, role, signed.get(role), trust)
        verdict.checks.append(check)
    chains: dict[str, ChainResult] = {}
    for role, signer in signers.items():
        if signer is None:
            verdict.checks.append(
                Check(f"{role}_certificate_chain", None, "NOT_CHECKED", f"{ROLE_LABEL[role]}没有可检查的证书。")
            )
        else:
            check, chains[role] = _chain(signer, trust, moment)
            verdict.checks.append(check)
    for role, signer in signers.items():
        if signer is None:
            verdict.checks.append(
                Check(f"{role}_revocation", None, "NOT_CHECKED", f"{ROLE_LABEL[role]}没有可检查的证书。")
            )
        else:
            verdict.checks.append(_revocation(signer, chains[role], trust, moment))
    for role, signer in signers.items():
        if signer is None:
            verdict.checks.append(
                Check(f"{role}_certificate_role", None, "NOT_CHECKED", f"{ROLE_LABEL[role]}没有可检查的证书。")
            )
        else:
            verdict.checks.append(_role(signer, root))
    remark = (root.findtext("EInvoiceData/Main/SupervisorRemark") or "").strip()
    if remark == SANDBOX_REMARK:
        reason = (
            f"联调测试票据，不是有效票据：数据文件的财政监制备注（SupervisorRemark）为“{SANDBOX_REMARK}”，"
            "该票据是接口单位联调测试时开具的，签名有效也不能作为票据使用"
            "（sandbox receipt issued in joint testing: not a valid receipt, whatever its signatures）。"
        )
        verdict.checks.append(Check("sandbox_receipt", False, "SANDBOX_RECEIPT", reason, {"supervisorRemark": remark}))
    verdict.summary = _summary(root)
    return verdict


# --- output -----------------------------------------------------------------------------------

_STATUS = {True: "通过", False: "失败", None: "未检查"}
_FILE_TYPES = {"xml": "XML 数据文件", "pdf": "PDF 版式文件"}


def verdict_text(verdict: Verdict, file: str) -> str:
    lines = [
        f"票据验证结果：{'有效（VALID）' if verdict.valid else '无效（INVALID）'}",
        f"文件：{file}（{_FILE_TYPES.get(verdict.file_type, '类型不明')}）",
        f"信任来源：{verdict.trust}",
        "",
        "检查项：",
    ]
    for check in verdict.checks:
        code = "" if check.ok else f" [{check.code}]"
        lines += [f"  [{_STATUS[check.ok]}] {check.name} {CHECK_TITLES[check.name]}{code}", f"      {check.reason}"]
    if verdict.summary is not None:
        summary = verdict.summary
        caveat = "" if verdict.valid else "（文件所载内容，验证未通过，不可采信）"
        lines += [
            "",
            f"票据信息{caveat}：",
            f"  票据种类：{summary['kindName']}",
            f"  票据代码：{summary['receiptCode']}  票据号码：{summary['number']}  校验码：{summary['checkCode']}",
            f"  开票日期：{summary['issueDate']} {summary['issueTime']}",
            f"  合计金额：{summary['totalAmount']} 元",
            f"  交款人：{summary['payerName']}",
            f"  开票单位：{summary['unitName']}（统一社会信用代码 {summary['unitCreditCode']}）",
        ]
    if not verdict.valid and verdict.failures:
        lines += ["", f"未通过的原因：{verdict.failures[0].reason}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="离线验证财政电子票据（XML 数据文件或 PDF 版式文件）。退出码：0 有效，1 无效，2 用法错误。"
    )
    parser.add_argument("file", help="票据文件：数据文件 einvoice.xml，或内含它的 PDF 版式文件")
    parser.add_argument("--root", required=True, help="受信任的根 CA 证书（PEM 或 DER）")
    parser.add_argument(
        "--certs",
        required=True,
        nargs="+",
        action="extend",
        metavar="PATH",
        help="单位签名证书、财政监制章证书与签发 CA 证书：文件或目录",
    )
    parser.add_argument(
        "--crl", nargs="+", action="extend", default=[], metavar="FILE", help="证书撤销列表（PEM 或 DER）"
    )
    parser.add_argument("--json", action="store_true", help="输出 JSON（机器可读）")
    options = parser.parse_args(argv)
    try:
        content = _read(Path(options.file))
        trust = trust_load(Path(options.root), [Path(p) for p in options.certs], [Path(p) for p in options.crl])
    except UsageError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_USAGE
    verdict = receipt_verify(content, trust)
    if options.json:
        print(json.dumps({"file": options.file, **verdict.as_dict()}, ensure_ascii=False, indent=2))
    else:
        print(verdict_text(verdict, options.file))
    return EXIT_VALID if verdict.valid else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
