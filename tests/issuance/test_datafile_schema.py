"""The XSD (docs/schema/einvoice-1.0.xsd) and the rules beside it refuse broken documents with a
clear message, line and path; the parser refuses DTDs, entities and processing instructions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from issuance.datafile import DataFileError, DataFileErrorCode, datafile_parse, datafile_validate, schema_path
from issuance.datafile.formats import ext_element_name
from zhongtai.masterdata.kind_fields import KIND_FIELDS

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
UNSIGNED = (VECTORS / "02-outpatient" / "unsigned.xml").read_bytes()
SIGNED = (VECTORS / "02-outpatient" / "signed.xml").read_bytes()
RED = (VECTORS / "03-red" / "unsigned.xml").read_bytes()
XS = "{http://www.w3.org/2001/XMLSchema}"


def refused(xml: bytes, code: DataFileErrorCode) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        datafile_validate(xml)
    assert caught.value.code is code, caught.value
    return caught.value


def replaced(xml: bytes, old: str, new: str, document: bytes | None = None) -> bytes:
    source = document if document is not None else xml
    assert source.count(old.encode()) == 1, old
    return source.replace(old.encode(), new.encode())


def pretty(xml: bytes) -> bytes:
    """The document indented, one element per line, so that errors have distinct lines."""
    tree = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    return etree.tostring(tree, pretty_print=True, xml_declaration=True, encoding="UTF-8")


# --- valid documents --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["01-nontax", "02-outpatient", "03-red"])
@pytest.mark.parametrize("stage", ["unsigned.xml", "unit-signed.xml", "signed.xml"])
def test_every_published_vector_is_valid(name: str, stage: str) -> None:
    datafile_validate((VECTORS / name / stage).read_bytes())


def test_indentation_between_elements_is_allowed() -> None:
    datafile_validate(pretty(SIGNED))


# --- the XSD ------------------------------------------------------------------------------------


def test_a_missing_required_element_is_refused_with_line_and_path() -> None:
    # given the indented document without RandomNumber (the check code)
    xml = re.sub(rb"\s*<RandomNumber>[0-9a-f]{6}</RandomNumber>", b"", pretty(UNSIGNED))
    # then validation names the element that came instead, its line and its path
    error = refused(xml, DataFileErrorCode.SCHEMA_INVALID)
    assert "EInvoiceSpecimenCode" in error.message and "RandomNumber" in error.message
    assert error.line == 13  # declaration, EInvoice, Header and its 3 children, /Header, EInvoiceData, Main, 3 more
    assert error.path == "/EInvoice/EInvoiceData/Main/EInvoiceSpecimenCode"
    assert str(error).startswith("DATAFILE_SCHEMA_INVALID: line 13, /EInvoice/EInvoiceData/Main/EInvoiceSpecimenCode:")


@pytest.mark.parametrize("amount", ["79.7", "79.690", "079.69", "-0.00", "79,69", "+79.69", " 79.69", "7.969E1"])
def test_a_badly_written_amount_is_refused(amount: str) -> None:
    error = refused(
        replaced(UNSIGNED, "<TotalAmount>79.69<", f"<TotalAmount>{amount}<"), DataFileErrorCode.SCHEMA_INVALID
    )
    assert "TotalAmount" in error.message
    assert error.path == "/EInvoice/EInvoiceData/Main/TotalAmount"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<ItemStd>12.3456<", "<ItemStd>12.34560<"),  # trailing zero noise
        ("<ItemStd>25.00<", "<ItemStd>25<"),
        ("<ItemStd>25.00<", "<ItemStd>-25.00<"),
        ("<ItemQuantity>2<", "<ItemQuantity>2.0<"),
        ("<ItemQuantity>2<", "<ItemQuantity>0<"),
        ("<EInvoiceNumber>0000000123<", "<EInvoiceNumber>123<"),
        ("<EInvoiceNumber>0000000123<", "<EInvoiceNumber>0000000000<"),
        ("<RandomNumber>a41d09<", "<RandomNumber>A41D09<"),
        ("<IssueDate>20260105<", "<IssueDate>2026-01-05<"),
        ("<IssueTime>10:15:30<", "<IssueTime>10:15<"),
        ("<PayerPartyType>1<", "<PayerPartyType>3<"),
        ("<InvoicingPartyCode>12430102MB0K7N8P2Q<", "<InvoicingPartyCode>12430102MB0K7N8P2O<"),
        ("<Department>内科<", "<Department> 内科<"),
        ("<Department>内科<", "<Department>内科\t<"),
        ("<Department>内科<", "<Department><"),
        ("<CurrencyType>CNY<", "<CurrencyType>cny<"),
    ],
)
def test_values_outside_their_type_are_refused(old: str, new: str) -> None:
    refused(replaced(UNSIGNED, old, new), DataFileErrorCode.SCHEMA_INVALID)


def test_element_order_is_part_of_the_schema() -> None:
    swapped = replaced(
        UNSIGNED, "<EInvoiceCode>43060126</EInvoiceCode><EInvoiceNumber>0000000123</EInvoiceNumber>", ""
    ).replace(
        b"<RandomNumber>",
        b"<EInvoiceNumber>0000000123</EInvoiceNumber><EInvoiceCode>43060126</EInvoiceCode><RandomNumber>",
    )
    refused(swapped, DataFileErrorCode.SCHEMA_INVALID)


def test_unknown_elements_and_attributes_are_refused() -> None:
    refused(
        replaced(UNSIGNED, "<CurrencyType>", "<Cashier>x</Cashier><CurrencyType>"), DataFileErrorCode.SCHEMA_INVALID
    )
    refused(replaced(UNSIGNED, "<Main>", '<Main id="1">'), DataFileErrorCode.SCHEMA_INVALID)


def test_text_between_elements_is_refused() -> None:
    refused(replaced(UNSIGNED, "<Details>", "<Details>note"), DataFileErrorCode.SCHEMA_INVALID)


def test_a_namespaced_root_is_refused() -> None:
    error = refused(replaced(UNSIGNED, "<EInvoice>", '<EInvoice xmlns="urn:x">'), DataFileErrorCode.SCHEMA_INVALID)
    assert "EInvoice" in error.message


def test_an_unknown_version_is_refused_as_unsupported() -> None:
    error = refused(replaced(UNSIGNED, "<Version>1.0.0<", "<Version>1.1.0<"), DataFileErrorCode.UNSUPPORTED_VERSION)
    assert "1.1.0" in error.message
    refused(replaced(UNSIGNED, "<Version>1.0.0<", "<Version>1.0.0 <"), DataFileErrorCode.UNSUPPORTED_VERSION)


def test_two_signatures_of_one_role_are_refused() -> None:
    unit = re.search(rb'<Signature Role="unit">.*?</Signature>', SIGNED)
    assert unit is not None
    doubled = SIGNED.replace(rb'<Signature Role="supervisor">', unit.group(0) + b'<Signature Role="supervisor">')
    refused(doubled, DataFileErrorCode.SCHEMA_INVALID)
    only_units = re.sub(rb'<Signature Role="supervisor">.*?</Signature>', unit.group(0), SIGNED)
    error = refused(only_units, DataFileErrorCode.SCHEMA_INVALID)
    assert "OneSignaturePerRole" in error.message


def test_the_schema_declares_exactly_the_kind_fields_in_registry_order() -> None:
    # given the XSD / then MainExt declares every KIND_FIELDS entry, in order, with its length and type
    schema = etree.parse(str(schema_path()))
    ext_type = schema.find(f"{XS}complexType[@name='MainExtType']")
    assert ext_type is not None
    declared = [(e.get("name"), e.get("type")) for e in ext_type.iter(f"{XS}element")]
    expected_types = {"date": "Date8", "money": "Amount", "int": "Count"}
    assert declared[: len(KIND_FIELDS)] == [
        (ext_element_name(name), expected_types.get(spec.type, f"Line{spec.max_length}"))
        for name, spec in KIND_FIELDS.items()
    ]
    assert [name for name, _ in declared[len(KIND_FIELDS) :]] == [
        "RelatedInvoiceCode",
        "RelatedInvoiceNumber",
        "PayCode",
    ]


# --- rules beside the XSD -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("<EInvoiceID>430601260000000123<", "<EInvoiceID>430601260000000124<", "EInvoiceID"),
        ("<EInvoiceTag>CZ-EI-43<", "<EInvoiceTag>CZ-EI-32<", "EInvoiceTag"),
        ("<SupervisorAreaCode>430102<", "<SupervisorAreaCode>320102<", "SupervisorAreaCode"),
        ("<InvoicingPartyCode>12430102MB0K7N8P2Q<", "<InvoicingPartyCode>12430102MB0K7N8P2R<", "校验位"),
        ("<TotalAmount>79.69<", "<TotalAmount>79.70<", "add up to 79.69"),
        ("<VisitDate>20260105<", "<VisitDate>20260230<", "calendar date"),
        ("<IssueDate>20260105<", "<IssueDate>20250229<", "calendar date"),
    ],
)
def test_inconsistent_documents_are_refused(old: str, new: str, words: str) -> None:
    error = refused(replaced(UNSIGNED, old, new), DataFileErrorCode.INCONSISTENT)
    assert words in error.message
    assert error.path.startswith("/EInvoice/")


def test_a_red_receipt_must_name_its_original_and_only_a_red_one_may() -> None:
    without_original = re.sub(rb"<MainExt>.*?</MainExt>", b"", RED)
    assert b"negative total" in refused(without_original, DataFileErrorCode.INCONSISTENT).message.encode()
    half = replaced(RED, "<RelatedInvoiceNumber>0000001024</RelatedInvoiceNumber>", "")
    refused(half, DataFileErrorCode.INCONSISTENT)
    blue_with_original = replaced(
        UNSIGNED,
        "</MainExt>",
        "<RelatedInvoiceCode>43060126</RelatedInvoiceCode><RelatedInvoiceNumber>0000000001</RelatedInvoiceNumber></MainExt>",
    )
    refused(blue_with_original, DataFileErrorCode.INCONSISTENT)


def test_signatures_out_of_order_are_refused() -> None:
    unit = re.search(rb'<Signature Role="unit">.*?</Signature>', SIGNED)
    supervisor = re.search(rb'<Signature Role="supervisor">.*?</Signature>', SIGNED)
    assert unit is not None and supervisor is not None
    swapped = SIGNED.replace(unit.group(0) + supervisor.group(0), supervisor.group(0) + unit.group(0))
    error = refused(swapped, DataFileErrorCode.SIGNATURE_STATE)
    assert "supervisor, unit" in error.message
    refused(SIGNED.replace(unit.group(0), b""), DataFileErrorCode.SIGNATURE_STATE)


# --- what the parser refuses ------------------------------------------------------------------------

BODY = UNSIGNED.split(b"\n", 1)[1]


@pytest.mark.parametrize(
    "document",
    [
        # external entity (XXE)
        b'<?xml version="1.0"?><!DOCTYPE EInvoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + BODY.replace(b"<Department>\xe5\x86\x85\xe7\xa7\x91<", b"<Department>&xxe;<"),
        # internal entity expansion (billion laughs)
        b'<?xml version="1.0"?><!DOCTYPE EInvoice [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
        + BODY.replace(b"<Department>\xe5\x86\x85\xe7\xa7\x91<", b"<Department>&b;<"),
        # external DTD over the network
        b'<?xml version="1.0"?><!DOCTYPE EInvoice SYSTEM "http://127.0.0.1:9/einvoice.dtd">' + BODY,
        # a DOCTYPE without anything in it
        b"<!DOCTYPE EInvoice>" + BODY,
        # parameter entities
        b'<?xml version="1.0"?><!DOCTYPE EInvoice [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>' + BODY,
    ],
    ids=["xxe", "billion-laughs", "external-dtd", "empty-doctype", "parameter-entity"],
)
def test_dtds_and_entities_are_refused(document: bytes) -> None:
    with pytest.raises(DataFileError) as caught:
        datafile_parse(document)
    assert caught.value.code in (DataFileErrorCode.FORBIDDEN_CONSTRUCT, DataFileErrorCode.NOT_WELL_FORMED)
    assert b"root:" not in str(caught.value).encode()


def test_an_undeclared_entity_is_not_well_formed() -> None:
    refused(UNSIGNED.replace(b"<Department>", b"<Department>&nbsp;"), DataFileErrorCode.NOT_WELL_FORMED)


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet href="x.xsl"?>' + BODY,
        UNSIGNED.replace(b"<Details>", b"<Details><?php echo 1; ?>"),
    ],
    ids=["before-root", "inside"],
)
def test_processing_instructions_are_refused(document: bytes) -> None:
    error = refused(document, DataFileErrorCode.FORBIDDEN_CONSTRUCT)
    assert "processing instruction" in error.message


def test_only_utf8_is_accepted() -> None:
    text = UNSIGNED.decode("utf-8").replace('encoding="UTF-8"', 'encoding="GB18030"')
    refused(text.encode("gb18030"), DataFileErrorCode.NOT_UTF8)
    with pytest.raises(DataFileError) as caught:
        datafile_validate(UNSIGNED.decode("utf-8"))  # type: ignore[arg-type]
    assert caught.value.code is DataFileErrorCode.NOT_BYTES


def test_malformed_xml_reports_its_line() -> None:
    error = refused(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<EInvoice>\n<Header>\n</EInvoice>', DataFileErrorCode.NOT_WELL_FORMED
    )
    assert error.line == 4


def test_oversized_documents_are_refused_before_parsing() -> None:
    refused(b" " * (16 * 1024 * 1024 + 1), DataFileErrorCode.TOO_LARGE)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<CertificateSerial>5B0D9E4F6A7C8D21<", "<CertificateSerial>5b0d9e4f6a7c8d21<"),
        ("<CertificateSerial>5B0D9E4F6A7C8D21<", "<CertificateSerial>005B0D9E4F6A7C8D21<"),  # not minimal
        ("<CertificateSerial>5B0D9E4F6A7C8D21<", "<CertificateSerial>8B0D9E4F6A7C8D21<"),  # negative in DER
        ("<CertificateSerial>5B0D9E4F6A7C8D21<", "<CertificateSerial>5B0D9E4F6A7C8D2<"),  # odd digits
        ("<CertificateSerial>5B0D9E4F6A7C8D21<", "<CertificateSerial>5B:0D:9E:4F<"),
        ("<SigningTime>2026-01-05T10:15:31+08:00<", "<SigningTime>2026-01-05T02:15:31Z<"),
        ("<SigningTime>2026-01-05T10:15:31+08:00<", "<SigningTime>2026-01-05T10:15:31.5+08:00<"),
        ("<SignatureAlgorithm>SM2-with-SM3<", "<SignatureAlgorithm>SM2<"),
        ("<SignatureAlgorithmOID>1.2.156.10197.1.501<", "<SignatureAlgorithmOID>1.2.156.10197.1.401<"),
        ("<SignatureValue>", "<SignatureValue>\n"),
        ('<Signature Role="unit">', '<Signature Role="Unit">'),
    ],
)
def test_signature_fields_outside_their_type_are_refused(old: str, new: str) -> None:
    refused(SIGNED.replace(old.encode(), new.encode(), 1), DataFileErrorCode.SCHEMA_INVALID)
