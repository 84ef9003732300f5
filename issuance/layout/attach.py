"""The signed XML inside the layout file (PDF embedded file), and back out.

reportlab has no API for embedded files, so the finished PDF gets the XML afterwards.
The XML is a PDF/A-3 style associated file: an embedded file with the MIME type
``application/xml``, named in the catalog's ``/EmbeddedFiles`` and ``/AF`` with the
relationship ``/Data``. One file then carries both the picture and the signed data, and
the offline verifier can check a PDF on its own.

Two ways to write it, same result for a reader:

* an **incremental update** (PDF 32000-1 §7.5.6) for the PDFs this package draws: the
  original bytes stay as they are, and the embedded file, its file specification, the
  name tree and a new catalog are appended with their cross-reference section. pypdf
  reads the trailer and the catalog and serialises the new objects; nothing else is
  parsed, which keeps attaching under half a millisecond;
* pypdf's ``add_attachment`` on a full copy, for any other PDF (cross-reference
  streams, encryption, a catalog that already has names or associated files).
"""

from __future__ import annotations

import hashlib
import io
import zlib

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

XML_FILENAME = "einvoice.xml"
XML_DESCRIPTION = "财政电子票据数据文件（已签名） / signed e-receipt data"
XML_SUBTYPE = "/application/xml"  # pypdf writes it as the name /application#2Fxml


class LayoutFileError(ValueError):
    """The bytes are not a readable PDF, or its XML attachment is ambiguous."""


def pdf_attach_xml(pdf_bytes: bytes, xml_bytes: bytes, filename: str = XML_FILENAME) -> bytes:
    """``pdf_bytes`` with ``xml_bytes`` embedded as ``filename`` (application/xml, relationship Data)."""
    try:
        reader = PdfReader(io.BytesIO(pdf_bytes))
        previous_xref = _classic_xref_offset(pdf_bytes)
        catalog = reader.trailer["/Root"]
        if previous_xref is None or reader.is_encrypted or "/Names" in catalog or "/AF" in catalog:
            return _rewrite_with_attachment(reader, xml_bytes, filename)
        return _append_attachment(pdf_bytes, reader, previous_xref, xml_bytes, filename)
    except PyPdfError as exc:
        raise LayoutFileError(f"不是可读的 PDF 文件：{exc}") from exc


def pdf_extract_xml(pdf_bytes: bytes, filename: str = XML_FILENAME) -> bytes | None:
    """The embedded file ``filename`` of the PDF, or None when it has none.

    Raises LayoutFileError for bytes that are no PDF, and when two embedded files carry
    the name: a verifier must not have to guess which one was signed.
    """
    try:
        contents = PdfReader(io.BytesIO(pdf_bytes)).attachments.get(filename)
    except PyPdfError as exc:
        raise LayoutFileError(f"不是可读的 PDF 文件：{exc}") from exc
    if not contents:
        return None
    if len(contents) > 1:
        raise LayoutFileError(f"PDF 中有 {len(contents)} 个名为 {filename} 的附件。")
    return contents[0]


def _params(xml_bytes: bytes) -> DictionaryObject:
    # /CheckSum is the PDF specification's MD5 of the file (an integrity hint, not security).
    return DictionaryObject(
        {
            NameObject("/Size"): NumberObject(len(xml_bytes)),
            NameObject("/CheckSum"): ByteStringObject(hashlib.md5(xml_bytes, usedforsecurity=False).digest()),
        }
    )


def _rewrite_with_attachment(reader: PdfReader, xml_bytes: bytes, filename: str) -> bytes:
    writer = PdfWriter(clone_from=reader)
    embedded = writer.add_attachment(filename, xml_bytes)
    embedded.subtype = NameObject(XML_SUBTYPE)
    embedded.associated_file_relationship = NameObject("/Data")
    embedded.alternative_name = TextStringObject(filename)
    embedded.description = TextStringObject(XML_DESCRIPTION)
    embedded.size = NumberObject(len(xml_bytes))
    embedded.checksum = _params(xml_bytes)["/CheckSum"]
    filespec = embedded.pdf_object.indirect_reference
    associated = writer.root_object.get("/AF")
    if associated is None:
        writer.root_object[NameObject("/AF")] = ArrayObject([filespec])
    else:
        associated.get_object().append(filespec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _classic_xref_offset(pdf_bytes: bytes) -> int | None:
    """Where the last cross-reference section starts, if it is a classic table (not a stream)."""
    tail = pdf_bytes[-1024:]
    at = tail.rfind(b"startxref")
    if at == -1:
        return None
    try:
        offset = int(tail[at + 9 :].split()[0])
    except (ValueError, IndexError):
        return None
    return offset if pdf_bytes[offset : offset + 4] == b"xref" else None


def _serialise(number: int, generation: int, obj: PdfObject | bytes) -> bytes:
    out = io.BytesIO()
    out.write(f"{number} {generation} obj\n".encode())
    if isinstance(obj, bytes):
        out.write(obj)
    else:
        obj.write_to_stream(out)
    out.write(b"\nendobj\n")
    return out.getvalue()


def _append_attachment(
    pdf_bytes: bytes, reader: PdfReader, previous_xref: int, xml_bytes: bytes, filename: str
) -> bytes:
    trailer = reader.trailer
    root = trailer.raw_get("/Root")
    size = int(trailer["/Size"])
    file_number, spec_number, tree_number = size, size + 1, size + 2
    name = TextStringObject(filename)

    compressed = zlib.compress(xml_bytes)
    stream_dict = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/EmbeddedFile"),
            NameObject("/Subtype"): NameObject(XML_SUBTYPE),
            NameObject("/Params"): _params(xml_bytes),
            NameObject("/Filter"): NameObject("/FlateDecode"),
            NameObject("/Length"): NumberObject(len(compressed)),
        }
    )
    head = io.BytesIO()
    stream_dict.write_to_stream(head)
    embedded_file = head.getvalue() + b"\nstream\n" + compressed + b"\nendstream"

    file_ref = IndirectObject(file_number, 0, reader)
    filespec = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Filespec"),
            NameObject("/F"): name,
            NameObject("/UF"): name,
            NameObject("/Desc"): TextStringObject(XML_DESCRIPTION),
            NameObject("/AFRelationship"): NameObject("/Data"),
            NameObject("/EF"): DictionaryObject({NameObject("/F"): file_ref, NameObject("/UF"): file_ref}),
        }
    )
    spec_ref = IndirectObject(spec_number, 0, reader)
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([name, spec_ref])})
    catalog = DictionaryObject(reader.trailer["/Root"])
    catalog[NameObject("/Names")] = DictionaryObject(
        {NameObject("/EmbeddedFiles"): IndirectObject(tree_number, 0, reader)}
    )
    catalog[NameObject("/AF")] = ArrayObject([spec_ref])

    out = io.BytesIO()
    out.write(pdf_bytes)
    if not pdf_bytes.endswith(b"\n"):
        out.write(b"\n")
    offsets: dict[int, tuple[int, int]] = {}
    for number, generation, obj in (
        (file_number, 0, embedded_file),
        (spec_number, 0, filespec),
        (tree_number, 0, tree),
        (root.idnum, root.generation, catalog),
    ):
        offsets[number] = (out.tell(), generation)
        out.write(_serialise(number, generation, obj))

    xref_offset = out.tell()
    out.write(b"xref\n")
    out.write(f"{root.idnum} 1\n".encode())
    out.write(f"{offsets[root.idnum][0]:010d} {root.generation:05d} n\r\n".encode())
    out.write(f"{file_number} 3\n".encode())
    for number in (file_number, spec_number, tree_number):
        out.write(f"{offsets[number][0]:010d} 00000 n\r\n".encode())
    new_trailer = DictionaryObject(
        {
            NameObject("/Size"): NumberObject(size + 3),
            NameObject("/Root"): root,
            NameObject("/Prev"): NumberObject(previous_xref),
        }
    )
    for key in ("/Info", "/ID"):
        if key in trailer:
            new_trailer[NameObject(key)] = trailer.raw_get(key)
    out.write(b"trailer\n")
    new_trailer.write_to_stream(out)
    out.write(f"\nstartxref\n{xref_offset}\n%%EOF\n".encode())
    return out.getvalue()
