"""The unit signature and the finance supervision signature, with real SM2 (zhongtai.signing.sm2):
what each covers, that any change is detected with a clear reason, and the signing state machine."""

from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from issuance.datafile import (
    CheckOutcome,
    DataFileError,
    DataFileErrorCode,
    SignatureRole,
    datafile_add_signature,
    datafile_bytes_to_sign,
    datafile_parse,
    datafile_sign,
    datafile_sign_and_supervise,
    datafile_signed_bytes,
    datafile_supervise,
    datafile_verify_signature,
    receipt_xml_build,
)
from issuance.datafile import signatures as signatures_module
from issuance.datafile.formats import BEIJING
from issuance.datafile.schema import datafile_load, schema_path, validate_signed_tree, validate_tree
from tests.conftest import outpatient_payload
from tests.issuance.test_datafile_build import issued
from zhongtai.signing import sm2

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
UNIT_TIME = datetime.datetime(2026, 1, 5, 10, 15, 31, tzinfo=BEIJING)
SUPERVISOR_TIME = datetime.datetime(2026, 1, 5, 10, 15, 32, tzinfo=BEIJING)
UNIT_SERIAL = "7A3F0C21D4E5B6A8"
SUPERVISOR_SERIAL = "4300000000000000000001"


def signer(key: sm2.PrivateKey) -> Callable[[bytes], bytes]:
    return lambda data: sm2.sign(key, data)


def verifier(public_key: sm2.PublicKey) -> Callable[[bytes, bytes], bool]:
    return lambda data, signature: sm2.verify(public_key, data, signature)


def public_key(name: str) -> sm2.PublicKey:
    return sm2.public_key_from_pem((VECTORS / "keys" / f"{name}.public.pem").read_bytes())


# The published outpatient vector and its keys: no database needed.
VECTOR = (VECTORS / "02-outpatient" / "signed.xml").read_bytes()
VECTOR_VERIFY = {
    "unit": verifier(public_key("unit-430102001")),
    "supervisor": verifier(public_key("supervisor-430000")),
}


def checks(xml: bytes) -> dict[str, Any]:
    return {role: datafile_verify_signature(xml, role=role, verify=VECTOR_VERIFY[role]) for role in VECTOR_VERIFY}


@pytest.fixture(scope="module")
def unit_key() -> sm2.PrivateKey:
    return sm2.generate_private_key()


@pytest.fixture(scope="module")
def supervisor_key() -> sm2.PrivateKey:
    return sm2.generate_private_key()


@pytest.fixture
def unsigned(api: Any) -> bytes:
    return receipt_xml_build(issued(api, outpatient_payload()))


@pytest.fixture
def unit_signed(unsigned: bytes, unit_key: sm2.PrivateKey) -> bytes:
    return datafile_sign(
        unsigned, role="unit", signer=signer(unit_key), certificate_serial=UNIT_SERIAL, signing_time=UNIT_TIME
    )


@pytest.fixture
def signed(unit_signed: bytes, unit_key: sm2.PrivateKey, supervisor_key: sm2.PrivateKey) -> bytes:
    return datafile_supervise(
        unit_signed,
        unit_verify=verifier(sm2.public_key_of(unit_key)),
        number_is_unique=lambda code, number: True,
        signer=signer(supervisor_key),
        certificate_serial=SUPERVISOR_SERIAL,
        signing_time=SUPERVISOR_TIME,
    )


# --- signing an issued receipt ----------------------------------------------------------------


def test_an_issued_receipt_signed_by_unit_then_supervisor_verifies(
    signed: bytes, unit_key: sm2.PrivateKey, supervisor_key: sm2.PrivateKey
) -> None:
    # given a receipt issued through the API, signed by its unit and supervised by the platform
    # when both signatures are checked with the signers' public keys
    unit = datafile_verify_signature(signed, role="unit", verify=verifier(sm2.public_key_of(unit_key)))
    supervisor = datafile_verify_signature(
        signed, role=SignatureRole.SUPERVISOR, verify=verifier(sm2.public_key_of(supervisor_key))
    )
    # then both are valid and report their certificate and time
    assert unit.valid and unit.outcome is CheckOutcome.VALID
    assert (unit.certificate_serial, unit.signing_time) == (UNIT_SERIAL, UNIT_TIME)
    assert supervisor.valid
    assert (supervisor.certificate_serial, supervisor.signing_time) == (SUPERVISOR_SERIAL, SUPERVISOR_TIME)
    # and the document records algorithm, OID, canonicalisation, serial and time for each
    parsed = datafile_parse(signed)
    assert [(s.role, s.algorithm, s.algorithm_oid) for s in parsed.signatures] == [
        ("unit", sm2.SIGNATURE_ALGORITHM, sm2.SIGNATURE_OID),
        ("supervisor", sm2.SIGNATURE_ALGORITHM, sm2.SIGNATURE_OID),
    ]
    assert {s.canonicalization for s in parsed.signatures} == {"http://www.w3.org/2001/10/xml-exc-c14n#"}


def test_a_key_of_the_other_role_does_not_verify(signed: bytes, unit_key: sm2.PrivateKey) -> None:
    check = datafile_verify_signature(signed, role="supervisor", verify=verifier(sm2.public_key_of(unit_key)))
    assert check.outcome is CheckOutcome.SIGNATURE_MISMATCH
    assert "certificate 4300000000000000000001" in check.reason


def test_each_signer_signs_its_own_metadata_but_not_its_value(
    unsigned: bytes, unit_signed: bytes, signed: bytes
) -> None:
    # given the bytes the unit signed / then they hold its Signature without SignatureValue, and no supervisor
    unit_part = datafile_signed_bytes(signed, "unit")
    assert unit_part == datafile_bytes_to_sign(
        unsigned, role="unit", certificate_serial=UNIT_SERIAL, signing_time=UNIT_TIME
    )
    assert unit_part.endswith(
        b'<Signatures><Signature Role="unit"><SignatureAlgorithm>SM2-with-SM3</SignatureAlgorithm>'
        b"<SignatureAlgorithmOID>1.2.156.10197.1.501</SignatureAlgorithmOID>"
        b"<CanonicalizationMethod>http://www.w3.org/2001/10/xml-exc-c14n#</CanonicalizationMethod>"
        b"<CertificateSerial>7A3F0C21D4E5B6A8</CertificateSerial>"
        b"<SigningTime>2026-01-05T10:15:31+08:00</SigningTime></Signature></Signatures></EInvoice>"
    )
    # and the supervisor's bytes hold the whole unit signature, then its own without value
    supervisor_part = datafile_signed_bytes(signed, "supervisor")
    unit_value = datafile_parse(signed).signatures[0].value
    assert unit_part.split(b"<Signatures>")[0] == supervisor_part.split(b"<Signatures>")[0]
    assert supervisor_part.count(b"<SignatureValue>") == 1
    assert re.search(
        rb'<Signature Role="supervisor">.*<SigningTime>2026-01-05T10:15:32\+08:00</SigningTime></Signature>',
        supervisor_part,
    )
    assert b"<SignatureValue>" + base64.b64encode(unit_value) + b"</SignatureValue>" in supervisor_part
    # and a document the supervisor has not signed has no supervisor part yet
    with pytest.raises(DataFileError):
        datafile_signed_bytes(unit_signed, "supervisor")


def test_signing_does_not_change_the_data(unsigned: bytes, signed: bytes) -> None:
    assert signed.split(b"<Signatures>")[0] == unsigned.removesuffix(b"</EInvoice>")


@pytest.mark.parametrize(
    ("given", "written"),
    [("7a3f", "7A3F"), ("ab12", "00AB12"), ("0000AB12", "00AB12"), ("1", "01"), ("0A3F", "0A3F"), ("0", "00")],
)
def test_the_serial_is_written_as_openssl_prints_it(
    unsigned: bytes, unit_key: sm2.PrivateKey, given: str, written: str
) -> None:
    # given a serial in any case, with or without leading zeros
    xml = datafile_sign(
        unsigned, role="unit", signer=signer(unit_key), certificate_serial=given, signing_time=UNIT_TIME
    )
    # then the document holds the DER content octets in upper-case hex
    assert datafile_parse(xml).signatures[0].certificate_serial == written


def test_the_signing_time_is_written_in_beijing_time(unsigned: bytes, unit_key: sm2.PrivateKey) -> None:
    moment = datetime.datetime(2026, 1, 5, 2, 15, 31, 500000, tzinfo=datetime.UTC)
    xml = datafile_sign(unsigned, role="unit", signer=signer(unit_key), certificate_serial="1", signing_time=moment)
    assert b"<SigningTime>2026-01-05T10:15:31+08:00</SigningTime>" in xml


# --- the signing state machine ----------------------------------------------------------------


def test_the_supervisor_cannot_sign_before_the_unit(unsigned: bytes, supervisor_key: sm2.PrivateKey) -> None:
    with pytest.raises(DataFileError) as caught:
        datafile_sign(
            unsigned,
            role="supervisor",
            signer=signer(supervisor_key),
            certificate_serial=SUPERVISOR_SERIAL,
            signing_time=SUPERVISOR_TIME,
        )
    assert caught.value.code is DataFileErrorCode.SIGNATURE_STATE


def test_a_role_signs_once(unit_signed: bytes, signed: bytes, unit_key: sm2.PrivateKey) -> None:
    for document in (unit_signed, signed):
        with pytest.raises(DataFileError) as caught:
            datafile_sign(
                document, role="unit", signer=signer(unit_key), certificate_serial="1", signing_time=UNIT_TIME
            )
        assert caught.value.code is DataFileErrorCode.SIGNATURE_STATE


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"certificate_serial": "7A:3F"}, "hexadecimal"),
        ({"certificate_serial": ""}, "hexadecimal"),
        ({"certificate_serial": "8" + "0" * 39}, "20 octets"),
        ({"signing_time": datetime.datetime(2026, 1, 5, 10, 15, 31)}, "naive"),
        ({"signature": b""}, "non-empty"),
        ({"role": "auditor"}, "unknown signature role"),
    ],
)
def test_bad_signature_arguments_are_refused(unsigned: bytes, arguments: dict[str, Any], words: str) -> None:
    given: dict[str, Any] = {
        "role": "unit",
        "signature": b"0\x06\x02\x01\x01\x02\x01\x01",
        "certificate_serial": UNIT_SERIAL,
        "signing_time": UNIT_TIME,
    }
    with pytest.raises(DataFileError) as caught:
        datafile_add_signature(unsigned, **{**given, **arguments})
    assert caught.value.code is DataFileErrorCode.SIGNATURE_ARGUMENT
    assert words in caught.value.message


def test_datafile_signed_bytes_needs_the_signature_to_exist(unsigned: bytes) -> None:
    with pytest.raises(DataFileError, match="datafile_bytes_to_sign"):
        datafile_signed_bytes(unsigned, "unit")


def test_supervision_refuses_a_bad_unit_signature(
    unit_signed: bytes, unsigned: bytes, supervisor_key: sm2.PrivateKey
) -> None:
    # given the wrong key for the unit, or no unit signature at all
    for document in (unit_signed, unsigned):
        with pytest.raises(DataFileError) as caught:
            datafile_supervise(
                document,
                unit_verify=verifier(sm2.public_key_of(supervisor_key)),
                number_is_unique=lambda code, number: True,
                signer=signer(supervisor_key),
                certificate_serial=SUPERVISOR_SERIAL,
                signing_time=SUPERVISOR_TIME,
            )
        # then no supervision signature is made, and the reason says why
        assert caught.value.code is DataFileErrorCode.UNIT_SIGNATURE_INVALID
        assert "unit signature" in caught.value.message


def test_supervision_refuses_a_number_that_is_not_unique(
    unit_signed: bytes, unit_key: sm2.PrivateKey, supervisor_key: sm2.PrivateKey
) -> None:
    asked: list[tuple[str, int]] = []

    def number_is_unique(code: str, number: int) -> bool:
        asked.append((code, number))
        return False

    with pytest.raises(DataFileError) as caught:
        datafile_supervise(
            unit_signed,
            unit_verify=verifier(sm2.public_key_of(unit_key)),
            number_is_unique=number_is_unique,
            signer=signer(supervisor_key),
            certificate_serial=SUPERVISOR_SERIAL,
            signing_time=SUPERVISOR_TIME,
        )
    assert caught.value.code is DataFileErrorCode.NUMBER_NOT_UNIQUE
    parsed = datafile_parse(unit_signed)
    assert asked == [(parsed.receipt_code, parsed.number)]


# --- tampering, on the published vector ---------------------------------------------------------


def test_the_published_vector_verifies() -> None:
    assert all(check.valid for check in checks(VECTOR).values())


@pytest.mark.parametrize(
    ("old", "new", "unit_fails"),
    [
        ("<Department>内科<", "<Department>外科<", True),
        ("<PayerPartyName>李四<", "<PayerPartyName>李五<", True),
        ("<RandomNumber>a41d09<", "<RandomNumber>a41d08<", True),
        ("<ItemRemark>血常规<", "<ItemRemark>尿常规<", True),
        ("<IssueTime>10:15:30<", "<IssueTime>10:15:29<", True),
        ("<CertificateSerial>5B0D9E4F6A7C8D21<", "<CertificateSerial>5B0D9E4F6A7C8D22<", True),
        ("<SigningTime>2026-01-05T10:15:31+08:00<", "<SigningTime>2026-01-05T10:15:30+08:00<", True),
        (
            "<CertificateSerial>4300000000000000000001<",
            "<CertificateSerial>4300000000000000000002<",
            False,
        ),
        ("<SigningTime>2026-01-05T10:15:32+08:00<", "<SigningTime>2026-01-05T10:15:33+08:00<", False),
    ],
)
def test_a_changed_value_breaks_exactly_the_signatures_that_cover_it(old: str, new: str, unit_fails: bool) -> None:
    # given the published document with one value changed, still schema-valid
    assert VECTOR.count(old.encode()) == 1
    tampered = VECTOR.replace(old.encode(), new.encode())
    # when both signatures are checked
    result = checks(tampered)
    # then the supervisor signature (which covers everything but its own value) fails,
    # the unit's fails when the value is in its part, and the reason says what happened
    assert result["supervisor"].outcome is CheckOutcome.SIGNATURE_MISMATCH
    assert "altered after signing" in result["supervisor"].reason
    assert result["unit"].valid is not unit_fails
    if unit_fails:
        assert result["unit"].outcome is CheckOutcome.SIGNATURE_MISMATCH


def test_a_signature_value_from_another_document_does_not_verify() -> None:
    other = (VECTORS / "01-nontax" / "signed.xml").read_bytes()
    value = re.compile(rb'(<Signature Role="supervisor">.*?<SignatureValue>)([^<]+)(<)')
    transplanted = value.sub(lambda m: m.group(1) + value.search(other).group(2) + m.group(3), VECTOR)  # type: ignore[union-attr]
    assert transplanted != VECTOR
    result = checks(transplanted)
    assert result["unit"].valid
    assert result["supervisor"].outcome is CheckOutcome.SIGNATURE_MISMATCH


def test_every_single_byte_change_inside_the_document_is_detected() -> None:
    # given every byte between <EInvoice> and </EInvoice> of the published document, changed one at a time
    start = VECTOR.index(b"<EInvoice>")
    supervisor_start = VECTOR.index(b'<Signature Role="supervisor">')
    for position in range(start, len(VECTOR)):
        tampered = VECTOR[:position] + bytes([VECTOR[position] ^ 0x01]) + VECTOR[position + 1 :]
        result = checks(tampered)
        # then the supervisor signature always fails, the unit's whenever the byte is before the supervisor's part
        assert not result["supervisor"].valid, position
        assert result["supervisor"].reason
        if position < supervisor_start:
            assert not result["unit"].valid, position


def test_removing_the_supervisor_signature_leaves_the_unit_one() -> None:
    without = re.sub(rb'<Signature Role="supervisor">.*?</Signature>', b"", VECTOR)
    result = checks(without)
    assert result["unit"].valid
    assert result["supervisor"].outcome is CheckOutcome.SIGNATURE_MISSING
    assert result["supervisor"].reason == "the document has no supervisor signature"


def test_removing_the_unit_signature_fails_both() -> None:
    without = re.sub(rb'<Signature Role="unit">.*?</Signature>', b"", VECTOR)
    result = checks(without)
    assert {check.outcome for check in result.values()} == {CheckOutcome.SIGNATURE_ORDER}
    assert "the unit's, then the supervisor's" in result["supervisor"].reason


def test_removing_all_signatures_leaves_an_unsigned_document() -> None:
    without = re.sub(rb"<Signatures>.*</Signatures>", b"", VECTOR)
    assert {check.outcome for check in checks(without).values()} == {CheckOutcome.SIGNATURE_MISSING}


def test_reordering_the_signatures_fails_both() -> None:
    unit = re.search(rb'<Signature Role="unit">.*?</Signature>', VECTOR)
    supervisor = re.search(rb'<Signature Role="supervisor">.*?</Signature>', VECTOR)
    assert unit is not None and supervisor is not None
    swapped = VECTOR.replace(unit.group(0) + supervisor.group(0), supervisor.group(0) + unit.group(0))
    result = checks(swapped)
    assert {check.outcome for check in result.values()} == {CheckOutcome.SIGNATURE_ORDER}
    assert "found supervisor, unit" in result["unit"].reason


def test_a_document_that_is_not_a_data_file_gets_an_answer_not_an_exception() -> None:
    result = checks(b"<EInvoice>")
    assert {check.outcome for check in result.values()} == {CheckOutcome.DOCUMENT_INVALID}
    assert "DATAFILE_NOT_WELL_FORMED" in result["unit"].reason


# --- one pass (the pipeline's path) against the two steps ----------------------------------------


@pytest.mark.parametrize("name", ["01-nontax", "02-outpatient", "03-red"])
@pytest.mark.parametrize("indented", [False, True])
def test_one_pass_signs_what_a_verifier_recomputes_and_writes_what_the_two_steps_write(
    name: str, indented: bool, unit_key: sm2.PrivateKey, supervisor_key: sm2.PrivateKey
) -> None:
    # given a published unsigned document (escaped text, medical fields, a red receipt), as
    # published or indented
    unsigned = (VECTORS / name / "unsigned.xml").read_bytes()
    if indented:
        unsigned = etree.tostring(etree.fromstring(unsigned), pretty_print=True, xml_declaration=True, encoding="UTF-8")
    given: dict[str, bytes] = {}
    made: dict[str, bytes] = {}

    def signing(role: str, key: sm2.PrivateKey) -> Callable[[bytes], bytes]:
        def sign(data: bytes) -> bytes:
            given[role], made[role] = data, sm2.sign(key, data)
            return made[role]

        return sign

    # when it is signed in one pass with real SM2
    signed = datafile_sign_and_supervise(
        unsigned,
        unit_signer=signing("unit", unit_key),
        unit_certificate_serial=UNIT_SERIAL,
        unit_verify=verifier(sm2.public_key_of(unit_key)),
        number_is_unique=lambda code, number: True,
        signer=signing("supervisor", supervisor_key),
        certificate_serial=SUPERVISOR_SERIAL,
        signing_time=UNIT_TIME,
    )
    # then each signer was given exactly the signed part a verifier computes from the result
    assert given == {role: datafile_signed_bytes(signed, role) for role in ("unit", "supervisor")}
    assert datafile_verify_signature(signed, role="unit", verify=verifier(sm2.public_key_of(unit_key))).valid
    assert datafile_verify_signature(signed, role="supervisor", verify=verifier(sm2.public_key_of(supervisor_key)))
    # and the two steps, given the same signature values, write the same bytes
    unit_signed = datafile_sign(
        unsigned, role="unit", signer=lambda data: made["unit"], certificate_serial=UNIT_SERIAL, signing_time=UNIT_TIME
    )
    assert (
        datafile_supervise(
            unit_signed,
            unit_verify=verifier(sm2.public_key_of(unit_key)),
            number_is_unique=lambda code, number: True,
            signer=lambda data: made["supervisor"],
            certificate_serial=SUPERVISOR_SERIAL,
            signing_time=UNIT_TIME,
        )
        == signed
    )
    # and the result is in the normal form, with the data of the input
    declaration, body = signed.split(b"\n", 1)
    assert declaration == b'<?xml version="1.0" encoding="UTF-8"?>' and b"\n" not in body
    assert datafile_parse(signed).items == datafile_parse(unsigned).items


# --- one pass: validated once, the signatures' fields checked as the XSD checks them ----------


def _one_pass(unsigned: bytes, *, unit_value: bytes, supervisor_value: bytes, **fields: Any) -> bytes:
    arguments: dict[str, Any] = {
        "unit_certificate_serial": UNIT_SERIAL,
        "certificate_serial": SUPERVISOR_SERIAL,
        "signing_time": UNIT_TIME,
        **fields,
    }
    return datafile_sign_and_supervise(
        unsigned,
        unit_signer=lambda data: unit_value,
        unit_verify=lambda data, signature: signature == unit_value,
        number_is_unique=lambda code, number: True,
        signer=lambda data: supervisor_value,
        **arguments,
    )


def _two_steps(unsigned: bytes, *, unit_value: bytes, supervisor_value: bytes, **fields: Any) -> bytes:
    unit_serial = fields.get("unit_certificate_serial", UNIT_SERIAL)
    signing_time = fields.get("signing_time", UNIT_TIME)
    unit_signed = datafile_sign(
        unsigned, role="unit", signer=lambda data: unit_value, certificate_serial=unit_serial, signing_time=signing_time
    )
    return datafile_supervise(
        unit_signed,
        unit_verify=lambda data, signature: signature == unit_value,
        number_is_unique=lambda code, number: True,
        signer=lambda data: supervisor_value,
        certificate_serial=fields.get("certificate_serial", SUPERVISOR_SERIAL),
        signing_time=signing_time,
    )


NONTAX = (VECTORS / "01-nontax" / "unsigned.xml").read_bytes()


@pytest.mark.parametrize(
    ("fields", "unit_value", "supervisor_value"),
    [
        ({"unit_certificate_serial": "0", "certificate_serial": "1"}, b"\x30" * 8, b"\x30" * 72),
        ({"unit_certificate_serial": "80", "certificate_serial": "ff" * 19}, b"\x01", b"\xff" * 300),
        ({"unit_certificate_serial": "7f" + "ff" * 19, "certificate_serial": "00ab"}, b"\x00" * 71, b"+/" * 35),
        ({"signing_time": datetime.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC)}, b"a", b"b"),
    ],
    ids=["shortest-serials", "longest-serial-longest-value", "twenty-octet-serial", "year-end-in-beijing"],
)
def test_one_pass_writes_a_schema_valid_document_for_every_value_the_schema_allows(
    fields: dict[str, Any], unit_value: bytes, supervisor_value: bytes
) -> None:
    # given serials and signature values at the edges of what the XSD accepts
    # when the one pass signs (it validates the input only, not what it writes)
    signed = _one_pass(NONTAX, unit_value=unit_value, supervisor_value=supervisor_value, **fields)
    # then the two steps, which validate every document they write against the XSD, write the same bytes
    assert signed == _two_steps(NONTAX, unit_value=unit_value, supervisor_value=supervisor_value, **fields)
    # and the document passes the XSD and the content rules as read back
    validate_signed_tree(datafile_load(signed))
    validate_tree(datafile_load(signed))


@pytest.mark.parametrize(
    ("fields", "unit_value", "supervisor_value"),
    [
        ({}, b"\x30" * 301, b"\x30" * 70),
        ({}, b"\x30" * 70, b"\x30" * 301),
        ({"signing_time": datetime.datetime(999, 6, 1, 12, tzinfo=BEIJING)}, b"\x30" * 70, b"\x30" * 70),
    ],
    ids=["unit-value-too-long", "supervisor-value-too-long", "three-digit-year"],
)
def test_one_pass_refuses_what_the_schema_refuses_as_the_two_steps_do(
    fields: dict[str, Any], unit_value: bytes, supervisor_value: bytes
) -> None:
    # given a signature value or a signing time the XSD does not accept
    # when each path signs, then both refuse it as schema-invalid
    for path in (_one_pass, _two_steps):
        with pytest.raises(DataFileError) as refused:
            path(NONTAX, unit_value=unit_value, supervisor_value=supervisor_value, **fields)
        assert refused.value.code is DataFileErrorCode.SCHEMA_INVALID, path.__name__


def test_the_one_pass_field_patterns_are_the_schemas() -> None:
    # given the XSD's patterns of the two variable fields of a Signature
    xsd = etree.parse(str(schema_path()))
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}

    def pattern(type_name: str) -> str:
        return xsd.xpath(f"//xs:simpleType[@name='{type_name}']//xs:pattern/@value", namespaces=ns)[0]

    # then the one pass checks the same ones
    assert signatures_module._SERIAL_RE.pattern == pattern("CertificateSerial")
    assert signatures_module._TIME_RE.pattern == pattern("SigningTime")
