"""The public page's captcha (验证码): 4-5 characters drawn as a distorted SVG, no dependency.

The characters are drawn as strokes of a small vector font of our own (never as SVG text,
which a script would simply read), each one scaled, rotated, sheared, shifted and jittered
at random, over random curves and dots.

The answer is kept only as a keyed hash (HMAC with the SECRET_KEY, bound to the captcha's
random id) in the shared cache, for ``EREC_VERIFY_CAPTCHA_SECONDS``. It is case-insensitive
and single use: checking it deletes it, right or wrong, and of two simultaneous checks of
one captcha only the one whose delete removed the entry can pass.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac

# No 0/O, 1/I/L, 2/Z, 5/S, 9/G, B/8 lookalikes.
ALPHABET = "ACDEFHJKMNPRTUVWXY34678"
ID_RE = re.compile(r"^[A-Za-z0-9_-]{22}\Z")
WIDTH, HEIGHT = 160, 56

Stroke = tuple[tuple[float, float], ...]

# Each glyph: polylines on a 6 x 10 grid, y downwards.
GLYPHS: dict[str, tuple[Stroke, ...]] = {
    "A": (((0, 10), (3, 0), (6, 10)), ((1.2, 6.5), (4.8, 6.5))),
    "C": (((6, 1.5), (4.5, 0), (1.5, 0), (0, 2), (0, 8), (1.5, 10), (4.5, 10), (6, 8.5)),),
    "D": (((0, 0), (0, 10), (3.5, 10), (6, 7.5), (6, 2.5), (3.5, 0), (0, 0)),),
    "E": (((6, 0), (0, 0), (0, 10), (6, 10)), ((0, 5), (4.5, 5))),
    "F": (((6, 0), (0, 0), (0, 10)), ((0, 5), (4.5, 5))),
    "H": (((0, 0), (0, 10)), ((6, 0), (6, 10)), ((0, 5), (6, 5))),
    "J": (((6, 0), (6, 8), (4.5, 10), (1.5, 10), (0, 8)),),
    "K": (((0, 0), (0, 10)), ((6, 0), (0, 6.5)), ((2.2, 4.2), (6, 10))),
    "M": (((0, 10), (0, 0), (3, 6), (6, 0), (6, 10)),),
    "N": (((0, 10), (0, 0), (6, 10), (6, 0)),),
    "P": (((0, 10), (0, 0), (4.5, 0), (6, 1.5), (6, 3.5), (4.5, 5), (0, 5)),),
    "R": (((0, 10), (0, 0), (4.5, 0), (6, 1.5), (6, 3.5), (4.5, 5), (0, 5)), ((3, 5), (6, 10))),
    "T": (((0, 0), (6, 0)), ((3, 0), (3, 10))),
    "U": (((0, 0), (0, 8), (1.5, 10), (4.5, 10), (6, 8), (6, 0)),),
    "V": (((0, 0), (3, 10), (6, 0)),),
    "W": (((0, 0), (1.5, 10), (3, 4), (4.5, 10), (6, 0)),),
    "X": (((0, 0), (6, 10)), ((6, 0), (0, 10))),
    "Y": (((0, 0), (3, 5), (6, 0)), ((3, 5), (3, 10))),
    "3": (
        ((0, 1), (1.5, 0), (4.5, 0), (6, 1.5), (6, 3.5), (4.5, 5), (2, 5)),
        ((4.5, 5), (6, 6.5), (6, 8.5), (4.5, 10), (1.5, 10), (0, 9)),
    ),
    "4": (((4.5, 10), (4.5, 0), (0, 7), (6, 7)),),
    "6": (
        (
            (5.5, 0.5),
            (4, 0),
            (2, 0),
            (0, 2.5),
            (0, 8),
            (1.5, 10),
            (4.5, 10),
            (6, 8.5),
            (6, 6.5),
            (4.5, 5),
            (1.5, 5),
            (0, 6.5),
        ),
    ),
    "7": (((0, 0), (6, 0), (2, 10)),),
    "8": (
        ((3, 5), (1, 4), (0.5, 2), (1.5, 0), (4.5, 0), (5.5, 2), (5, 4), (3, 5)),
        ((3, 5), (0.5, 6.5), (0.5, 8.5), (1.5, 10), (4.5, 10), (5.5, 8.5), (5.5, 6.5), (3, 5)),
    ),
}
assert set(GLYPHS) == set(ALPHABET)


@dataclass(frozen=True)
class Captcha:
    """A captcha as the form shows it: its id (a hidden field) and its picture (inline SVG)."""

    captcha_id: str
    svg: str


def _key(captcha_id: str) -> str:
    return f"verify:captcha:{captcha_id}"


def _digest(captcha_id: str, answer: str) -> str:
    return salted_hmac("verification.captcha", f"{captcha_id}:{answer.strip().upper()}").hexdigest()


def captcha_issue(*, length: int | None = None) -> tuple[Captcha, str]:
    """A new captcha and its answer; only the answer's keyed hash is stored.

    The answer is returned for the caller that draws it (and for tests, which read it on the
    server side instead of from the picture).
    """
    rng = secrets.SystemRandom()
    count = length or rng.choice((4, 5))
    answer = "".join(rng.choice(ALPHABET) for _ in range(count))
    captcha_id = secrets.token_urlsafe(16)
    ttl = settings.EREC_VERIFY_CAPTCHA_SECONDS
    cache.set(_key(captcha_id), {"h": _digest(captcha_id, answer), "e": time.time() + ttl}, timeout=ttl)
    return Captcha(captcha_id=captcha_id, svg=captcha_svg(answer, rng=rng)), answer


def captcha_check(*, captcha_id: str, answer: str) -> bool:
    """True if ``answer`` solves the captcha ``captcha_id``; the captcha is used up either way."""
    if not ID_RE.match(captcha_id or ""):
        return False
    key = _key(captcha_id)
    stored = cache.get(key)
    if not isinstance(stored, dict):
        return False
    if not cache.delete(key):
        return False  # a simultaneous check used it first
    if float(stored.get("e", 0)) < time.time():
        return False
    return constant_time_compare(str(stored.get("h", "")), _digest(captcha_id, answer or ""))


# --- drawing ----------------------------------------------------------------------------------


def _colour(rng: secrets.SystemRandom, low: int, high: int) -> str:
    return "#" + "".join(f"{rng.randint(low, high):02x}" for _ in range(3))


def _glyph_paths(char: str, origin_x: float, rng: secrets.SystemRandom) -> list[str]:
    scale_x = rng.uniform(2.6, 3.4)
    scale_y = rng.uniform(2.9, 3.5)
    angle = math.radians(rng.uniform(-28, 28))
    shear = rng.uniform(-0.35, 0.35)
    centre_x = origin_x + rng.uniform(-2, 2)
    centre_y = HEIGHT / 2 + rng.uniform(-5, 5)
    cos, sin = math.cos(angle), math.sin(angle)
    paths = []
    for stroke in GLYPHS[char]:
        points = []
        for gx, gy in stroke:
            x = (gx - 3 + shear * (gy - 5)) * scale_x + rng.uniform(-0.9, 0.9)
            y = (gy - 5) * scale_y + rng.uniform(-0.9, 0.9)
            points.append((centre_x + x * cos - y * sin, centre_y + x * sin + y * cos))
        first, *rest = points
        d = f"M{first[0]:.1f} {first[1]:.1f}" + "".join(f"L{x:.1f} {y:.1f}" for x, y in rest)
        paths.append(d)
    return paths


def captcha_svg(answer: str, *, rng: secrets.SystemRandom | None = None) -> str:
    """The picture of ``answer``: an inline SVG of paths only."""
    rng = rng or secrets.SystemRandom()
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'role="img" aria-label="验证码图片" class="captcha-image">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{_colour(rng, 0xE8, 0xFF)}"/>',
    ]
    for _ in range(rng.randint(3, 5)):  # curves behind the characters
        parts.append(_noise_curve(rng, width=rng.uniform(0.8, 1.6), low=0x80, high=0xC8))
    step = (WIDTH - 24) / len(answer)
    for index, char in enumerate(answer):
        colour = _colour(rng, 0x10, 0x70)
        width = rng.uniform(2.2, 3.0)
        for d in _glyph_paths(char, 12 + step * (index + 0.5), rng):
            parts.append(
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width:.1f}" '
                'stroke-linecap="round" stroke-linejoin="round"/>'
            )
    for _ in range(rng.randint(2, 3)):  # curves across the characters
        parts.append(_noise_curve(rng, width=rng.uniform(1.0, 1.8), low=0x30, high=0x90))
    for _ in range(rng.randint(30, 45)):
        parts.append(
            f'<circle cx="{rng.uniform(0, WIDTH):.1f}" cy="{rng.uniform(0, HEIGHT):.1f}" '
            f'r="{rng.uniform(0.6, 1.6):.1f}" fill="{_colour(rng, 0x40, 0xB0)}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _noise_curve(rng: secrets.SystemRandom, *, width: float, low: int, high: int) -> str:
    y0, y1 = rng.uniform(5, HEIGHT - 5), rng.uniform(5, HEIGHT - 5)
    c1 = (rng.uniform(20, WIDTH / 2), rng.uniform(-10, HEIGHT + 10))
    c2 = (rng.uniform(WIDTH / 2, WIDTH - 20), rng.uniform(-10, HEIGHT + 10))
    d = f"M0 {y0:.1f}C{c1[0]:.1f} {c1[1]:.1f} {c2[0]:.1f} {c2[1]:.1f} {WIDTH} {y1:.1f}"
    return f'<path d="{d}" fill="none" stroke="{_colour(rng, low, high)}" stroke-width="{width:.1f}"/>'
