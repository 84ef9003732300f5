"""The enrolment QR code (inline SVG) is a real QR code of the otpauth:// URI."""

from __future__ import annotations

import re

import zxingcpp
from PIL import Image, ImageDraw

from tests.zhongtai.accounts.conftest import SECRET
from zhongtai.accounts.enrolment import enrolment_for


def rasterise(svg: str, scale: int = 4) -> Image.Image:
    """Draw the SVG's module runs (M x y h len v1 h-len z) as a black-on-white bitmap."""
    side_match = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert side_match is not None
    side = int(side_match.group(1))
    image = Image.new("L", (side * scale, side * scale), 255)
    draw = ImageDraw.Draw(image)
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", svg)
    assert runs
    for x, y, length in ((int(a), int(b), int(c)) for a, b, c in runs):
        draw.rectangle([x * scale, y * scale, (x + length) * scale - 1, (y + 1) * scale - 1], fill=0)
    return image


def test_the_qr_code_reads_back_as_the_otpauth_uri() -> None:
    # given the enrolment of a user / when its SVG is drawn and read by a QR reader
    enrolment = enrolment_for(account="changsha", secret=SECRET)
    decoded = [result.text for result in zxingcpp.read_barcodes(rasterise(str(enrolment.qr_svg)))]
    # then it is exactly the URI an authenticator app needs
    assert decoded == [enrolment.uri]
    assert enrolment.uri.startswith("otpauth://totp/")
    assert "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" in enrolment.uri  # base32 of the RFC seed


def test_the_secret_is_shown_in_groups_of_four_for_typing() -> None:
    enrolment = enrolment_for(account="changsha", secret=SECRET)
    assert enrolment.secret_grouped == "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
