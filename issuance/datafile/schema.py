"""Reading a data file safely and validating it: the XSD, then the rules XSD 1.0 cannot express.

Every data file goes through :func:`datafile_load` before anything else looks at it:
no DTD, no entity, no processing instruction, no network, UTF-8 only, a size limit.
The XSD of each supported version lives in ``docs/schema/`` and is compiled once per
process and thread (lxml validators keep their error log on the object, so a
compiled schema is not shared between threads).
"""

from __future__ import annotations

import functools
import threading
from decimal import Decimal
from pathlib import Path

from lxml import etree

from issuance.datafile.errors import DataFileError, DataFileErrorCode
from issuance.datafile.formats import ext_element_name, parse_date8
from zhongtai.masterdata.kind_fields import KIND_FIELDS
from zhongtai.masterdata.validators import credit_code_problem

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schema"
# Header/Version -> the XSD that defines it. A new version adds a file; old ones stay readable.
SCHEMA_FILES: dict[str, str] = {"1.0.0": "einvoice-1.0.xsd"}
CURRENT_VERSION = "1.0.0"
ROOT_TAG = "EInvoice"
# An inpatient receipt with a long itemised list stays far below this.
MAX_DATAFILE_BYTES = 16 * 1024 * 1024

_local = threading.local()


def _parser() -> etree.XMLParser:
    # A new parser per document: lxml parsers are not meant to be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,
    )


def datafile_load(xml_bytes: bytes) -> etree._ElementTree:
    """Parse a data file, refusing what a data file must not contain. Does not validate."""
    if not isinstance(xml_bytes, bytes | bytearray | memoryview):
        raise DataFileError(DataFileErrorCode.NOT_BYTES, "a data file is bytes (UTF-8), not text")
    data = bytes(xml_bytes)
    if len(data) > MAX_DATAFILE_BYTES:
        raise DataFileError(DataFileErrorCode.TOO_LARGE, f"larger than {MAX_DATAFILE_BYTES} bytes")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise DataFileError(DataFileErrorCode.NOT_WELL_FORMED, exc.msg, line=exc.lineno) from exc
    tree = root.getroottree()
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise DataFileError(DataFileErrorCode.FORBIDDEN_CONSTRUCT, "a DOCTYPE (DTD) is not allowed", line=1)
    instruction = _first_processing_instruction(root)
    if instruction is not None:
        raise DataFileError(
            DataFileErrorCode.FORBIDDEN_CONSTRUCT,
            "processing instructions are not allowed",
            line=instruction.sourceline,
        )
    entity = next(root.iter(etree.Entity), None)
    if entity is not None:
        raise DataFileError(
            DataFileErrorCode.FORBIDDEN_CONSTRUCT, "entity references are not allowed", line=entity.sourceline
        )
    if (info.encoding or "").upper() != "UTF-8":
        raise DataFileError(DataFileErrorCode.NOT_UTF8, f"the encoding must be UTF-8, not {info.encoding}", line=1)
    if info.xml_version != "1.0":
        raise DataFileError(DataFileErrorCode.NOT_WELL_FORMED, f"XML version must be 1.0, not {info.xml_version}")
    if root.tag != ROOT_TAG:
        raise DataFileError(
            DataFileErrorCode.SCHEMA_INVALID,
            f"the root element must be {ROOT_TAG} without a namespace, not {root.tag}",
            line=root.sourceline,
        )
    return tree


def _is_instruction(node: etree._Element) -> bool:
    return node.tag is etree.ProcessingInstruction


def _first_processing_instruction(root: etree._Element) -> etree._Element | None:
    """The first processing instruction in document order (before, inside or after the root), or None."""
    before = [node for node in root.itersiblings(preceding=True) if _is_instruction(node)]
    if before:
        return before[-1]  # preceding siblings come nearest first
    inside = next(root.iter(etree.ProcessingInstruction), None)
    if inside is not None:
        return inside
    return next((node for node in root.itersiblings() if _is_instruction(node)), None)


def schema_path(version: str = CURRENT_VERSION) -> Path:
    return SCHEMA_DIR / SCHEMA_FILES[version]


def _schema(version: str) -> etree.XMLSchema:
    cache: dict[str, etree.XMLSchema] | None = getattr(_local, "schemas", None)
    if cache is None:
        cache = _local.schemas = {}
    if version not in cache:
        path = schema_path(version)
        if not path.is_file():
            raise RuntimeError(f"data file schema {path} is missing: deploy docs/schema/ with the code")
        cache[version] = etree.XMLSchema(etree.parse(str(path), _parser()))
    return cache[version]


def datafile_validate(xml_bytes: bytes) -> None:
    """Raise :class:`DataFileError` (with line and XPath) unless ``xml_bytes`` is a valid data file."""
    validate_tree(datafile_load(xml_bytes))


def validate_tree(tree: etree._ElementTree) -> None:
    """Validate a tree from :func:`datafile_load`: its version's XSD, then the consistency rules."""
    root = tree.getroot()
    version_text = _version_text(root)
    if version_text not in SCHEMA_FILES:
        raise DataFileError(
            DataFileErrorCode.UNSUPPORTED_VERSION,
            f"unsupported data file version {version_text!r}; supported: {', '.join(sorted(SCHEMA_FILES))}",
            line=root.sourceline,
            path="/EInvoice/Header/Version",
        )
    _check_schema(tree, version_text)
    _check_consistency(tree)


def validate_signed_tree(tree: etree._ElementTree) -> None:
    """Validate a document made by adding a Signature to a document that :func:`validate_tree` accepted.

    Adding a signature changes neither the version nor the receipt's content, so the
    content rules need not run again: what can differ is the XSD (the new Signature
    element) and the order of the signatures.
    """
    _check_schema(tree, _version_text(tree.getroot()) or "")
    _check_signature_order(tree, tree.getroot().find("Signatures"))


def _version_text(root: etree._Element) -> str | None:
    """``root.findtext("Header/Version")``, through a compiled XPath (a third of the time)."""
    found = _compiled_xpath("Header/Version")(root)
    return (found[0].text or "") if found else None


def _check_schema(tree: etree._ElementTree, version: str) -> None:
    schema = _schema(version)
    if not schema.validate(tree):
        first = schema.error_log[0]
        raise DataFileError(DataFileErrorCode.SCHEMA_INVALID, first.message, line=first.line, path=first.path or "")


def _fail(tree: etree._ElementTree, element: etree._Element, message: str, code: DataFileErrorCode) -> DataFileError:
    return DataFileError(code, message, line=element.sourceline, path=tree.getpath(element))


def _compiled_xpath(expression: str) -> etree.XPath:
    """``expression`` compiled once per thread (lxml evaluators are not shared between threads)."""
    cache: dict[str, etree.XPath] | None = getattr(_local, "xpaths", None)
    if cache is None:
        cache = _local.xpaths = {}
    if expression not in cache:
        cache[expression] = etree.XPath(expression)
    return cache[expression]


# MainExt elements holding dates, in schema order (KIND_FIELDS is fixed at import).
_EXT_DATES = tuple(ext_element_name(name) for name, spec in KIND_FIELDS.items() if spec.type == "date")
_ITEM_AMOUNTS = "EInvoiceData/Details/Item/ItemAmount/text()"


def _children(parent: etree._Element | None) -> dict[object, etree._Element]:
    """The first child of each tag: ``parent.find(tag)`` for every tag at once."""
    if parent is None:
        return {}
    # Last to first, so that the first child of a tag is the one kept. The slice is a list made
    # in C; a loop over the element itself with setdefault costs twice as much.
    return {child.tag: child for child in parent[::-1]}


# credit_code_problem is pure, and a unit signs thousands of receipts with the same code: the
# codes last checked are remembered (a tenth of the checks below otherwise).
_credit_code_problem = functools.lru_cache(maxsize=1024)(credit_code_problem)


def _check_consistency(tree: etree._ElementTree) -> None:
    """The rules of docs/signature.md that XML Schema 1.0 cannot state. Assumes a schema-valid tree."""
    root = tree.getroot()
    top = _children(root)
    header = _children(top.get("Header"))
    main_element = _children(top.get("EInvoiceData")).get("Main")
    assert main_element is not None
    main = _children(main_element)
    ext = _children(main.get("MainExt"))
    inconsistent = DataFileErrorCode.INCONSISTENT

    def element(children: dict[object, etree._Element], tag: str) -> etree._Element:
        found = children.get(tag)
        assert found is not None, tag
        return found

    code = element(main, "EInvoiceCode").text or ""
    number = element(main, "EInvoiceNumber").text or ""
    invoice_id = element(header, "EInvoiceID")
    if invoice_id.text != code + number:
        raise _fail(tree, invoice_id, "EInvoiceID must be EInvoiceCode followed by EInvoiceNumber", inconsistent)
    tag = element(header, "EInvoiceTag")
    if (tag.text or "")[-2:] != code[:2]:
        raise _fail(tree, tag, "the province of EInvoiceTag is not that of the receipt code", inconsistent)
    area = element(main, "SupervisorAreaCode")
    if (area.text or "")[:2] != code[:2]:
        raise _fail(tree, area, "SupervisorAreaCode is not in the province of the receipt code", inconsistent)
    party_code = element(_children(main.get("InvoicingParty")), "InvoicingPartyCode")
    problem = _credit_code_problem(party_code.text or "")
    if problem:
        raise _fail(tree, party_code, f"invalid unified social credit code ({problem})", inconsistent)
    dates = [main.get("IssueDate"), *(ext.get(name) for name in _EXT_DATES)]
    for found in dates:
        if found is not None:
            try:
                parse_date8(found.text or "")
            except ValueError:
                raise _fail(tree, found, f"{found.text} is not a calendar date", inconsistent) from None
    total_element = element(main, "TotalAmount")
    total = Decimal(total_element.text or "0")
    items_total = sum((Decimal(text) for text in _compiled_xpath(_ITEM_AMOUNTS)(root)), Decimal(0))
    if items_total != total:
        raise _fail(tree, total_element, f"the items add up to {items_total}, not to TotalAmount {total}", inconsistent)
    related_code = ext.get("RelatedInvoiceCode")
    related_number = ext.get("RelatedInvoiceNumber")
    if (related_code is None) != (related_number is None):
        raise _fail(tree, main_element, "RelatedInvoiceCode and RelatedInvoiceNumber go together", inconsistent)
    if total < 0 and related_code is None:
        raise _fail(tree, total_element, "a red receipt (negative total) must name its original", inconsistent)
    if total >= 0 and related_code is not None:
        raise _fail(tree, related_code, "only a red receipt (negative total) names an original", inconsistent)
    _check_signature_order(tree, top.get("Signatures"))


def _check_signature_order(tree: etree._ElementTree, signatures: etree._Element | None) -> None:
    if signatures is None:
        return
    roles = [signature.get("Role") for signature in signatures if signature.tag == "Signature"]
    if roles and roles != ["unit", "supervisor"][: len(roles)]:
        raise _fail(
            tree,
            signatures,
            f"signatures must be the unit's, then the supervisor's; found {', '.join(map(str, roles))}",
            DataFileErrorCode.SIGNATURE_STATE,
        )
