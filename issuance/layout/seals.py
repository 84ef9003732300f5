"""Vector seals (印章的版式表现): the unit's round seal and the finance supervision seal.

The signatures in the XML are what make a receipt valid; these drawings show who signed.
Each seal is a red outline, the name along the upper arc (one rotated glyph per
character) and a legend across the middle. The name is also written once as invisible
text, so that text extraction and search find it.
"""

from __future__ import annotations

import bisect
import math
from functools import lru_cache

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

# The name of a seal spreads over at least the first and at most the second arc (degrees).
_MIN_ARC = 150.0
_MAX_ARC = 250.0
# Seal characters are condensed (per cent), as engraved seals are.
_CONDENSED = 82.0
_SAMPLES = 720


@lru_cache(maxsize=256)
def _arc_lengths(rx: float, ry: float) -> tuple[float, ...]:
    """Cumulative arc length of the ellipse at parameter t = 2πi/_SAMPLES, counter-clockwise from +x."""
    lengths = [0.0]
    previous = (rx, 0.0)
    for index in range(1, _SAMPLES + 1):
        t = 2 * math.pi * index / _SAMPLES
        point = (rx * math.cos(t), ry * math.sin(t))
        lengths.append(lengths[-1] + math.hypot(point[0] - previous[0], point[1] - previous[1]))
        previous = point
    return tuple(lengths)


def _length_at(lengths: tuple[float, ...], index: int) -> float:
    """Arc length at sample ``index``, negative indices before t = 0 (going clockwise)."""
    return lengths[index] if index >= 0 else lengths[index + _SAMPLES] - lengths[-1]


def _arc_span(rx: float, ry: float, degrees: float) -> float:
    """Length of the arc of ``degrees`` (in the parameter) centred on the top."""
    lengths = _arc_lengths(rx, ry)
    half = round(_SAMPLES * degrees / 720)
    return _length_at(lengths, _SAMPLES // 4 + half) - _length_at(lengths, _SAMPLES // 4 - half)


@lru_cache(maxsize=512)
def _arc_placements(count: int, rx: float, ry: float, step: float) -> tuple[tuple[float, float, float], ...]:
    """(x, y, rotation in degrees) of the centres of ``count`` characters ``step`` apart.

    Equal arc-length steps on the ellipse (rx, ry), centred on the top, read left to
    right (clockwise), each glyph upright towards the outside.
    """
    lengths = _arc_lengths(rx, ry)
    top = lengths[_SAMPLES // 4]
    total = lengths[-1]
    placements = []
    for index in range(count):
        target = (top + (count - 1) / 2 * step - index * step) % total
        position = min(bisect.bisect_left(lengths, target), _SAMPLES)
        t = 2 * math.pi * position / _SAMPLES
        # The counter-clockwise tangent; reading runs the other way round.
        tangent = math.degrees(math.atan2(ry * math.cos(t), -rx * math.sin(t)))
        placements.append((rx * math.cos(t), ry * math.sin(t), tangent - 180.0))
    return tuple(placements)


def _ellipse_path(cx: float, cy: float, rx: float, ry: float) -> str:
    """An ellipse as four Bézier curves (PDF operators, closed, not painted)."""
    k = 0.5522847498
    ox, oy = rx * k, ry * k
    return (
        f"{cx + rx:.2f} {cy:.2f} m "
        f"{cx + rx:.2f} {cy + oy:.2f} {cx + ox:.2f} {cy + ry:.2f} {cx:.2f} {cy + ry:.2f} c "
        f"{cx - ox:.2f} {cy + ry:.2f} {cx - rx:.2f} {cy + oy:.2f} {cx - rx:.2f} {cy:.2f} c "
        f"{cx - rx:.2f} {cy - oy:.2f} {cx - ox:.2f} {cy - ry:.2f} {cx:.2f} {cy - ry:.2f} c "
        f"{cx + ox:.2f} {cy - ry:.2f} {cx + rx:.2f} {cy - oy:.2f} {cx + rx:.2f} {cy:.2f} c h"
    )


def _star_path(cx: float, cy: float, radius: float) -> str:
    points = []
    for index in range(10):
        r = radius if index % 2 == 0 else radius * 0.382
        angle = math.radians(90 + index * 36)
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    (x0, y0), *rest = points
    return f"{x0:.2f} {y0:.2f} m " + " ".join(f"{x:.2f} {y:.2f} l" for x, y in rest) + " h"


@lru_cache(maxsize=256)
def seal_outline_operators(
    cx: float, cy: float, rx: float, ry: float, rgb: tuple[float, float, float], star: bool
) -> str:
    """PDF operators of the rings (a thick and a thin one for an oval seal) and the star."""
    r, g, b = rgb
    border = min(rx, ry) * 0.06
    parts = [f"q {r:.3f} {g:.3f} {b:.3f} RG {r:.3f} {g:.3f} {b:.3f} rg {border:.2f} w"]
    parts.append(_ellipse_path(cx, cy, rx - border / 2, ry - border / 2) + " S")
    if rx != ry:
        inset = border * 2.2
        parts.append(f"{border * 0.35:.2f} w " + _ellipse_path(cx, cy, rx - inset, ry - inset) + " S")
    if star:
        parts.append(_star_path(cx, cy, min(rx, ry) * 0.30) + " f")
    parts.append("Q")
    return " ".join(parts)


@lru_cache(maxsize=256)
def _name_size(count: int, rx: float, ry: float, inset: float) -> tuple[float, float, float, float]:
    """(character size, arc rx, arc ry, step) so that ``count`` characters fit the widest arc."""
    size = min(min(rx, ry) * (0.27 if rx == ry else 0.32), 13.0)
    while True:
        arc_rx, arc_ry = rx - inset - size * 0.55, ry - inset - size * 0.55
        char_step = size * _CONDENSED / 100 * 1.1
        gaps = max(count - 1, 1)
        widest = _arc_span(round(arc_rx, 2), round(arc_ry, 2), _MAX_ARC)
        if char_step * gaps <= widest or size <= 4.0:
            narrowest = _arc_span(round(arc_rx, 2), round(arc_ry, 2), _MIN_ARC)
            step = min(max(char_step, narrowest / gaps), widest / gaps)
            return size, round(arc_rx, 2), round(arc_ry, 2), step
        size *= 0.93


def draw_seal(
    canvas: Canvas,
    *,
    font: str,
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    name: str,
    legend: str,
    rgb: tuple[float, float, float],
    star: bool,
) -> None:
    """Draw a seal centred at (cx, cy) with semi-axes (rx, ry) in points; rx == ry is round."""
    canvas.addLiteral(seal_outline_operators(cx, cy, rx, ry, rgb, star))
    border = min(rx, ry) * 0.06
    inset = border * (3.0 if rx != ry else 1.4)
    chars = name.strip()
    size, arc_rx, arc_ry, step = _name_size(len(chars), rx, ry, inset)
    text = canvas.beginText()
    text.setFont(font, size)
    text.setFillColorRGB(*rgb)
    text.setHorizScale(_CONDENSED)
    for char, (x, y, rotation) in zip(chars, _arc_placements(len(chars), arc_rx, arc_ry, step), strict=True):
        radians = math.radians(rotation)
        cos, sin = math.cos(radians), math.sin(radians)
        # Put the glyph's centre on the arc point: offset its origin within the rotated frame.
        ox, oy = -stringWidth(char, font, size) * _CONDENSED / 200, -size * 0.36
        text.setTextTransform(cos, sin, -sin, cos, cx + x + ox * cos - oy * sin, cy + y + ox * sin + oy * cos)
        text.textOut(char)
    if legend:
        legend_size = min(size * 0.8, rx * 1.25 / len(legend) / (_CONDENSED / 100))
        width = stringWidth(legend, font, legend_size) * _CONDENSED / 100
        legend_y = cy - ry * 0.58 if star else cy - legend_size * 0.35
        text.setFont(font, legend_size)
        text.setTextTransform(1, 0, 0, 1, cx - width / 2, legend_y)
        text.textOut(legend)
    text.setHorizScale(100)
    canvas.drawText(text)
    invisible_text(canvas, font=font, x=cx - rx * 0.8, y=cy, size=4.0, text=name)


def invisible_text(canvas: Canvas, *, font: str, x: float, y: float, size: float, text: str) -> None:
    """Text that is found and extracted but not painted (render mode 3)."""
    obj = canvas.beginText(x, y)
    obj.setFont(font, size)
    obj.setTextRenderMode(3)
    obj.textOut(text)
    obj.setTextRenderMode(0)
    canvas.drawText(obj)
