"""The two signatures of a data file: the issuing unit's, then the finance supervision (财政监制).

Signing goes through callbacks, so this module never holds a key: ``signer(data) -> DER
signature`` and ``verify(data, signature) -> bool`` (for SM2-with-SM3, bind
zhongtai.signing.sm2.sign / verify to a key). What each signature covers is defined
in canonical.py and docs/signature.md.
"""

from __future__ import annotations

import base64
import datetime
import functools
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from lxml import etree

from issuance.datafile.canonical import (
    EXC_C14N_URI,
    ROLE_ORDER,
    XML_DECLARATION,
    SignatureRole,
    canonical_bytes,
    document_bytes,
    role_of,
    signature_of,
    signed_part,
    signed_part_bytes,
)
from issuance.datafile.errors import DataFileError, DataFileErrorCode
from issuance.datafile.formats import format_signing_time, parse_signing_time
from issuance.datafile.schema import _compiled_xpath, datafile_load, validate_signed_tree, validate_tree

# Fixed by schema version 1.0.0 (and by zhongtai.signing.sm2, whose constants these equal).
SIGNATURE_ALGORITHM = "SM2-with-SM3"
SIGNATURE_OID = "1.2.156.10197.1.501"
_HEX_RE = re.compile(r"[0-9A-Fa-f]+\Z")
_MAX_SERIAL_OCTETS = 20  # RFC 5280

Signer = Callable[[bytes], bytes]
Verifier = Callable[[bytes, bytes], bool]

# Signing is written as steps: a generator that yields each call to a signer or a verifier
# (a function of no arguments) and is sent back its result. Run alone, each call is made
# at once (:func:`_run`); run side by side, a batch makes its SM2 operations of one kind
# back to back (:func:`datafile_sign_and_supervise_many`).
_T = TypeVar("_T")
Steps = Generator[Callable[[], Any], Any, _T]


def _run(steps: Steps[_T]) -> _T:
    """Drive steps alone: each yielded call is made at once and its result sent back."""
    try:
        call = next(steps)
        while True:
            call = steps.send(call())
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


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
    return _signature_element_of(role, _normalise_serial(certificate_serial), _signing_time_text(signing_time), value)


def _signature_element_of(role: SignatureRole, serial: str, signing_time: str, value: bytes | None) -> etree._Element:
    element = etree.Element("Signature", Role=role.value)
    for tag, text in (
        ("SignatureAlgorithm", SIGNATURE_ALGORITHM),
        ("SignatureAlgorithmOID", SIGNATURE_OID),
        ("CanonicalizationMethod", EXC_C14N_URI),
        ("CertificateSerial", serial),
        ("SigningTime", signing_time),
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
    _check_ready_for(root, role)
    return root


def _check_ready_for(root: etree._Element, role: SignatureRole) -> None:
    present = [s.get("Role") for s in _compiled_xpath("Signatures/Signature")(root)]
    expected = [r.value for r in ROLE_ORDER[: ROLE_ORDER.index(role)]]
    if present != expected:
        raise DataFileError(
            DataFileErrorCode.SIGNATURE_STATE,
            f"a {role.value} signature is added to a document signed by [{', '.join(expected)}]; "
            f"this one is signed by [{', '.join(map(str, present))}]",
        )


def _append_signature(root: etree._Element, signature: etree._Element) -> None:
    signatures = root.find("Signatures")
    if signatures is None:
        signatures = etree.SubElement(root, "Signatures")
    signatures.append(signature)


def _check_signature_value(signature: object) -> bytes:
    if not isinstance(signature, bytes) or not signature:
        raise DataFileError(DataFileErrorCode.SIGNATURE_ARGUMENT, "the signature must be non-empty DER bytes")
    return signature


def _signed_document(root: etree._Element) -> bytes:
    """The document in normal form, checked again: the XSD and the order of its signatures.

    ``root`` passed :func:`validate_tree` before its new Signature was added, which
    changed nothing else, so the content rules are not run a second time.
    """
    signed = document_bytes(root)
    validate_signed_tree(datafile_load(signed))
    return signed


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
    return signed_part_bytes(root, role)


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
    _check_signature_value(signature)
    root = _load_for_signing(xml_bytes, role)
    _append_signature(
        root,
        _signature_element(
            role=role, certificate_serial=certificate_serial, signing_time=signing_time, value=signature
        ),
    )
    return _signed_document(root)


def _sign_steps(
    root: etree._Element,
    *,
    role: SignatureRole,
    signer: Signer,
    certificate_serial: str,
    signing_time: datetime.datetime,
) -> Steps[bytes]:
    """Sign a document already validated and ready for ``role`` (what the two-step API does in one pass)."""
    element = _signature_element(
        role=role, certificate_serial=certificate_serial, signing_time=signing_time, value=None
    )
    _append_signature(root, element)
    data = signed_part_bytes(root, role)
    value = _check_signature_value((yield lambda: signer(data)))
    etree.SubElement(element, "SignatureValue").text = base64.b64encode(value).decode("ascii")
    return _signed_document(root)


def datafile_sign(
    xml_bytes: bytes,
    *,
    role: SignatureRole | str,
    signer: Signer,
    certificate_serial: str,
    signing_time: datetime.datetime,
) -> bytes:
    """Sign in one step: :func:`datafile_bytes_to_sign`, ``signer``, :func:`datafile_add_signature`.

    The document is read and validated once, not once per step: the result is the same.
    """
    role = role_of(role)
    root = _load_for_signing(xml_bytes, role)
    return _run(
        _sign_steps(root, role=role, signer=signer, certificate_serial=certificate_serial, signing_time=signing_time)
    )


def datafile_verify_signature(xml_bytes: bytes, *, role: SignatureRole | str, verify: Verifier) -> SignatureCheck:
    """Check ``role``'s signature; never raises for a bad document, the answer says why it fails.

    ``verify(data, signature)`` is called with the canonical signed part and the DER
    signature, and must use the public key of the certificate named in the document
    (``datafile_parse(...).signature(role).certificate_serial``).
    """
    return _verify(xml_bytes, role_of(role), verify)[0]


def _verify(xml_bytes: bytes, role: SignatureRole, verify: Verifier) -> tuple[SignatureCheck, etree._Element | None]:
    """:func:`datafile_verify_signature`, and the validated document's root for the caller to go on with."""
    try:
        tree = datafile_load(xml_bytes)
        validate_tree(tree)
    except DataFileError as exc:
        outcome = (
            CheckOutcome.SIGNATURE_ORDER
            if exc.code is DataFileErrorCode.SIGNATURE_STATE
            else CheckOutcome.DOCUMENT_INVALID
        )
        return SignatureCheck(role, outcome, f"the document is refused: {exc.describe()}"), None
    root = tree.getroot()
    return _check_signature(root, role, verify), root


def _check_signature(root: etree._Element, role: SignatureRole, verify: Verifier) -> SignatureCheck:
    """``role``'s signature in a validated document against ``verify``."""
    return _run(_check_signature_steps(root, role, verify))


def _check_signature_steps(root: etree._Element, role: SignatureRole, verify: Verifier) -> Steps[SignatureCheck]:
    element = signature_of(root, role)
    if element is None:
        return SignatureCheck(role, CheckOutcome.SIGNATURE_MISSING, f"the document has no {role.value} signature")
    serial = element.findtext("CertificateSerial") or ""
    signing_time = parse_signing_time(element.findtext("SigningTime") or "")
    value = base64.b64decode(element.findtext("SignatureValue") or "", validate=True)
    data = canonical_bytes(signed_part(root, role))
    if not (yield lambda: verify(data, value)):
        return SignatureCheck(role, CheckOutcome.SIGNATURE_MISMATCH, _mismatch(role, serial), serial, signing_time)
    return SignatureCheck(role, CheckOutcome.VALID, "valid", serial, signing_time)


def _mismatch(role: SignatureRole, serial: str) -> str:
    covered = "the data, the unit signature and its own"
    if role is SignatureRole.UNIT:
        covered = "the data and its own"
    return (
        f"the {role.value} signature does not match the signed part (it covers {covered} "
        f"Signature fields): the document was altered after signing, or the key is not that "
        f"of certificate {serial}"
    )


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
    check, root = _verify(xml_bytes, SignatureRole.UNIT, unit_verify)
    if not check.valid:
        raise DataFileError(DataFileErrorCode.UNIT_SIGNATURE_INVALID, check.reason)
    assert root is not None  # a valid check comes with its document
    # The document read and validated for the check above is the one signed: not read a second time.
    return _run(
        _supervise_steps(
            root,
            number_is_unique=number_is_unique,
            signer=signer,
            certificate_serial=certificate_serial,
            signing_time=signing_time,
        )
    )


def _supervise_steps(
    root: etree._Element,
    *,
    number_is_unique: Callable[[str, int], bool],
    signer: Signer,
    certificate_serial: str,
    signing_time: datetime.datetime,
) -> Steps[bytes]:
    """The rest of :func:`datafile_supervise` once the unit signature is known to be valid."""
    _check_number(root, number_is_unique)
    _check_ready_for(root, SignatureRole.SUPERVISOR)
    return (
        yield from _sign_steps(
            root,
            role=SignatureRole.SUPERVISOR,
            signer=signer,
            certificate_serial=certificate_serial,
            signing_time=signing_time,
        )
    )


def _check_number(root: etree._Element, number_is_unique: Callable[[str, int], bool]) -> None:
    _require_unique(*_receipt_number(root), number_is_unique)


def _receipt_number(root: etree._Element) -> tuple[str, int]:
    """The receipt code and number a (schema-valid) data file names.

    Compiled XPath: ``findtext`` parses its path on every call (12 µs for the two here, 4 this way).
    """
    return (
        str(_compiled_xpath("string(EInvoiceData/Main/EInvoiceCode)")(root)),
        int(_compiled_xpath("string(EInvoiceData/Main/EInvoiceNumber)")(root) or "0"),
    )


def _require_unique(code: str, number: int, number_is_unique: Callable[[str, int], bool]) -> None:
    if not number_is_unique(code, number):
        raise DataFileError(
            DataFileErrorCode.NUMBER_NOT_UNIQUE, f"receipt {code}-{number:010d} is not unique; not supervised"
        )


@dataclass(frozen=True)
class SupervisedSigning:
    """One document of :func:`datafile_sign_and_supervise_many`: the arguments of
    :func:`datafile_sign_and_supervise`."""

    xml: bytes
    unit_signer: Signer
    unit_certificate_serial: str
    unit_verify: Verifier
    number_is_unique: Callable[[str, int], bool]
    signer: Signer
    certificate_serial: str
    signing_time: datetime.datetime


def datafile_sign_and_supervise(
    xml_bytes: bytes,
    *,
    unit_signer: Signer,
    unit_certificate_serial: str,
    unit_verify: Verifier,
    number_is_unique: Callable[[str, int], bool],
    signer: Signer,
    certificate_serial: str,
    signing_time: datetime.datetime,
) -> bytes:
    """Both signatures of an unsigned document in one pass, for a unit whose key the platform holds.

    The result, and the error of any refusal, are those of::

        datafile_supervise(
            datafile_sign(xml_bytes, role="unit", signer=unit_signer,
                          certificate_serial=unit_certificate_serial, signing_time=signing_time),
            unit_verify=unit_verify, number_is_unique=number_is_unique, signer=signer,
            certificate_serial=certificate_serial, signing_time=signing_time,
        )

    with the document read and validated (XSD and content rules) once, before the unit
    signs: the signatures are appended as fixed markup whose variable values are checked
    against the XSD's patterns, the unit signature is verified in memory, and nothing is
    written out and read back (decision 0013). This holds for input in the normal form,
    which ``receipt_xml_build`` writes; input in another form takes the two calls above.
    """
    return _run(
        _sign_and_supervise_steps(
            SupervisedSigning(
                xml=xml_bytes,
                unit_signer=unit_signer,
                unit_certificate_serial=unit_certificate_serial,
                unit_verify=unit_verify,
                number_is_unique=number_is_unique,
                signer=signer,
                certificate_serial=certificate_serial,
                signing_time=signing_time,
            )
        )
    )


def datafile_sign_and_supervise_many(documents: Sequence[SupervisedSigning]) -> list[bytes | Exception]:
    """:func:`datafile_sign_and_supervise` for many documents: each gets its signed bytes or its exception.

    The documents advance side by side: every unit signature of the batch is made, then
    every verification, then every supervision signature, each run of SM2 operations back
    to back instead of between XML work (the library's tables stay in the processor's
    cache, which is measurably faster). One document's failure does not stop the others.
    """
    results: list[bytes | Exception] = [b""] * len(documents)
    waiting: dict[int, tuple[Steps[bytes], Callable[[], Any]]] = {}

    def advance(index: int, steps: Steps[bytes], answer: Any, error: Exception | None) -> None:
        try:
            call = steps.throw(error) if error is not None else steps.send(answer)
        except StopIteration as done:
            results[index] = done.value
        except Exception as exc:
            results[index] = exc
        else:
            waiting[index] = (steps, call)

    for index, document in enumerate(documents):
        advance(index, _sign_and_supervise_steps(document), None, None)
    while waiting:
        batch = dict(waiting)
        waiting.clear()
        answers: dict[int, tuple[Any, Exception | None]] = {}
        for index, (_, call) in batch.items():  # this round's SM2 operations, back to back
            try:
                answers[index] = (call(), None)
            except Exception as exc:
                answers[index] = (None, exc)
        for index, (steps, _) in batch.items():
            advance(index, steps, *answers[index])
    return results


def _sign_and_supervise_steps(document: SupervisedSigning) -> Steps[bytes]:
    xml_bytes, signing_time = document.xml, document.signing_time
    root = _load_for_signing(xml_bytes, SignatureRole.UNIT)
    body = canonical_bytes(root)
    if XML_DECLARATION + body != bytes(xml_bytes):
        # Not in the normal form (indented, say): the two steps, which write the normal form.
        return datafile_supervise(
            datafile_sign(
                xml_bytes,
                role=SignatureRole.UNIT,
                signer=document.unit_signer,
                certificate_serial=document.unit_certificate_serial,
                signing_time=signing_time,
            ),
            unit_verify=document.unit_verify,
            number_is_unique=document.number_is_unique,
            signer=document.signer,
            certificate_serial=document.certificate_serial,
            signing_time=signing_time,
        )
    # In the normal form the document is its own canonical form, with no whitespace between
    # elements, and it has no Signatures element (no signature, as _load_for_signing checked, and
    # an empty Signatures is not schema-valid): adding the signatures appends
    # <Signatures><Signature …/>…</Signatures> before the end tag of EInvoice, and a signed
    # part is that with the SignatureValue of its own role (and any later Signature) left out.
    # So each signed part, and the signed document, is assembled from the validated bytes
    # (tests/issuance/test_datafile_signatures.py compares this with datafile_sign +
    # datafile_supervise byte for byte).
    #
    # The document was validated once above (XSD, content rules, no signature yet). It is not
    # validated again after each signature, nor read back: nothing of it changes but the two
    # Signature elements appended, whose markup is fixed here and whose four variable values
    # (serial, signing time, two signature values) are checked against the XSD's own patterns
    # by _SignatureFields and _value_markup. Both Signatures are in the order and with the
    # roles the schema and docs/signature.md require by construction. (decision 0013)
    # The tree is not needed past this point: what the number check needs is read now, so that a
    # chunk's trees are freed one by one instead of all living until their verifications.
    code, number = _receipt_number(root)
    del root
    unit = _SignatureFields.of(SignatureRole.UNIT, document.unit_certificate_serial, signing_time)
    data = body[: -len(_EINVOICE_END)] + b"<Signatures>" + unit.markup() + _SIGNATURES_END
    value = _check_signature_value((yield lambda: document.unit_signer(data)))
    unit_value = _value_markup(value)
    # datafile_supervise's check of the unit signature. Its signed part is ``data`` again: the
    # unit-signed document differs from it only by the SignatureValue, which the part leaves out.
    if not (yield lambda: document.unit_verify(data, value)):
        raise DataFileError(DataFileErrorCode.UNIT_SIGNATURE_INVALID, _mismatch(SignatureRole.UNIT, unit.serial))
    _require_unique(code, number, document.number_is_unique)
    supervisor = _SignatureFields.of(SignatureRole.SUPERVISOR, document.certificate_serial, signing_time)
    supervised = data[: -len(_SIGNATURES_END)] + unit_value + b"</Signature>" + supervisor.markup()
    supervised += _SIGNATURES_END
    supervisor_value = _check_signature_value((yield lambda: document.signer(supervised)))
    return XML_DECLARATION + supervised[: -len(_SIGNATURES_END)] + _value_markup(supervisor_value) + _SIGNATURES_END


_EINVOICE_END = b"</EInvoice>"
_SIGNATURES_END = b"</Signature></Signatures></EInvoice>"
# The patterns of the CertificateSerial and SigningTime types of docs/schema/einvoice-1.0.xsd
# (tests/issuance/test_datafile_signatures.py checks that they are still the XSD's).
_SERIAL_RE = re.compile(r"00|(0[1-9A-F]|[1-7][0-9A-F])([0-9A-F]{2}){0,19}|00[89A-F][0-9A-F]([0-9A-F]{2}){0,18}")
_TIME_RE = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\+08:00"
)


# The XSD's limit on a SignatureValue (its Base64 type): 400 characters, i.e. 300 octets. An SM2
# signature in DER is at most 72; the base64 of any bytes matches the type's pattern.
_MAX_SIGNATURE_BASE64 = 400


def _value_markup(value: bytes) -> bytes:
    """The SignatureValue element of ``value``, refused as the XSD would refuse it."""
    text = base64.b64encode(value)
    if len(text) > _MAX_SIGNATURE_BASE64:
        raise DataFileError(
            DataFileErrorCode.SCHEMA_INVALID,
            f"the signature value is {len(text)} base64 characters; the schema allows {_MAX_SIGNATURE_BASE64}",
            path="/EInvoice/Signatures/Signature/SignatureValue",
        )
    return b"<SignatureValue>" + text + b"</SignatureValue>"


@dataclass(frozen=True)
class _SignatureFields:
    """The fields of one Signature as written: role, normalised serial, signing time text."""

    role: SignatureRole
    serial: str
    signing_time: str

    @classmethod
    @functools.lru_cache(maxsize=64)  # the documents of a chunk share their signers and signing time
    def of(cls, role: SignatureRole, certificate_serial: str, signing_time: datetime.datetime) -> _SignatureFields:
        """The fields, refused as the XSD would refuse them (its patterns, as Python regexes)."""
        serial, text = _normalise_serial(certificate_serial), _signing_time_text(signing_time)
        for value, pattern, tag in ((serial, _SERIAL_RE, "CertificateSerial"), (text, _TIME_RE, "SigningTime")):
            if pattern.fullmatch(value) is None:
                raise DataFileError(
                    DataFileErrorCode.SCHEMA_INVALID,
                    f"{tag} {value!r} does not match the schema",
                    path=f"/EInvoice/Signatures/Signature/{tag}",
                )
        return cls(role, serial, text)

    def markup(self) -> bytes:
        """The canonical form of the Signature without its SignatureValue and its end tag.

        Every value is ASCII that C14N writes as it is: letters, digits and ``-.:/#+``.
        """
        return (
            f'<Signature Role="{self.role.value}">'
            f"<SignatureAlgorithm>{SIGNATURE_ALGORITHM}</SignatureAlgorithm>"
            f"<SignatureAlgorithmOID>{SIGNATURE_OID}</SignatureAlgorithmOID>"
            f"<CanonicalizationMethod>{EXC_C14N_URI}</CanonicalizationMethod>"
            f"<CertificateSerial>{self.serial}</CertificateSerial>"
            f"<SigningTime>{self.signing_time}</SigningTime>"
        ).encode("ascii")
