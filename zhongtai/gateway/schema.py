"""OpenAPI description of the HMAC request signature (loaded by the app config)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class HmacSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "zhongtai.gateway.authentication.HmacSignatureAuthentication"
    name = "HmacSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": (
                "HMAC-SHA256 request signature. Send X-App-Id, X-Timestamp (Unix seconds), "
                "X-Nonce (16-64 chars, single use) and X-Signature = lower-case hex "
                "HMAC-SHA256(secret, METHOD\\nPATH\\nCANONICAL_QUERY\\nTIMESTAMP\\nNONCE\\nhex(SHA-256(body))). "
                "See docs/api.md."
            ),
        }
