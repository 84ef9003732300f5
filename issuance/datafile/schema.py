"""Reading a data file safely and validating it: the XSD, then the rules XSD 1.0 cannot express.

Every data file goes through :func:`datafile_load` before anything else looks at it:
no DTD, no entity, no processing instruction, no network, UTF-8 only, a size limit.
The XSD of each supported version lives in ``docs/schema/`` and is compiled once per
process and thread (lxml validators keep their error log on the object, so a
compiled schema is not shared between threads).
"""

from __future__ import annotations

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
    instructions = tree.xpath("//processing-instruction()")
    if instructions:
        raise DataFileError(
            DataFileErrorCode.FORBIDDEN_CONSTRUCT,
            "processing instructions are not allowed",
            line=instructions[0].sourceline,
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
    version_text = root.findtext("Header/Version")
    if version_text not in SCHEMA_FILES:
        raise DataFileError(
            DataFileErrorCode.UNSUPPORTED_VERSION,
            f"unsupported data file version {version_text!r}; supported: {', '.join(sorted(SCHEMA_FILES))}",
            line=root.sourceline,
            path="/EInvoice/Header/Version",
        )
    schema = _schema(version_text)
    if not schema.validate(tree):
        first = schema.error_log[0]
        raise DataFileError(DataFileErrorCode.SCHEMA_INVALID, first.message, line=first.line, path=first.path or "")
    _check_consistency(tree)


def _fail(tree: etree._ElementTree, element: etree._Element, message: str, code: DataFileErrorCode) -> DataFileError:
    return DataFileError(code, message, line=element.sourceline, path=tree.getpath(element))


def _check_consistency(tree: etree._ElementTree) -> None:
    """The rules of docs/signature.md that XML Schema 1.0 cannot state. Assumes a schema-valid tree."""
    root = tree.getroot()
    main = root.find("EInvoiceData/Main")
    assert main is not None
    inconsistent = DataFileErrorCode.INCONSISTENT

    def element(path: str, base: etree._Element = main) -> etree._Element:
        found = base.find(path)
        assert found is not None, path
        return found

    code = element("EInvoiceCode").text or ""
    number = element("EInvoiceNumber").text or ""
    invoice_id = element("Header/EInvoiceID", root)
    if invoice_id.text != code + number:
        raise _fail(tree, invoice_id, "EInvoiceID must be EInvoiceCode followed by EInvoiceNumber", inconsistent)
    tag = element("Header/EInvoiceTag", root)
    if (tag.text or "")[-2:] != code[:2]:
        raise _fail(tree, tag, "the province of EInvoiceTag is not that of the receipt code", inconsistent)
    area = element("SupervisorAreaCode")
    if (area.text or "")[:2] != code[:2]:
        raise _fail(tree, area, "SupervisorAreaCode is not in the province of the receipt code", inconsistent)
    party_code = element("InvoicingParty/InvoicingPartyCode")
    problem = credit_code_problem(party_code.text or "")
    if problem:
        raise _fail(tree, party_code, f"invalid unified social credit code ({problem})", inconsistent)
    date_names = ["IssueDate"] + [
        f"MainExt/{ext_element_name(name)}" for name, spec in KIND_FIELDS.items() if spec.type == "date"
    ]
    for name in date_names:
        found = main.find(name)
        if found is not None:
            try:
                parse_date8(found.text or "")
            except ValueError:
                raise _fail(tree, found, f"{found.text} is not a calendar date", inconsistent) from None
    total_element = element("TotalAmount")
    total = Decimal(total_element.text or "0")
    items_total = sum((Decimal(text) for text in root.xpath("EInvoiceData/Details/Item/ItemAmount/text()")), Decimal(0))
    if items_total != total:
        raise _fail(tree, total_element, f"the items add up to {items_total}, not to TotalAmount {total}", inconsistent)
    related_code = main.find("MainExt/RelatedInvoiceCode")
    related_number = main.find("MainExt/RelatedInvoiceNumber")
    if (related_code is None) != (related_number is None):
        raise _fail(tree, main, "RelatedInvoiceCode and RelatedInvoiceNumber go together", inconsistent)
    if total < 0 and related_code is None:
        raise _fail(tree, total_element, "a red receipt (negative total) must name its original", inconsistent)
    if total >= 0 and related_code is not None:
        raise _fail(tree, related_code, "only a red receipt (negative total) names an original", inconsistent)
    roles = [signature.get("Role") for signature in root.iterfind("Signatures/Signature")]
    if roles and roles != ["unit", "supervisor"][: len(roles)]:
        signatures = element("Signatures", root)
        raise _fail(
            tree,
            signatures,
            f"signatures must be the unit's, then the supervisor's; found {', '.join(map(str, roles))}",
            DataFileErrorCode.SIGNATURE_STATE,
        )
