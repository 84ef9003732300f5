"""What an enrolment page shows: the otpauth:// URI as a QR code (inline SVG) and as text.

The QR code is drawn from zxing-cpp's matrix (``issuance.layout.qr``, the encoder of the
layout files), one rectangle per run of dark modules: no image file, nothing sent to a
third party, and the secret never leaves the page it is shown on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

from zhongtai.accounts import totp

QUIET_ZONE = 4  # modules of white border the QR specification asks for
MODULE_PIXELS = 5


@dataclass(frozen=True)
class Enrolment:
    uri: str
    qr_svg: SafeString
    secret_base32: str

    @property
    def secret_grouped(self) -> str:
        """The base32 secret in groups of four, as people copy it into an app by hand."""
        return " ".join(self.secret_base32[i : i + 4] for i in range(0, len(self.secret_base32), 4))


def qr_svg(text: str) -> SafeString:
    from issuance.layout.qr import qr_matrix

    matrix = qr_matrix(text, ec_level="M")
    side = matrix.size + 2 * QUIET_ZONE
    # Only integers go into the markup, so it is safe to mark as such.
    path = "".join(
        f"M{column + QUIET_ZONE} {row + QUIET_ZONE}h{length}v1h-{length}z" for row, column, length in matrix.runs
    )
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'width="{side * MODULE_PIXELS}" height="{side * MODULE_PIXELS}" shape-rendering="crispEdges" '
        f'role="img" aria-label="动态口令绑定二维码"><rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>'
    )


def enrolment_for(*, account: str, secret: bytes) -> Enrolment:
    uri = totp.provisioning_uri(secret, account=account, issuer=settings.EREC_TOTP_ISSUER)
    return Enrolment(uri=uri, qr_svg=qr_svg(uri), secret_base32=totp.secret_to_base32(secret))
