"""The layout file (版式文件): a PDF drawn from a receipt's data, carrying its signed XML.

The signed XML is the record; the PDF is rendered from it by workers or on first
download, never on the issuance path. See docs/layout.md.
"""

from __future__ import annotations

from issuance.layout.attach import LayoutFileError, pdf_attach_xml, pdf_extract_xml
from issuance.layout.data import LayoutData, LayoutExtField, LayoutItem
from issuance.layout.fonts import CJKFontMissingError
from issuance.layout.receipt_data import layout_data_from_receipt
from issuance.layout.renderer import render_receipt_pdf
from issuance.layout.templates import Template, TemplateError, template_for
from issuance.layout.verify_url import verify_url

__all__ = [
    "CJKFontMissingError",
    "LayoutData",
    "LayoutExtField",
    "LayoutFileError",
    "LayoutItem",
    "Template",
    "TemplateError",
    "layout_data_from_receipt",
    "pdf_attach_xml",
    "pdf_extract_xml",
    "render_receipt_pdf",
    "template_for",
    "verify_url",
]
