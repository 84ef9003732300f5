"""The canonical form (Exclusive XML Canonicalization 1.0 without comments, after whitespace-only
text is removed): what it is indifferent to, what it is not, and that other tools agree byte for byte."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from lxml import etree

from issuance.datafile import (
    CheckOutcome,
    DataFileError,
    DataFileErrorCode,
    canonical_bytes,
    datafile_add_signature,
    datafile_parse,
    datafile_signed_bytes,
    datafile_verify_signature,
)
from issuance.datafile.canonical import XML_DECLARATION
from zhongtai.signing import sm2

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
NAMES = ("01-nontax", "02-outpatient", "03-red")
ROLES = ("unit", "supervisor")
SIGNED = (VECTORS / "01-nontax" / "signed.xml").read_bytes()
KEYS = {
    "unit": sm2.public_key_from_pem((VECTORS / "keys" / "unit-430102101.public.pem").read_bytes()),
    "supervisor": sm2.public_key_from_pem((VECTORS / "keys" / "supervisor-430000.public.pem").read_bytes()),
}


def both_valid(xml: bytes) -> bool:
    return all(
        datafile_verify_signature(xml, role=role, verify=lambda d, s, key=KEYS[role]: sm2.verify(key, d, s)).valid
        for role in ROLES
    )


def signed_parts(xml: bytes) -> tuple[bytes, bytes]:
    return datafile_signed_bytes(xml, "unit"), datafile_signed_bytes(xml, "supervisor")


def reindented(xml: bytes, *, indent: str = "  ", newline: str = "\n") -> bytes:
    """Indent every element on its own line (text values untouched), with a chosen line ending."""
    root = etree.fromstring(xml)
    etree.indent(root, space=indent)
    text = etree.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>' + newline + text.replace("\n", newline) + newline).encode()


# --- the algorithm on small inputs --------------------------------------------------------------------


def test_canonical_form_of_a_small_document_is_exactly_the_w3c_one() -> None:
    # given a document using every liberty XML allows
    source = (
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        b'<r xmlns:unused="urn:u" b=\'2\'  a="1&#x9;&lt;&quot;">\n'
        b"  <!-- comment -->\n"
        b"  <e/>\n"
        b"  <t>A &amp; B &gt; C &#x5F20;<![CDATA[<x>]]>&#13;</t>\n"
        b"</r>\n"
    )
    # then its canonical bytes sort attributes, escape as C14N says, drop the comment,
    # the unused namespace and the indentation, and expand empty elements
    assert canonical_bytes(etree.fromstring(source)) == (
        '<r a="1&#x9;&lt;&quot;" b="2"><e></e><t>A &amp; B &gt; C 张&lt;x&gt;&#xD;</t></r>'.encode()
    )


def test_only_xml_whitespace_counts_as_blank() -> None:
    # U+3000 (ideographic space) and U+00A0 are characters of a value, not indentation
    source = "<r><a>\u3000</a>\u00a0<b> \t\r\n</b></r>".encode()
    assert canonical_bytes(etree.fromstring(source)) == "<r><a>\u3000</a>\u00a0<b></b></r>".encode()


# --- what does not change the signed bytes --------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda xml: reindented(xml), id="indented"),
        pytest.param(lambda xml: reindented(xml, indent="\t", newline="\r\n"), id="tabs-crlf"),
        pytest.param(lambda xml: xml.split(b"\n", 1)[1], id="no-declaration"),
        pytest.param(
            lambda xml: xml.replace(
                b'<?xml version="1.0" encoding="UTF-8"?>', b"<?xml version='1.0' encoding='utf-8' ?>"
            ),
            id="declaration-quotes",
        ),
        pytest.param(
            lambda xml: xml.replace(b"<EInvoice>", b'<EInvoice xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'),
            id="unused-namespace-on-root",
        ),
        pytest.param(
            lambda xml: xml.replace(b"<Main>", b'<Main xmlns:x="urn:x" xmlns="">'), id="namespace-declarations-inside"
        ),
        pytest.param(lambda xml: xml.replace(b'Role="unit"', b"Role = 'unit' "), id="attribute-quotes-and-spaces"),
        pytest.param(lambda xml: xml.replace("张三".encode(), b"&#x5F20;&#19977;"), id="character-references"),
        pytest.param(
            lambda xml: xml.replace(b"<Checker>", b"<Checker><![CDATA[").replace(b"</Checker>", b"]]></Checker>"),
            id="cdata",
        ),
        pytest.param(lambda xml: xml.replace(b"<Details>", b"<Details><!-- lines -->"), id="comment"),
        pytest.param(lambda xml: xml.replace(b"</Header>", b"</Header >"), id="space-in-end-tag"),
        pytest.param(lambda xml: b"\xef\xbb\xbf" + xml, id="byte-order-mark"),
    ],
)
def test_equivalent_serialisations_keep_both_signatures_valid(variant: object) -> None:
    # given the signed vector written another way that XML and the schema consider the same
    other = variant(SIGNED)  # type: ignore[operator]
    assert other != SIGNED
    # then the signed bytes are identical and both signatures verify
    assert signed_parts(other) == signed_parts(SIGNED)
    assert both_valid(other)


def test_attribute_order_does_not_matter() -> None:
    # given two documents that differ only in the order of the Signature's attributes
    schema_instance = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    first = SIGNED.replace(
        b'<Signature Role="unit">', f'<Signature {schema_instance} Role="unit" xsi:type="SignatureType">'.encode()
    )
    second = SIGNED.replace(
        b'<Signature Role="unit">', f'<Signature xsi:type="SignatureType" Role="unit" {schema_instance}>'.encode()
    )
    # then their signed bytes are equal (and differ from the original: an added attribute is content)
    assert signed_parts(first) == signed_parts(second)
    assert signed_parts(first) != signed_parts(SIGNED)
    assert not both_valid(first)


def test_adding_signatures_to_an_indented_document_writes_the_normal_form() -> None:
    # given the vector's unit-signed document, indented by some tool on the way
    unit_signed = (VECTORS / "01-nontax" / "unit-signed.xml").read_bytes()
    signature = datafile_parse(SIGNED).signature("supervisor")
    assert signature is not None
    # when the supervisor signature is added to it
    signed = datafile_add_signature(
        reindented(unit_signed),
        role="supervisor",
        signature=signature.value,
        certificate_serial=signature.certificate_serial,
        signing_time=signature.signing_time,
    )
    # then the result is the platform's compact normal form: the published final document
    assert signed == SIGNED


# --- what does change them ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "outcome"),
    [
        ("<PayerPartyName>张三<", "<PayerPartyName>张三 <", CheckOutcome.DOCUMENT_INVALID),
        ("<PayerPartyName>张三<", "<PayerPartyName>\n张三<", CheckOutcome.DOCUMENT_INVALID),
        ("<Remark>证照工本费 &amp; 考务费", "<Remark>证照工本费  &amp; 考务费", CheckOutcome.SIGNATURE_MISMATCH),
    ],
)
def test_whitespace_inside_a_value_is_not_indentation(old: str, new: str, outcome: CheckOutcome) -> None:
    # given whitespace added inside a value: leading/trailing is refused by the schema,
    # inner whitespace is another value
    tampered = SIGNED.replace(old.encode(), new.encode())
    assert tampered != SIGNED
    # then neither signature verifies, and the answer says which of the two happened
    for role in ROLES:
        check = datafile_verify_signature(
            tampered, role=role, verify=lambda d, s, key=KEYS[role]: sm2.verify(key, d, s)
        )
        assert check.outcome is outcome, check.reason


def test_a_processing_instruction_is_refused_rather_than_signed() -> None:
    with pytest.raises(DataFileError) as caught:
        datafile_signed_bytes(SIGNED.replace(b"<Details>", b"<Details><?page break?>"), "unit")
    assert caught.value.code is DataFileErrorCode.FORBIDDEN_CONSTRUCT


# --- other implementations agree ---------------------------------------------------------------------------


def stdlib_signed_part(xml: bytes, role: str) -> bytes:
    """The signed part computed with Python's own ElementTree and its C14N 2.0, not libxml2.

    For documents without namespaces, comments or processing instructions (all data
    files), C14N 2.0 and Exclusive C14N 1.0 produce the same bytes.
    """
    root = ET.fromstring(xml)
    signatures = root.find("Signatures")
    assert signatures is not None
    for signature in list(signatures):
        if role == "unit" and signature.get("Role") == "supervisor":
            signatures.remove(signature)
        elif signature.get("Role") == role:
            value = signature.find("SignatureValue")
            assert value is not None
            signature.remove(value)
    for element in root.iter():
        if element.text is not None and not element.text.strip(" \t\r\n"):
            element.text = None
        if element.tail is not None and not element.tail.strip(" \t\r\n"):
            element.tail = None
    return ET.canonicalize(ET.tostring(root, encoding="unicode")).encode("utf-8")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_python_stdlib_c14n_reproduces_the_published_signed_bytes(name: str, role: str) -> None:
    signed = (VECTORS / name / "signed.xml").read_bytes()
    expected = (VECTORS / name / f"{role}.c14n").read_bytes()
    assert stdlib_signed_part(signed, role) == expected
    assert stdlib_signed_part(reindented(signed), role) == expected


@pytest.mark.skipif(not (shutil.which("xsltproc") and shutil.which("xmllint")), reason="libxml2-utils/xsltproc absent")
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_xsltproc_and_xmllint_reproduce_the_published_signed_bytes(name: str, role: str) -> None:
    # given the command line of docs/signature.md, on the published and on an indented document
    expected = (VECTORS / name / f"{role}.c14n").read_bytes()
    signed = (VECTORS / name / "signed.xml").read_bytes()
    for document in (signed, reindented(signed, indent="\t", newline="\r\n")):
        transformed = subprocess.run(
            ["xsltproc", str(VECTORS / f"signed-part-{role}.xsl"), "-"],
            input=document,
            capture_output=True,
            check=True,
        ).stdout
        canonical = subprocess.run(
            ["xmllint", "--exc-c14n", "-"], input=transformed, capture_output=True, check=True
        ).stdout
        # then the bytes are the published ones
        assert canonical == expected


def test_the_unsigned_document_is_its_own_canonical_form_after_the_declaration() -> None:
    for name in NAMES:
        unsigned = (VECTORS / name / "unsigned.xml").read_bytes()
        assert unsigned.startswith(XML_DECLARATION)
        body = unsigned[len(XML_DECLARATION) :]
        assert ET.canonicalize(body.decode("utf-8")).encode("utf-8") == body
        assert not re.search(rb">\s+<", body)


def _documented_snippet(language: str, marker: str) -> str:
    text = (Path(__file__).resolve().parents[2] / "docs" / "signature.md").read_text(encoding="utf-8")
    section = text.split(marker, 1)[1]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_the_lxml_recipe_of_the_specification_reproduces_the_vectors() -> None:
    # given the Python code printed in docs/signature.md, run as a third party would
    namespace: dict[str, object] = {}
    exec(_documented_snippet("python", "### With lxml (Python)"), namespace)
    signed_part = namespace["signed_part"]
    for name in NAMES:
        signed = (VECTORS / name / "signed.xml").read_bytes()
        for role in ROLES:
            expected = (VECTORS / name / f"{role}.c14n").read_bytes()
            # then it gives the published bytes, for the file as published and indented
            assert signed_part(signed, role) == expected  # type: ignore[operator]
            assert signed_part(reindented(signed, indent="\t", newline="\r\n"), role) == expected  # type: ignore[operator]


@pytest.mark.skipif(not (shutil.which("xsltproc") and shutil.which("xmllint")), reason="libxml2-utils/xsltproc absent")
def test_the_shell_recipe_of_the_specification_runs_as_printed() -> None:
    script = _documented_snippet("sh", "### With xsltproc and xmllint (no Python)")
    result = subprocess.run(
        ["sh", "-e", "-c", script], cwd=VECTORS.parent.parent, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "identical"
