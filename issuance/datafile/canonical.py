"""The signed part of a data file and its canonical bytes (docs/signature.md, "What is signed").

For a role R, the signed part is the EInvoice element with

1. every Signature of a role after R removed (the unit's part has no supervisor signature),
2. the SignatureValue of R's own Signature removed (its algorithm, certificate serial and
   signing time are signed),
3. every whitespace-only text node removed (the schema allows whitespace only as
   indentation between elements),

serialised with Exclusive XML Canonicalization 1.0 without comments
(http://www.w3.org/2001/10/xml-exc-c14n#), which is UTF-8 by definition.

The platform writes every document in the same normal form: the XML declaration,
a line feed, and the canonical bytes of the whole EInvoice element (step 3 only).
"""

from __future__ import annotations

import copy
import re
from enum import StrEnum

from lxml import etree

from issuance.datafile.errors import DataFileError, DataFileErrorCode
from issuance.datafile.schema import datafile_load, validate_tree

EXC_C14N_URI = "http://www.w3.org/2001/10/xml-exc-c14n#"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# XML's whitespace (production S), not Python's: U+3000 and NBSP are characters of a value.
XML_WHITESPACE = " \t\r\n"
# In exclusive C14N a whitespace-only text node always sits between two pieces of markup, ">" and
# "<", and is written with literal spaces, tabs and line feeds and CR as &#xD;. Comments, which the
# output drops, and unexpanded entity references could hide one, so such trees are not looked at
# this way.
_BLANK_BETWEEN_MARKUP = re.compile(rb">(?:[ \t\n]|&#xD;)+<")


class SignatureRole(StrEnum):
    UNIT = "unit"
    SUPERVISOR = "supervisor"


# The order in which the signatures are made and appear in Signatures.
ROLE_ORDER: tuple[SignatureRole, ...] = (SignatureRole.UNIT, SignatureRole.SUPERVISOR)


def role_of(value: str) -> SignatureRole:
    try:
        return SignatureRole(value)
    except ValueError:
        raise DataFileError(
            DataFileErrorCode.SIGNATURE_ARGUMENT, f"unknown signature role {value!r}; use unit or supervisor"
        ) from None


def _is_blank(text: str | None) -> bool:
    return text is not None and text.strip(XML_WHITESPACE) == ""


def strip_blank_text(root: etree._Element) -> None:
    """Remove every whitespace-only text node below ``root`` (element text and tails)."""
    root.tail = None
    for node in root.iter():
        if isinstance(node.tag, str) and _is_blank(node.text):
            node.text = None
        if node is not root and _is_blank(node.tail):
            node.tail = None


def canonical_bytes(element: etree._Element) -> bytes:
    """Exclusive C14N 1.0 without comments of ``element`` after whitespace-only text is removed."""
    if isinstance(element.tag, str) and next(element.iter(etree.Comment, etree.Entity), None) is None:
        # Documents in the normal form have no whitespace-only text: nothing to strip, no copy to
        # make. (The canonical form never includes the element's own tail, which is dropped too.)
        canonical = etree.tostring(element, method="c14n", exclusive=True, with_comments=False)
        if _BLANK_BETWEEN_MARKUP.search(canonical) is None:
            return canonical
    work = copy.deepcopy(element)
    strip_blank_text(work)
    return etree.tostring(work, method="c14n", exclusive=True, with_comments=False)


def document_bytes(root: etree._Element) -> bytes:
    """The normal form in which the platform writes every data file."""
    return XML_DECLARATION + canonical_bytes(root)


def signature_of(root: etree._Element, role: SignatureRole) -> etree._Element | None:
    for signature in root.iterfind("Signatures/Signature"):
        if signature.get("Role") == role.value:
            return signature
    return None


def signed_part(root: etree._Element, role: SignatureRole) -> etree._Element:
    """A copy of EInvoice reduced to what ``role`` signs (steps 1 and 2; step 3 is in canonical_bytes)."""
    part = copy.deepcopy(root)
    later = {r.value for r in ROLE_ORDER[ROLE_ORDER.index(role) + 1 :]}
    for signature in list(part.iterfind("Signatures/Signature")):
        if signature.get("Role") in later:
            signature.getparent().remove(signature)
        elif signature.get("Role") == role.value:
            for value in signature.findall("SignatureValue"):
                signature.remove(value)
    return part


def signed_part_bytes(root: etree._Element, role: SignatureRole) -> bytes:
    """``canonical_bytes(signed_part(root, role))``, without copying a document with nothing to leave out.

    That is the case while ``role``'s own signature has no value yet and no later
    role has signed: exactly when the bytes to sign are computed.
    """
    later = {r.value for r in ROLE_ORDER[ROLE_ORDER.index(role) + 1 :]}
    for signature in root.iterfind("Signatures/Signature"):
        role_value = signature.get("Role")
        if role_value in later or (role_value == role.value and signature.find("SignatureValue") is not None):
            return canonical_bytes(signed_part(root, role))
    return canonical_bytes(root)


def datafile_signed_bytes(xml_bytes: bytes, role: SignatureRole | str) -> bytes:
    """The exact bytes covered by ``role``'s signature in a signed document (validated first).

    To get the bytes to sign for a signature not yet in the document, use
    :func:`issuance.datafile.signatures.datafile_bytes_to_sign`.
    """
    role = role_of(role)
    tree = datafile_load(xml_bytes)
    validate_tree(tree)
    root = tree.getroot()
    if signature_of(root, role) is None:
        raise DataFileError(
            DataFileErrorCode.SIGNATURE_STATE,
            f"the document has no {role.value} signature; datafile_bytes_to_sign gives the bytes to sign",
        )
    return canonical_bytes(signed_part(root, role))
