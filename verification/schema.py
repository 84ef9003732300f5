"""OpenAPI description of the reimbursing parties' request signature (loaded by the app config)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PartySignatureScheme(OpenApiAuthenticationExtension):
    target_class = "verification.authentication.PartySignatureAuthentication"
    name = "PartyHmacSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": (
                "The reimbursing party's HMAC-SHA256 request signature, computed exactly as an interface "
                "unit's (see HmacSignature and docs/api.md) with the party's own app id and secret."
            ),
        }
