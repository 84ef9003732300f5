"""The QR code of a layout file opens exactly the receipt's verification URL."""

from __future__ import annotations

import datetime
import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from pypdf import PdfReader

from issuance.layout import layout_data_from_receipt, render_receipt_pdf, verify_url
from issuance.layout.qr import qr_matrix
from tests.conftest import nontax_payload
from tests.issuance.conftest import issue_direct
from zhongtai.masterdata.models import Unit

QR_BLOCK = re.compile(rb"q 0 g ([\d.]+) 0 0 (-[\d.]+) ([\d.]+) ([\d.]+) cm ((?:\d+ \d+ \d+ 1 re ?)+) f Q")


def decode(image: Image.Image) -> list[str]:
    return [
        barcode.text for barcode in zxingcpp.read_barcodes(image) if barcode.format == zxingcpp.BarcodeFormat.QRCode
    ]


def modules_from_pdf(pdf: bytes) -> Image.Image:
    """Redraw the QR runs written in the first page's content stream, 8 px a module, quiet zone 4."""
    content = PdfReader(io.BytesIO(pdf)).pages[0].get_contents()
    assert content is not None
    match = QR_BLOCK.search(content.get_data())
    assert match, "no QR code block in the page content"
    runs = [tuple(map(int, run.split()[:3])) for run in match.group(5).decode().split(" re") if run.strip()]
    size = max(row for _, row, _ in runs) + 1
    scale, quiet = 8, 4
    image = Image.new("L", ((size + 2 * quiet) * scale,) * 2, 255)
    draw = ImageDraw.Draw(image)
    for column, row, length in runs:
        x, y = (column + quiet) * scale, (row + quiet) * scale
        draw.rectangle((x, y, x + length * scale - 1, y + scale - 1), fill=0)
    return image


def test_verify_url_carries_the_five_elements() -> None:
    url = verify_url(
        receipt_code="43010126",
        number=42,
        check_code="55e825",
        issue_date=datetime.date(2026, 1, 5),
        amount=Decimal("55.5"),
        base_url="https://pj.czt.hunan.gov.cn/",
    )
    assert url == "https://pj.czt.hunan.gov.cn/verify/?c=43010126&n=0000000042&k=55e825&d=20260105&a=55.50"


def test_verify_url_defaults_to_the_configured_public_address(settings: Any) -> None:
    settings.EREC_PUBLIC_BASE_URL = "https://verify.example.cn"
    url = verify_url(
        receipt_code="43060126",
        number="0000000001",
        check_code="abcdef",
        issue_date=datetime.date(2026, 11, 26),
        amount=Decimal("-25.00"),
    )
    assert url == "https://verify.example.cn/verify/?c=43060126&n=0000000001&k=abcdef&d=20261126&a=-25.00"


def test_qr_matrix_decodes_to_its_text() -> None:
    text = "http://127.0.0.1:8000/verify/?c=43010126&n=0000000001&k=55e825&d=20260101&a=55.50"
    matrix = qr_matrix(text)
    scale, quiet = 6, 4
    image = Image.new("L", ((matrix.size + 2 * quiet) * scale,) * 2, 255)
    draw = ImageDraw.Draw(image)
    for row, column, length in matrix.runs:
        x, y = (column + quiet) * scale, (row + quiet) * scale
        draw.rectangle((x, y, x + length * scale - 1, y + scale - 1), fill=0)
    assert decode(image) == [text]
    # the corners are the finder patterns
    assert matrix.is_dark(0, 0) and matrix.is_dark(0, matrix.size - 1) and matrix.is_dark(matrix.size - 1, 0)


def test_qr_code_in_the_pdf_is_the_verification_url(unit: Unit) -> None:
    # given a rendered receipt
    receipt = issue_direct(unit, nontax_payload())
    data = layout_data_from_receipt(receipt)
    pdf = render_receipt_pdf(data, xml=None)
    # when the modules written into the page are redrawn and decoded
    decoded = decode(modules_from_pdf(pdf))
    # then they carry exactly the receipt's verification URL
    assert decoded == [
        verify_url(
            receipt_code=receipt.receipt_code,
            number=receipt.number_text,
            check_code=receipt.check_code,
            issue_date=receipt.issue_date,
            amount=receipt.total_amount,
        )
    ]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_qr_code_scans_from_the_rasterised_page(unit: Unit, tmp_path: Path) -> None:
    # given a rendered receipt, rasterised at 200 dpi as a phone camera would see a print
    receipt = issue_direct(unit, nontax_payload())
    pdf_path = tmp_path / "receipt.pdf"
    pdf_path.write_bytes(render_receipt_pdf(layout_data_from_receipt(receipt), xml=None))
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", pdf_path, tmp_path / "page"], check=True)
    # when the page image is scanned
    with Image.open(tmp_path / "page.png") as page:
        decoded = decode(page.convert("L"))
    # then the one QR code on it opens this receipt's verification page
    assert decoded == [
        verify_url(
            receipt_code=receipt.receipt_code,
            number=receipt.number_text,
            check_code=receipt.check_code,
            issue_date=receipt.issue_date,
            amount=receipt.total_amount,
        )
    ]
