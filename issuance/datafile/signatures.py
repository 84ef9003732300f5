"""The two signatures of a data file: the issuing unit's, then the finance supervision (财政监制).

Signing goes through callbacks, so this module never holds a key: ``signer(data) -> DER
signature`` and ``verify(data, signature) -> bool`` (for SM2-with-SM3, bind
zhongtai.signing.sm2.sign / verify to a key). What each signature covers is defined
in canonical.py and docs/signature.md.
"""

from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

from issuance.datafile.canonical import (
    EXC_C14N_URI,
    ROLE_ORDER,
    SignatureRole,
    canonical_bytes,
    document_bytes,
    role_of,
    signature_of,
    signed_part,
)
from issuance.datafile.errors import DataFileError, DataFileErrorCode
from issuance.datafile.formats import format_signing_time, parse_signing_time
from issuance.datafile.schema import datafile_load, validate_tree

# Fixed by schema version 1.0.0 (and by zhongtai.signing.sm2, whose constants these equal).
SIGNATURE_ALGORITHM = "SM2-with-SM3"
SIGNATURE_OID = "1.2.156.10197.1.501"
_HEX_RE = re.compile(r"[0-9A-Fa-f]+\Z")
_MAX_SERIAL_OCTETS = 20  # RFC 5280

Signer = Callable[[bytes], bytes]
Verifier = Callable[[bytes, bytes], bool]


class CheckOutcome(StrEnum):
    VALID = "valid"
    DOCUMENT_INVALID = "document_invalid"  # not a well-formed, schema-valid, consistent data file
    SIGNATURE_MISSING = "signature_missing"
    SIGNATURE_ORDER = "signature_order"  # signatures present but not unit then supervisor
    SIGNATURE_MISMATCH = "signature_mismatch"  # the signature does not verify over the signed part


@dataclass(frozen=True)
class SignatureCheck:
    """The answer of :func:`datafile_verify_signature`: ``valid`` and, if not, why."""

    role: SignatureRole
    outcome: CheckOutcome
    reason: str
    certificate_serial: str = ""
    signing_time: datetime.datetime | None = None

    @property
    def valid(self) -> bool:
        return self.outcome is CheckOutcome.VALID

    def __bool__(self) -> bool:
        return self.valid


def _normalise_serial(certificate_serial: str) -> str:
    """The serial as the schema writes it: hex of its DER INTEGER content octets (openssl's -serial form)."""
    text = certificate_serial.strip() if isinstance(certificate_serial, str) else ""
    if not _HEX_RE.match(text):
        raise DataFileError(
            DataFileErrorCode.SIGNATURE_ARGUMENT,
            f"certificate serial must be hexadecimal digits (no separators), got {certificate_serial!r}",
        )
    value = int(text, 16)
    # Minimal two's complement of a non-negative integer: one more octet when the top bit would be set.
    octets = value.to_bytes(value.bit_length() // 8 + 1, "big")
    if len(octets) > _MAX_SERIAL_OCTETS:
        raise DataFileError(DataFileErrorCode.SIGNATURE_ARGUMENT, "certificate serial is longer than 20 octets")
    return octets.hex().upper()


def _signing_time_text(signing_time: datetime.datetime) -> str:
    try:
        return format_signing_time(signing_time)
    except ValueError as exc:
        raise DataFileError(DataFileErrorCode.SIGNATURE_ARGUMENT, f"signing time: {exc}") from exc


def _signature_element(
    *, role: SignatureRole, certificate_serial: str, signing_time: datetime.datetime, value: bytes | None
) -> etree._Element:
    element = etree.Element("Signature", Role=role.value)
    for tag, text in (
        ("SignatureAlgorithm", SIGNATURE_ALGORITHM),
        ("SignatureAlgorithmOID", SIGNATURE_OID),
        ("CanonicalizationMethod", EXC_C14N_URI),
        ("CertificateSerial", _normalise_serial(certificate_serial)),
        ("SigningTime", _signing_time_text(signing_time)),
    ):
        etree.SubElement(element, tag).text = text
    if value is not None:
        etree.SubElement(element, "SignatureValue").text = base64.b64encode(value).decode("ascii")
    return element


def _load_for_signing(xml_bytes: bytes, role: SignatureRole) -> etree._Element:
    """A valid document that is ready for ``role``'s signature: exactly the earlier signatures present."""
    tree = datafile_load(xml_bytes)
    validate_tree(tree)
    root = tree.getroot()
    present = [s.get("Role") for s in root.iterfind("Signatures/Signature")]
    expected = [r.value for r in ROLE_ORDER[: ROLE_ORDER.index(role)]]
    if present != expected:
        raise DataFileError(
            DataFileErrorCode.SIGNATURE_STATE,
            f"a {role.value} signature is added to a document signed by [{', '.join(expected)}]; "
            f"this one is signed by [{', '.join(map(str, present))}]",
        )
    return root


def _append_signature(root: etree._Element, signature: etree._Element) -> None:
    signatures = root.find("Signatures")
    if signatures is None:
        signatures = etree.SubElement(root, "Signatures")
    signatures.append(signature)


def datafile_bytes_to_sign(
    xml_bytes: bytes, *, role: SignatureRole | str, certificate_serial: str, signing_time: datetime.datetime
) -> bytes:
    """The bytes ``role`` signs: the document validated, with its Signature to be (without value)."""
    role = role_of(role)
    root = _load_for_signing(xml_bytes, role)
    _append_signature(
        root,
        _signature_element(role=role, certificate_serial=certificate_serial, signing_time=signing_time, value=None),
    )
    return canonical_bytes(signed_part(root, role))


def datafile_add_signature(
    xml_bytes: bytes,
    *,
    role: SignatureRole | str,
    signature: bytes,
    certificate_serial: str,
    signing_time: datetime.datetime,
) -> bytes:
    """The document with ``role``'s Signature appended, in the platform's normal form.

    ``certificate_serial`` and ``signing_time`` must be the ones given to
    :func:`datafile_bytes_to_sign`: they are part of what was signed. The signature
    is not verified here (no key); :func:`datafile_verify_signature` does that.
    """
    role = role_of(role)
    if not isinstance(signature, bytes) or not signature:
        raise DataFileError(DataFileErrorCode.SIGNATURE_ARGUMENT, "the signature must be non-empty DER bytes")
    root = _load_for_signing(xml_bytes, role)
    _append_signature(
        root,
        _signature_element(
            role=role, certificate_serial=certificate_serial, signing_time=signing_time, value=signature
        ),
    )
    signed = document_bytes(root)
    validate_tree(datafile_load(signed))
    return signed


def datafile_sign(
    xml_bytes: bytes,
    *,
    role: SignatureRole | str,
    signer: Signer,
    certificate_serial: str,
    signing_time: datetime.datetime,
) -> bytes:
    """Sign in one step: :func:`datafile_bytes_to_sign`, ``signer``, :func:`datafile_add_signature`."""
    data = datafile_bytes_to_sign(
        xml_bytes, role=role, certificate_serial=certificate_serial, signing_time=signing_time
    )
    return datafile_add_signature(
        xml_bytes, role=role, signature=signer(data), certificate_serial=certificate_serial, signing_time=signing_time
    )


def datafile_verify_signature(xml_bytes: bytes, *, role: SignatureRole | str, verify: Verifier) -> SignatureCheck:
    """Check ``role``'s signature; never raises for a bad document, the answer says why it fails.

    ``verify(data, signature)`` is called with the canonical signed part and the DER
    signature, and must use the public key of the certificate named in the document
    (``datafile_parse(...).signature(role).certificate_serial``).
    """
    role = role_of(role)
    try:
        tree = datafile_load(xml_bytes)
        validate_tree(tree)
    except DataFileError as exc:
        outcome = (
            CheckOutcome.SIGNATURE_ORDER
            if exc.code is DataFileErrorCode.SIGNATURE_STATE
            else CheckOutcome.DOCUMENT_INVALID
        )
        return SignatureCheck(role, outcome, f"the document is refused: {exc.describe()}")
    root = tree.getroot()
    element = signature_of(root, role)
    if element is None:
        return SignatureCheck(role, CheckOutcome.SIGNATURE_MISSING, f"the document has no {role.value} signature")
    serial = element.findtext("CertificateSerial") or ""
    signing_time = parse_signing_time(element.findtext("SigningTime") or "")
    value = base64.b64decode(element.findtext("SignatureValue") or "", validate=True)
    data = canonical_bytes(signed_part(root, role))
    if not verify(data, value):
        covered = "the data, the unit signature and its own"
        if role is SignatureRole.UNIT:
            covered = "the data and its own"
        return SignatureCheck(
            role,
            CheckOutcome.SIGNATURE_MISMATCH,
            f"the {role.value} signature does not match the signed part (it covers {covered} "
            f"Signature fields): the document was altered after signing, or the key is not that "
            f"of certificate {serial}",
            serial,
            signing_time,
        )
    return SignatureCheck(role, CheckOutcome.VALID, "valid", serial, signing_time)


def datafile_supervise(
    xml_bytes: bytes,
    *,
    unit_verify: Verifier,
    number_is_unique: Callable[[str, int], bool],
    signer: Signer,
    certificate_serial: str,
    signing_time: datetime.datetime,
) -> bytes:
    """The platform's step: check the unit signature and the number, then add the supervision signature.

    ``number_is_unique(receipt_code, number)`` answers whether that pair belongs to
    this receipt and to no other. Raises DataFileError when a check fails.
    """
    check = datafile_verify_signature(xml_bytes, role=SignatureRole.UNIT, verify=unit_verify)
    if not check.valid:
        raise DataFileError(DataFileErrorCode.UNIT_SIGNATURE_INVALID, check.reason)
    root = datafile_load(xml_bytes).getroot()
    code = root.findtext("EInvoiceData/Main/EInvoiceCode") or ""
    number = int(root.findtext("EInvoiceData/Main/EInvoiceNumber") or "0")
    if not number_is_unique(code, number):
        raise DataFileError(
            DataFileErrorCode.NUMBER_NOT_UNIQUE, f"receipt {code}-{number:010d} is not unique; not supervised"
        )
    return datafile_sign(
        xml_bytes,
        role=SignatureRole.SUPERVISOR,
        signer=signer,
        certificate_serial=certificate_serial,
        signing_time=signing_time,
    )
