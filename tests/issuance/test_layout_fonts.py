"""Layout files embed their CJK font, and a missing font is a clear error."""

from __future__ import annotations

import datetime
import io
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import reportlab
from pypdf import PdfReader

from issuance.layout import CJKFontMissingError, LayoutData, LayoutItem, render_receipt_pdf

ROOT = Path(__file__).resolve().parents[2]


def sample_data() -> LayoutData:
    return LayoutData(
        title="湖南省非税收入统一票据（电子）",
        kind_name="非税收入统一票据",
        specimen_code="FS0101",
        receipt_code="43010126",
        number="0000000001",
        check_code="138973",
        issue_date=datetime.date(2026, 3, 1),
        payer_name="张三",
        items=(LayoutItem("F0001", "证书工本费", "本", Decimal("1"), Decimal("10.00"), Decimal("10.00")),),
        total_amount=Decimal("10.00"),
        total_in_capitals="壹拾元整",
        payee_unit_name="长沙市第一中学",
        unit_seal_name="长沙市第一中学",
        supervision_seal_name="湖南省财政厅",
    )


def test_every_font_of_the_page_is_an_embedded_truetype_subset() -> None:
    # given a rendered layout file
    reader = PdfReader(io.BytesIO(render_receipt_pdf(sample_data(), xml=None)))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    # then each font is a TrueType subset with its font program embedded (no base-14 font)
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        assert font["/Subtype"] == "/TrueType"
        assert re.fullmatch(r"/[A-Z]{6}\+WenQuanYiZenHei.*", font["/BaseFont"]), font["/BaseFont"]
        program = font["/FontDescriptor"]["/FontFile2"].get_object()
        assert len(program.get_data()) > 1000
        assert "/ToUnicode" in font  # the text can be searched and copied


def test_a_missing_font_file_names_the_setting_and_the_package(settings: Any, tmp_path: Path) -> None:
    # given EREC_CJK_FONT pointing at no file
    missing = tmp_path / "no-such-font.ttc"
    settings.EREC_CJK_FONT = str(missing)
    # when a layout file is drawn / then the error says what to do, in Chinese and English
    with pytest.raises(CJKFontMissingError) as caught:
        render_receipt_pdf(sample_data(), xml=None)
    message = str(caught.value)
    assert str(missing) in message
    assert "EREC_CJK_FONT" in message and "fonts-wqy-zenhei" in message
    assert "中文字体" in message and "not usable" in message
    assert caught.value.path == str(missing)


def test_a_font_without_chinese_glyphs_is_refused() -> None:
    latin = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    with pytest.raises(CJKFontMissingError, match="no Chinese glyphs"):
        render_receipt_pdf(sample_data(), xml=None, font_path=str(latin))


def test_a_file_that_is_no_font_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ttc"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(CJKFontMissingError, match="not a usable TrueType font"):
        render_receipt_pdf(sample_data(), xml=None, font_path=str(junk))


def test_the_renderer_needs_no_django_models() -> None:
    # given a fresh interpreter without Django settings
    code = (
        "import sys; import issuance.layout.renderer, issuance.layout.attach; "
        "assert 'django.db.models' not in sys.modules, 'models imported'"
    )
    # when the renderer is imported / then no Django model machinery came with it
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
