"""The embedded CJK TrueType font of layout files (版式文件中文字体).

The font is registered with reportlab once per process and path; reportlab then embeds
a subset of the glyphs each document uses, so every PDF carries its own font.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont, TTFontFace

DEFAULT_CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
# Characters every receipt prints; a font without them is no CJK font.
_PROBE = "票据代码号码校验壹贰元整（）："

_lock = threading.Lock()
_registered: dict[str, str] = {}


class _LargeFontFace(TTFontFace):
    """A font face that lends its large tables instead of copying them.

    reportlab copies the whole ``glyf`` table (10 MB in WenQuanYi Zen Hei) and ``post``
    table each time it cuts a subset, only to read a few slices: about a millisecond a
    document. A memoryview gives the same slices without the copy; the small tables
    that reportlab patches stay bytes.
    """

    _LENT = frozenset({"glyf", "post"})

    def get_table(self, tag: str) -> bytes | memoryview:
        if tag not in self._LENT:
            return super().get_table(tag)
        position, length = self.get_table_pos(tag)
        return memoryview(self._ttf_data)[position : position + length]


class CJKFontMissingError(RuntimeError):
    """No usable CJK TrueType font: layout files cannot be drawn."""

    def __init__(self, path: str, problem: str, problem_en: str) -> None:
        self.path = path
        super().__init__(
            f"版式文件所需的中文字体不可用：{path}（{problem}）。"
            "请安装 fonts-wqy-zenhei（apt-get install fonts-wqy-zenhei），"
            "或用设置项 EREC_CJK_FONT 指定一个 TrueType 中文字体文件（.ttf/.ttc）。"
            f" / The CJK font for layout files is not usable: {path} ({problem_en}). "
            "Install fonts-wqy-zenhei (apt-get install fonts-wqy-zenhei) "
            "or set EREC_CJK_FONT to a TrueType CJK font file (.ttf/.ttc)."
        )


def configured_font_path() -> str:
    """``settings.EREC_CJK_FONT``; the Debian default where Django is not set up (a bare script)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        return str(getattr(settings, "EREC_CJK_FONT", "") or DEFAULT_CJK_FONT)
    except ImproperlyConfigured:
        return DEFAULT_CJK_FONT


def cjk_font_name(path: str | None = None) -> str:
    """Register the font at ``path`` (subfont 0 of a collection) once; return its reportlab name.

    Raises CJKFontMissingError when the file is missing, is no TrueType font, or has no
    Chinese glyphs.
    """
    path = path or configured_font_path()
    name = _registered.get(path)
    if name is not None:
        return name
    with _lock:
        name = _registered.get(path)
        if name is None:
            name = _register(path)
            _registered[path] = name
    return name


def _register(path: str) -> str:
    if not Path(path).is_file():
        raise CJKFontMissingError(path, "文件不存在", "no such file")
    name = "ErecCJK-" + hashlib.sha256(path.encode()).hexdigest()[:8]
    try:
        font = TTFont(name, path, subfontIndex=0)
    except (TTFError, OSError) as exc:
        raise CJKFontMissingError(
            path, f"不是可用的 TrueType 字体：{exc}", f"not a usable TrueType font: {exc}"
        ) from exc
    if not all(ord(char) in font.face.charToGlyph for char in _PROBE):
        raise CJKFontMissingError(path, "字体不含中文字形", "the font has no Chinese glyphs")
    font.face.__class__ = _LargeFontFace
    pdfmetrics.registerFont(font)
    return name
