"""QR codes as vector modules, encoded by zxing-cpp's compiled encoder.

The pure-Python encoders cost more than the rest of a page; zxing-cpp encodes a
verification URL in about a quarter of a millisecond. Dark modules are merged into one
rectangle per horizontal run and written straight into the content stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import zxingcpp


@dataclass(frozen=True, slots=True)
class QRMatrix:
    """A QR symbol without quiet zone: ``size`` modules square, dark runs per row."""

    size: int
    runs: tuple[tuple[int, int, int], ...]  # (row, first column, length)

    def is_dark(self, row: int, column: int) -> bool:
        return any(r == row and start <= column < start + length for r, start, length in self.runs)


def qr_matrix(text: str, *, ec_level: str = "M") -> QRMatrix:
    """Encode ``text`` (byte mode, UTF-8) with error correction level ``ec_level``."""
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level)
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    pixels = bytes(memoryview(image))
    runs: list[tuple[int, int, int]] = []
    for row in range(height):
        line = pixels[row * width : (row + 1) * width]
        column = line.find(0)
        while column != -1:
            end = line.find(255, column)
            if end == -1:
                end = width
            runs.append((row, column, end - column))
            column = line.find(0, end)
    return QRMatrix(size=width, runs=tuple(runs))


def qr_pdf_operators(matrix: QRMatrix, *, left: float, top: float, size: float) -> str:
    """PDF content operators drawing ``matrix`` in black, ``size`` points square, top-left at (left, top).

    The coordinate system is scaled to one unit per module, y pointing down, so each run
    is a short integer ``re`` and the whole symbol is a single fill.
    """
    module = size / matrix.size
    rects = " ".join(f"{column} {row} {length} 1 re" for row, column, length in matrix.runs)
    return f"q 0 g {module:.4f} 0 0 {-module:.4f} {left:.2f} {top:.2f} cm {rects} f Q"
