"""Offline verification of a receipt file: the data file (XML), or the layout file (PDF) carrying it.

:func:`receipt_file_verify` runs every check of docs/verification.md, in order, and returns a
:class:`Verdict`: valid or not, and for each check its English name, a stable code and the reason
in Chinese. It never raises for a bad file; a bad file is a verdict.

Trust comes from one of two places:

* :class:`FileTrust`: a root certificate, candidate certificates and CRLs given as files. This is
  how a reimbursing party or an auditor verifies (``manage.py verify_receipt --root --certs --crl``);
* :class:`DatabaseTrust`: the platform's own records, for operators: certificates by serial, the
  province's root CA, revocation as recorded, and the latest CRLs.

The data file names each signer's certificate only by its serial (``CertificateSerial``, the
OpenSSL form); certificates are matched by the integer value of the serial, so the store's
32-digit padded form and the data file's minimal form meet.

docs/verify_receipt.py performs the same checks, with the same names and codes, with Python and
tongsuopy only; the tests compare the two.

A sandbox receipt (联调测试票据) is never valid, whatever its signatures: the platform signs
what interface units issue while they test their integration, and writes
``SupervisorRemark = SANDBOX_REMARK`` into the signed data of each such receipt. Its verdict
carries one more check, ``sandbox_receipt``, which fails.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from asn1crypto import pem
from lxml import etree
from pypdf.errors import PyPdfError

from issuance.datafile import (
    EXC_C14N_URI,
    SIGNATURE_ALGORITHM,
    SIGNATURE_OID,
    DataFileError,
    DataFileErrorCode,
    SignatureRole,
    canonical_bytes,
    datafile_load,
    datafile_validate,
)
from issuance.datafile.builder import SANDBOX_REMARK
from issuance.datafile.canonical import XML_DECLARATION, signature_of, signed_part
from issuance.datafile.formats import BEIJING
from issuance.layout import LayoutFileError, pdf_extract_xml
from issuance.layout.attach import XML_FILENAME
from zhongtai.masterdata.models import Region
from zhongtai.signing import sm2
from zhongtai.signing import x509 as certs
from zhongtai.signing.errors import ChainFailure
from zhongtai.signing.models import Certificate
from zhongtai.signing.selectors import ca_certificates_der, ca_hierarchy_get

UTC = datetime.UTC


class CheckName(StrEnum):
    """The checks, in the order they run and are reported."""

    FILE_TYPE = "file_type"
    WELL_FORMED = "well_formed"
    SCHEMA = "schema"
    CANONICAL = "canonical"
    UNIT_SIGNATURE = "unit_signature"
    SUPERVISOR_SIGNATURE = "supervisor_signature"
    UNIT_CHAIN = "unit_certificate_chain"
    SUPERVISOR_CHAIN = "supervisor_certificate_chain"
    UNIT_REVOCATION = "unit_revocation"
    SUPERVISOR_REVOCATION = "supervisor_revocation"
    UNIT_ROLE = "unit_certificate_role"
    SUPERVISOR_ROLE = "supervisor_certificate_role"
    # Reported only for a sandbox receipt, and then failed.
    SANDBOX = "sandbox_receipt"


CHECK_TITLES: dict[str, str] = {
    CheckName.FILE_TYPE: "文件类型",
    CheckName.WELL_FORMED: "XML 格式与安全",
    CheckName.SCHEMA: "数据文件规范（XSD 与一致性规则）",
    CheckName.CANONICAL: "签名覆盖的规范化字节",
    CheckName.UNIT_SIGNATURE: "单位签名",
    CheckName.SUPERVISOR_SIGNATURE: "财政监制签名",
    CheckName.UNIT_CHAIN: "单位签名证书链",
    CheckName.SUPERVISOR_CHAIN: "财政监制章证书链",
    CheckName.UNIT_REVOCATION: "单位签名证书吊销状态",
    CheckName.SUPERVISOR_REVOCATION: "财政监制章证书吊销状态",
    CheckName.UNIT_ROLE: "单位签名证书用途",
    CheckName.SUPERVISOR_ROLE: "财政监制章证书用途",
    CheckName.SANDBOX: "联调测试票据",
}

# Without a CRL (or the platform's records) revocation cannot be checked; the verdict says so.
_MAY_BE_UNCHECKED = {CheckName.UNIT_REVOCATION, CheckName.SUPERVISOR_REVOCATION}
# Checks that appear only when they apply (and then fail): a production receipt has none of them.
_ONLY_WHEN_THEY_APPLY = {CheckName.SANDBOX}


class VerifyCode(StrEnum):
    """Codes of the verifier's own outcomes; the others are DataFileErrorCode and ChainFailure values."""

    OK = "OK"
    NOT_CHECKED = "NOT_CHECKED"
    FILE_UNSUPPORTED = "FILE_UNSUPPORTED"
    PDF_UNREADABLE = "PDF_UNREADABLE"
    PDF_NO_DATAFILE = "PDF_NO_DATAFILE"
    PDF_SEVERAL_DATAFILES = "PDF_SEVERAL_DATAFILES"
    SIGNATURE_MISSING = "SIGNATURE_MISSING"
    SIGNATURE_MALFORMED = "SIGNATURE_MALFORMED"
    SIGNATURE_MISMATCH = "SIGNATURE_MISMATCH"
    CERTIFICATE_NOT_FOUND = "CERTIFICATE_NOT_FOUND"
    ROOT_NOT_FOUND = "ROOT_NOT_FOUND"
    CERTIFICATE_ROLE_MISMATCH = "CERTIFICATE_ROLE_MISMATCH"
    CREDIT_CODE_MISMATCH = "CREDIT_CODE_MISMATCH"
    SANDBOX_RECEIPT = "SANDBOX_RECEIPT"


_DATAFILE_PROBLEM = {
    DataFileErrorCode.NOT_BYTES: "不是字节数据",
    DataFileErrorCode.TOO_LARGE: "文件超过 16 MiB",
    DataFileErrorCode.NOT_WELL_FORMED: "不是格式良好的 XML",
    DataFileErrorCode.FORBIDDEN_CONSTRUCT: "含有不允许的 DTD、实体引用或处理指令",
    DataFileErrorCode.NOT_UTF8: "编码不是 UTF-8",
    DataFileErrorCode.UNSUPPORTED_VERSION: "不支持的数据文件版本",
    DataFileErrorCode.SCHEMA_INVALID: "不符合数据文件 XSD",
    DataFileErrorCode.INCONSISTENT: "数据前后不一致（违反 XSD 之外的规则）",
    DataFileErrorCode.SIGNATURE_STATE: "签名的顺序或数量不对（应为单位签名在前、财政监制签名在后）",
}

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
# As in x509.chain_verify: a stolen key can sign with any claimed time.
_VOID_FROM_THE_START = {"key_compromise", "ca_compromise"}
SEAL_CN_SUFFIX = "财政票据监制章"
_SERIAL_RE = re.compile(r"[0-9A-Fa-f]{1,40}\Z")
_SIGNING_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00\Z")
_ROLE_LABEL = {SignatureRole.UNIT: "单位签名", SignatureRole.SUPERVISOR: "财政监制签名"}


@dataclass(frozen=True)
class _RoleChecks:
    signature: CheckName
    chain: CheckName
    revocation: CheckName
    role: CheckName


_CHECKS_OF = {
    SignatureRole.UNIT: _RoleChecks(
        CheckName.UNIT_SIGNATURE, CheckName.UNIT_CHAIN, CheckName.UNIT_REVOCATION, CheckName.UNIT_ROLE
    ),
    SignatureRole.SUPERVISOR: _RoleChecks(
        CheckName.SUPERVISOR_SIGNATURE,
        CheckName.SUPERVISOR_CHAIN,
        CheckName.SUPERVISOR_REVOCATION,
        CheckName.SUPERVISOR_ROLE,
    ),
}


# --- the verdict ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check: ``ok`` True (passed), False (failed) or None (not performed; ``reason`` says why)."""

    name: str
    ok: bool | None
    code: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return CHECK_TITLES.get(self.name, self.name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "ok": self.ok,
            "code": self.code,
            "reason": self.reason,
            "data": self.data,
        }


@dataclass(frozen=True)
class ReceiptSummary:
    """What the file says about the receipt (read before, and whatever, the verdict)."""

    kind_name: str
    receipt_code: str
    number: str
    check_code: str
    issue_date: str
    issue_time: str
    total_amount: str
    payer_name: str
    unit_name: str
    unit_credit_code: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kindName": self.kind_name,
            "receiptCode": self.receipt_code,
            "number": self.number,
            "checkCode": self.check_code,
            "issueDate": self.issue_date,
            "issueTime": self.issue_time,
            "totalAmount": self.total_amount,
            "payerName": self.payer_name,
            "unitName": self.unit_name,
            "unitCreditCode": self.unit_credit_code,
        }


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]
    trust: str
    file_type: str = ""  # "xml" or "pdf" once recognised
    summary: ReceiptSummary | None = None

    @property
    def valid(self) -> bool:
        """Every check ran and passed; only revocation may be unchecked (no CRL given)."""
        if any(check.ok is False for check in self.checks):
            return False
        by_name = {check.name: check for check in self.checks}
        for name in CheckName:
            check = by_name.get(name)
            if check is None:
                if name in _ONLY_WHEN_THEY_APPLY:
                    continue
                return False
            if check.ok is None and name not in _MAY_BE_UNCHECKED:
                return False
        return True

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.ok is False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "verdict": "有效" if self.valid else "无效",
            "fileType": self.file_type,
            "trust": self.trust,
            "checks": [check.as_dict() for check in self.checks],
            "receipt": self.summary.as_dict() if self.summary else None,
        }


# --- trust ------------------------------------------------------------------------------------


class TrustSource(Protocol):
    """Where the verifier gets the trust anchor, the signers' certificates and revocation data."""

    description: str
    # True when the source knows revocations without a CRL (the platform's records).
    keeps_records: bool

    def root_for(self, receipt_code: str) -> bytes | None: ...

    def certificates_with_serial(self, serial: int) -> list[bytes]: ...

    def intermediates(self) -> Sequence[bytes]: ...

    def revocation_lists(self) -> Sequence[bytes]: ...

    def recorded_revocations(self, serial: int) -> list[tuple[str, datetime.datetime, str]]: ...

    def recorded_role(self, serial: int) -> str | None: ...


class TrustFileError(ValueError):
    """A --root, --certs or --crl file that cannot be used (a usage error, not a verdict)."""


@dataclass(frozen=True)
class FileTrust:
    """Trust from files: exactly one root, any number of certificates (signers and CAs) and CRLs."""

    root_der: bytes
    certificates: tuple[bytes, ...]
    crls: tuple[bytes, ...] = ()
    description: str = "根证书文件"
    keeps_records: bool = False

    @cached_property
    def _parsed(self) -> list[certs.ParsedCertificate]:
        # An export holds every unit's certificate: parse them once, not once per lookup.
        return [certs.certificate_parse(der) for der in self.certificates]

    def root_for(self, receipt_code: str) -> bytes | None:
        return self.root_der

    def certificates_with_serial(self, serial: int) -> list[bytes]:
        return [parsed.der for parsed in self._parsed if parsed.serial == serial]

    def intermediates(self) -> Sequence[bytes]:
        # Only a CA can be a link of a chain; end-entity certificates would only slow path building.
        return [parsed.der for parsed in self._parsed if parsed.is_ca]

    def revocation_lists(self) -> Sequence[bytes]:
        return self.crls

    def recorded_revocations(self, serial: int) -> list[tuple[str, datetime.datetime, str]]:
        return []

    def recorded_role(self, serial: int) -> str | None:
        return None


_CERTIFICATE_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


def _der_blocks(data: bytes, labels: set[str]) -> list[bytes]:
    if pem.detect(data):
        return [bytes(der) for label, _, der in pem.unarmor(data, multiple=True) if label in labels]
    return [bytes(data)]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TrustFileError(f"无法读取文件 {path}：{exc.strerror}") from exc


def _certificates_in(path: Path, *, explicit: bool) -> list[bytes]:
    found = []
    for der in _der_blocks(_read(path), {"CERTIFICATE"}):
        try:
            certs.certificate_parse(der)
        except certs.CertificateFormatError:
            if explicit:
                raise TrustFileError(f"{path} 不是可读的 X.509 证书（PEM 或 DER）。") from None
            continue
        found.append(der)
    if explicit and not found:
        raise TrustFileError(f"{path} 中没有证书。")
    return found


def _crls_in(paths: Iterable[Path]) -> tuple[bytes, ...]:
    lists: list[bytes] = []
    for path in paths:
        blocks = _der_blocks(_read(path), {"X509 CRL"})
        if not blocks:
            raise TrustFileError(f"{path} 中没有证书撤销列表。")
        for der in blocks:
            try:
                certs.crl_parse(der)
            except certs.CertificateFormatError:
                raise TrustFileError(f"{path} 不是可读的证书撤销列表（CRL，PEM 或 DER）。") from None
        lists.extend(blocks)
    return tuple(lists)


def trust_from_files(*, root: Path, certificates: Iterable[Path], crls: Iterable[Path] = ()) -> FileTrust:
    """Load --root, --certs (files or directories) and --crl; TrustFileError for anything unusable.

    A directory contributes every certificate of its .pem/.crt/.cer/.der files and skips the
    rest (a CRL exported next to the certificates, for example).
    """
    roots = _certificates_in(root, explicit=True)
    if len(roots) != 1:
        raise TrustFileError(f"根证书文件 {root} 应只含一个证书，实际含 {len(roots)} 个。")
    pool: list[bytes] = []
    for path in certificates:
        if path.is_dir():
            files = sorted(item for item in path.iterdir() if item.suffix.lower() in _CERTIFICATE_SUFFIXES)
            for item in files:
                pool.extend(_certificates_in(item, explicit=False))
        elif path.exists():
            pool.extend(_certificates_in(path, explicit=True))
        else:
            raise TrustFileError(f"证书文件或目录 {path} 不存在。")
    if not pool:
        raise TrustFileError("--certs 中没有找到任何证书。")
    parsed_root = certs.certificate_parse(roots[0])
    return FileTrust(
        root_der=roots[0],
        certificates=tuple(dict.fromkeys(pool)),
        crls=_crls_in(crls),
        description=(
            f"根证书文件 {root}（{_common_name(parsed_root.subject_text)}，SM3 指纹 {sm2.sm3(roots[0]).hex()}）"
        ),
    )


@dataclass(frozen=True)
class DatabaseTrust:
    """The platform's records, for operators: no file needed, and the verdict says so.

    Revocation is taken from the records (and from ``crls`` when --crl is given too).
    """

    crls: tuple[bytes, ...] = ()
    description: str = "平台数据库（未提供 --root：本次验证信任本平台数据库中的根 CA、证书与吊销记录）"
    keeps_records: bool = True

    def root_for(self, receipt_code: str) -> bytes | None:
        province = Region.objects.filter(code=f"{receipt_code[:2]}0000", level=Region.Level.PROVINCE).first()
        hierarchy = ca_hierarchy_get(province=province) if province else None
        if hierarchy is None or hierarchy.root.certificate is None:
            return None
        return bytes(hierarchy.root.certificate.der)

    def _row(self, serial: int) -> Certificate | None:
        if not 0 < serial < 1 << 128:  # the store keeps 32 hex digits
            return None
        return Certificate.objects.filter(serial_number=certs.serial_to_hex(serial)).select_related("issued_by").first()

    def certificates_with_serial(self, serial: int) -> list[bytes]:
        row = self._row(serial)
        return [bytes(row.der)] if row is not None else []

    def intermediates(self) -> Sequence[bytes]:
        return ca_certificates_der()

    def revocation_lists(self) -> Sequence[bytes]:
        return self.crls

    def recorded_revocations(self, serial: int) -> list[tuple[str, datetime.datetime, str]]:
        """(subject, revoked at, reason) of every revoked certificate from ``serial`` up to the root."""
        found = []
        row = self._row(serial)
        while row is not None:
            if row.revoked_at is not None:
                found.append((row.subject, row.revoked_at, row.revocation_reason))
            row = row.issued_by
        return found

    def recorded_role(self, serial: int) -> str | None:
        row = self._row(serial)
        return row.role if row is not None else None


def trust_from_database(*, crls: Iterable[Path] = ()) -> DatabaseTrust:
    """The platform's records; with ``crls``, those CRLs are checked too (TrustFileError if unusable)."""
    return DatabaseTrust(crls=_crls_in(crls))


# --- the checks -------------------------------------------------------------------------------


def _beijing(moment: datetime.datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _common_name(subject_text: str) -> str:
    at = subject_text.rfind("CN=")
    return subject_text[at + 3 :] if at >= 0 else subject_text


def _file_type(content: bytes) -> tuple[Check, bytes | None, str]:
    """The data file to verify: the file itself, or the one einvoice.xml embedded in a PDF."""
    name = CheckName.FILE_TYPE
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return Check(name, True, VerifyCode.OK, f"XML 数据文件（{len(content)} 字节）。"), content, "xml"
    if b"%PDF-" not in content[:1024]:
        return Check(name, False, VerifyCode.FILE_UNSUPPORTED, "既不是 XML 数据文件，也不是 PDF 版式文件。"), None, ""
    try:
        xml = pdf_extract_xml(content)
    except LayoutFileError as exc:
        if isinstance(exc.__cause__, PyPdfError):
            return Check(name, False, VerifyCode.PDF_UNREADABLE, str(exc)), None, "pdf"
        reason = f"PDF 中有多个名为 {XML_FILENAME} 的附件，无法确定哪一个是签名的数据文件。"
        return Check(name, False, VerifyCode.PDF_SEVERAL_DATAFILES, reason), None, "pdf"
    except Exception as exc:  # pypdf raises many unrelated types for a damaged file
        return Check(name, False, VerifyCode.PDF_UNREADABLE, f"不是可读的 PDF 文件：{exc}"), None, "pdf"
    if xml is None:
        reason = f"PDF 中没有名为 {XML_FILENAME} 的数据文件附件，无法验证签名（版式文件本身不带签名）。"
        return Check(name, False, VerifyCode.PDF_NO_DATAFILE, reason), None, "pdf"
    reason = f"PDF 版式文件，内含唯一的数据文件附件 {XML_FILENAME}（{len(xml)} 字节）。"
    return Check(name, True, VerifyCode.OK, reason, {"xmlBytes": len(xml)}), xml, "pdf"


def _datafile_failure(name: str, exc: DataFileError) -> Check:
    problem = _DATAFILE_PROBLEM.get(exc.code, "数据文件不合规范")
    return Check(name, False, exc.code, f"{problem}：{exc.describe()}")


def _summary(root: etree._Element) -> ReceiptSummary:
    def text(path: str) -> str:
        return (root.findtext(path) or "").strip()

    date = text("EInvoiceData/Main/IssueDate")
    return ReceiptSummary(
        kind_name=text("EInvoiceData/Main/EInvoiceName"),
        receipt_code=text("EInvoiceData/Main/EInvoiceCode"),
        number=text("EInvoiceData/Main/EInvoiceNumber"),
        check_code=text("EInvoiceData/Main/RandomNumber"),
        issue_date=f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 else date,
        issue_time=text("EInvoiceData/Main/IssueTime"),
        total_amount=text("EInvoiceData/Main/TotalAmount"),
        payer_name=text("EInvoiceData/Main/PayerParty/PayerPartyName"),
        unit_name=text("EInvoiceData/Main/InvoicingParty/InvoicingPartyName"),
        unit_credit_code=text("EInvoiceData/Main/InvoicingParty/InvoicingPartyCode"),
    )


def _canonical(xml: bytes, root: etree._Element) -> tuple[Check, dict[SignatureRole, bytes]]:
    signed: dict[SignatureRole, bytes] = {}
    data: dict[str, Any] = {}
    parts = []
    for role in SignatureRole:
        if signature_of(root, role) is None:
            continue
        signed[role] = canonical_bytes(signed_part(root, role))
        digest = sm2.sm3(signed[role]).hex()
        data[f"{role.value}Bytes"] = len(signed[role])
        data[f"{role.value}Sm3"] = digest
        parts.append(f"{_ROLE_LABEL[role]}覆盖 {len(signed[role])} 字节（SM3 {digest[:16]}…）")
    normal = xml.lstrip(b"\xef\xbb\xbf") == XML_DECLARATION + canonical_bytes(root)
    data["normalForm"] = normal
    form = (
        "文件为平台写出的标准格式" if normal else "文件不是平台写出的标准格式（如经过缩进排版），签名按规范化字节验证"
    )
    covered = "；".join(parts) if parts else "文件中没有签名"
    reason = f"按 Exclusive XML C14N 1.0 计算签名部分：{covered}。{form}。"
    return Check(CheckName.CANONICAL, True, VerifyCode.OK, reason, data), signed


@dataclass(frozen=True)
class _Signer:
    role: SignatureRole
    serial: int
    signing_time: datetime.datetime
    certificate: certs.ParsedCertificate


def _signature(
    root: etree._Element, role: SignatureRole, signed: bytes | None, trust: TrustSource
) -> tuple[Check, _Signer | None]:
    name = _CHECKS_OF[role].signature
    label = _ROLE_LABEL[role]
    element = signature_of(root, role)
    if element is None or signed is None:
        return Check(name, False, VerifyCode.SIGNATURE_MISSING, f"数据文件中没有{label}。"), None
    algorithm = (
        element.findtext("SignatureAlgorithm"),
        element.findtext("SignatureAlgorithmOID"),
        element.findtext("CanonicalizationMethod"),
    )
    if algorithm != (SIGNATURE_ALGORITHM, SIGNATURE_OID, EXC_C14N_URI):
        reason = f"{label}的算法或规范化方法不受支持：{' / '.join(str(item) for item in algorithm)}。"
        return Check(name, False, VerifyCode.SIGNATURE_MALFORMED, reason), None
    serial_text = element.findtext("CertificateSerial") or ""
    time_text = element.findtext("SigningTime") or ""
    try:
        if not _SERIAL_RE.match(serial_text) or not _SIGNING_TIME_RE.match(time_text):
            raise ValueError
        serial = int(serial_text, 16)
        signing_time = datetime.datetime.fromisoformat(time_text)
        value = base64.b64decode(element.findtext("SignatureValue") or "", validate=True)
    except (ValueError, binascii.Error):
        reason = f"{label}的证书序列号、签名时间或签名值格式错误。"
        return Check(name, False, VerifyCode.SIGNATURE_MALFORMED, reason), None
    data: dict[str, Any] = {"certificateSerial": serial_text, "signingTime": time_text}
    candidates = [certs.certificate_parse(der) for der in trust.certificates_with_serial(serial)]
    if not candidates:
        reason = (
            f"找不到序列号为 {serial_text} 的证书，无法验证{label}"
            "（用 --certs 提供单位与监制章证书，或由平台运维人员在平台上验证）。"
        )
        return Check(name, False, VerifyCode.CERTIFICATE_NOT_FOUND, reason, data), None
    for candidate in candidates:
        try:
            public_key = candidate.public_key()
        except ValueError:
            continue
        if sm2.verify(public_key, signed, value):
            data["subject"] = candidate.subject_text
            reason = (
                f"{label}有效：用证书 {serial_text}（{_common_name(candidate.subject_text)}）的公钥验证通过，"
                f"签名时间 {_beijing(signing_time)}。"
            )
            return Check(name, True, VerifyCode.OK, reason, data), _Signer(role, serial, signing_time, candidate)
    covers = "全部数据与它自己的签名信息" if role is SignatureRole.UNIT else "全部数据、单位签名与它自己的签名信息"
    reason = f"{label}与数据不符（它覆盖{covers}）：文件在签名后被改动过，或签名不是证书 {serial_text} 的私钥所签。"
    data["subject"] = candidates[0].subject_text
    return (
        Check(name, False, VerifyCode.SIGNATURE_MISMATCH, reason, data),
        _Signer(role, serial, signing_time, candidates[0]),
    )


def _skipped(name: str, reason: str) -> Check:
    return Check(name, None, VerifyCode.NOT_CHECKED, reason)


def _chain_reason(verdict: certs.ChainVerdict, signer: _Signer) -> str:
    if verdict.valid:
        path = " → ".join(_common_name(subject) for subject in verdict.chain)
        return f"证书链有效：{path}；签名时间 {_beijing(signer.signing_time)} 时链上证书均在有效期内。"
    reason = verdict.reason.rstrip("。")
    leaf = signer.certificate
    if verdict.code in (ChainFailure.EXPIRED, ChainFailure.NOT_YET_VALID) and verdict.detail == leaf.subject_text:
        reason += (
            f"（证书 {_common_name(leaf.subject_text)} 有效期 {_beijing(leaf.not_before)} 至 "
            f"{_beijing(leaf.not_after)}，签名时间 {_beijing(signer.signing_time)}）"
        )
    elif verdict.detail:
        reason += f"（{verdict.detail}）"
    return reason + "。"


def _chain(
    signer: _Signer, root_der: bytes | None, trust: TrustSource, now: datetime.datetime
) -> tuple[Check, certs.ChainVerdict | None]:
    name = _CHECKS_OF[signer.role].chain
    if root_der is None:
        reason = "平台数据库中没有本省的根 CA 证书，无法检查证书链（请用 --root 指定根证书）。"
        return Check(name, False, VerifyCode.ROOT_NOT_FOUND, reason), None
    verdict = certs.chain_verify(
        signer.certificate.der,
        at=signer.signing_time,
        trusted_root_der=root_der,
        intermediates=trust.intermediates(),
        now=now,
    )
    data = {"chain": list(verdict.chain), "rootSm3": sm2.sm3(root_der).hex()}
    return Check(name, verdict.valid, verdict.code, _chain_reason(verdict, signer), data), verdict


def _revocation(
    signer: _Signer,
    chain: certs.ChainVerdict | None,
    root_der: bytes | None,
    trust: TrustSource,
    now: datetime.datetime,
) -> Check:
    name = _CHECKS_OF[signer.role].revocation
    if chain is None or root_der is None or not chain.valid:
        return _skipped(name, "证书链未通过，未检查吊销状态。")
    for subject, revoked_at, reason in trust.recorded_revocations(signer.serial):
        if revoked_at <= signer.signing_time or reason in _VOID_FROM_THE_START:
            text = (
                f"平台记录显示证书 {_common_name(subject)} 已于 {_beijing(revoked_at)} 吊销"
                f"（原因：{REVOCATION_REASON_TEXT.get(reason, reason)}），签名时间 {_beijing(signer.signing_time)}。"
            )
            return Check(
                name, False, ChainFailure.REVOKED, text, {"revokedAt": revoked_at.isoformat(), "reason": reason}
            )
    lists = trust.revocation_lists()
    if not lists:
        if not trust.keeps_records:
            return _skipped(name, "未提供证书撤销列表（--crl），未检查吊销状态。")
        return Check(name, True, VerifyCode.OK, "平台记录中该证书及其签发 CA 在签名时未被吊销。")
    verdict = certs.chain_verify(
        signer.certificate.der,
        at=signer.signing_time,
        trusted_root_der=root_der,
        intermediates=trust.intermediates(),
        crls=lists,
        now=now,
    )
    if verdict.valid:
        # The notes name certificates by full subject; the common name is enough here.
        notes = "".join(re.sub(r"“[^”]*CN=([^”]*)”", r"“\1”", note) for note in verdict.notes)
        return Check(name, True, VerifyCode.OK, f"证书撤销列表中没有签名时已生效的吊销记录。{notes}")
    if verdict.code is ChainFailure.REVOKED and verdict.revoked_at is not None:
        reason_text = REVOCATION_REASON_TEXT.get(verdict.revocation_reason, verdict.revocation_reason)
        text = (
            f"证书 {_common_name(verdict.detail)} 已于 {_beijing(verdict.revoked_at)} 吊销（原因：{reason_text}），"
            f"签名时间 {_beijing(signer.signing_time)}。"
        )
        if verdict.revoked_at > signer.signing_time:
            text += "因密钥泄露而吊销的证书，其签名无论签名时间如何均不可信。"
        data = {"revokedAt": verdict.revoked_at.isoformat(), "reason": verdict.revocation_reason}
        return Check(name, False, verdict.code, text, data)
    return Check(
        name, False, verdict.code, f"{verdict.reason}（{verdict.detail}）" if verdict.detail else verdict.reason
    )


def _subject_values(certificate: certs.ParsedCertificate) -> dict[str, str]:
    values = certificate.subject.native
    return {key: str(value) for key, value in values.items()} if isinstance(values, dict) else {}


def _role(signer: _Signer, root: etree._Element, trust: TrustSource) -> Check:
    name = _CHECKS_OF[signer.role].role
    subject = _subject_values(signer.certificate)
    common_name = subject.get("common_name", "")
    recorded = trust.recorded_role(signer.serial)
    is_seal = common_name.endswith(SEAL_CN_SUFFIX) and "serial_number" not in subject
    if signer.role is SignatureRole.UNIT:
        party_code = (root.findtext("EInvoiceData/Main/InvoicingParty/InvoicingPartyCode") or "").strip()
        credit_code = subject.get("serial_number", "")
        if is_seal or not credit_code or recorded not in (None, "unit_signature"):
            reason = f"单位签名使用的不是单位签名证书（{common_name}）。"
            return Check(name, False, VerifyCode.CERTIFICATE_ROLE_MISMATCH, reason)
        if credit_code != party_code:
            reason = (
                f"单位签名证书属于统一社会信用代码为 {credit_code} 的单位（{common_name}），"
                f"与票据上的开票单位 {party_code} 不符。"
            )
            return Check(name, False, VerifyCode.CREDIT_CODE_MISMATCH, reason)
        reason = f"单位签名证书主体（{common_name}）的统一社会信用代码 {credit_code} 与开票单位一致。"
        return Check(name, True, VerifyCode.OK, reason)
    region = subject.get("organizational_unit_name", "")
    receipt_code = (root.findtext("EInvoiceData/Main/EInvoiceCode") or "").strip()
    if not is_seal or recorded not in (None, "supervision_seal"):
        reason = f"财政监制签名使用的不是财政票据监制章证书（{common_name}）。"
        return Check(name, False, VerifyCode.CERTIFICATE_ROLE_MISMATCH, reason)
    if region[:2] != receipt_code[:2]:
        reason = f"监制章证书（{common_name}）属于区划 {region}，不是票据所属省份（{receipt_code[:2]}）的财政部门。"
        return Check(name, False, VerifyCode.CERTIFICATE_ROLE_MISMATCH, reason)
    return Check(name, True, VerifyCode.OK, f"财政监制签名使用的是财政票据监制章证书（{common_name}）。")


def receipt_file_verify(*, content: bytes, trust: TrustSource, now: datetime.datetime | None = None) -> Verdict:
    """Verify a receipt file (XML data file or PDF layout file) against ``trust``.

    ``now`` is the moment at which CRLs must be current (default: the present); certificates
    are checked at each signature's SigningTime.
    """
    moment = now or datetime.datetime.now(UTC)
    checks: list[Check] = []
    file_check, xml, file_type = _file_type(content)
    checks.append(file_check)
    if xml is None:
        return Verdict(tuple(checks), trust.description, file_type)
    try:
        root = datafile_load(xml).getroot()
    except DataFileError as exc:
        if exc.code is not DataFileErrorCode.SCHEMA_INVALID:
            checks.append(_datafile_failure(CheckName.WELL_FORMED, exc))
            return Verdict(tuple(checks), trust.description, file_type)
        checks.append(Check(CheckName.WELL_FORMED, True, VerifyCode.OK, "XML 格式良好。"))
        checks.append(_datafile_failure(CheckName.SCHEMA, exc))
        return Verdict(tuple(checks), trust.description, file_type)
    checks.append(
        Check(
            CheckName.WELL_FORMED,
            True,
            VerifyCode.OK,
            "XML 格式良好，UTF-8 编码，没有 DTD、实体引用或处理指令。",
        )
    )
    try:
        datafile_validate(xml)
        checks.append(Check(CheckName.SCHEMA, True, VerifyCode.OK, "符合数据文件 XSD 与一致性规则。"))
    except DataFileError as exc:
        # The signatures are still checked below, so that the verdict also says whether the
        # data was changed after signing; a document that fails here is never valid.
        checks.append(_datafile_failure(CheckName.SCHEMA, exc))
    canonical_check, signed = _canonical(xml, root)
    checks.append(canonical_check)
    signers: dict[SignatureRole, _Signer | None] = {}
    for role in SignatureRole:
        check, signers[role] = _signature(root, role, signed.get(role), trust)
        checks.append(check)
    root_der = trust.root_for((root.findtext("EInvoiceData/Main/EInvoiceCode") or "").strip())
    chains: dict[SignatureRole, certs.ChainVerdict | None] = {}
    for role, signer in signers.items():
        if signer is None:
            checks.append(_skipped(_CHECKS_OF[role].chain, f"{_ROLE_LABEL[role]}没有可检查的证书。"))
            continue
        check, chains[role] = _chain(signer, root_der, trust, moment)
        checks.append(check)
    for role, signer in signers.items():
        if signer is None:
            checks.append(_skipped(_CHECKS_OF[role].revocation, f"{_ROLE_LABEL[role]}没有可检查的证书。"))
            continue
        checks.append(_revocation(signer, chains[role], root_der, trust, moment))
    for role, signer in signers.items():
        if signer is None:
            checks.append(_skipped(_CHECKS_OF[role].role, f"{_ROLE_LABEL[role]}没有可检查的证书。"))
            continue
        checks.append(_role(signer, root, trust))
    sandbox = _sandbox(root)
    if sandbox is not None:
        checks.append(sandbox)
    return Verdict(tuple(checks), trust.description, file_type, _summary(root))


def _sandbox(root: etree._Element) -> Check | None:
    """A failed check for a sandbox receipt (its signed SupervisorRemark says so); None otherwise."""
    remark = (root.findtext("EInvoiceData/Main/SupervisorRemark") or "").strip()
    if remark != SANDBOX_REMARK:
        return None
    reason = (
        f"联调测试票据，不是有效票据：数据文件的财政监制备注（SupervisorRemark）为“{SANDBOX_REMARK}”，"
        "该票据是接口单位联调测试时开具的，签名有效也不能作为票据使用"
        "（sandbox receipt issued in joint testing: not a valid receipt, whatever its signatures）。"
    )
    return Check(CheckName.SANDBOX, False, VerifyCode.SANDBOX_RECEIPT, reason, {"supervisorRemark": remark})
