"""HMAC-SHA256 request authentication of reimbursing parties (报销/入账单位).

Parties sign exactly as interface units do (docs/api.md, "Request signing"): the same four
headers, the same string to sign and signature (``zhongtai.gateway.signing``), the same
clock window and single-use nonces (``zhongtai.gateway.nonces``), and the same error codes
in the same order. Only the credentials differ: a party's app id is looked up among
:class:`~verification.models.PartyCredential`, never among interface units' credentials, so
neither kind of credential opens the other's API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from verification.errors import VerificationError
from verification.models import PartyCredential, ReimbursingParty
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.authentication import nonce_claim_or_refuse, signed_request_check
from zhongtai.gateway.errors import GatewayError

# Parties' nonces are remembered apart from interface units' (the store keys them by app id).
NONCE_NAMESPACE = "party:"


@dataclass
class PartyPrincipal:
    """The caller of a signed request: one credential of one reimbursing party."""

    credential: PartyCredential
    party: ReimbursingParty
    is_authenticated: bool = True
    is_active: bool = True

    @property
    def actor(self) -> Actor:
        return Actor.api_client(self.credential.app_id)

    @property
    def can_write(self) -> bool:
        return self.credential.scope == PartyCredential.Scope.ENTRY


def _party_credential(app_id: str) -> PartyCredential | None:
    return PartyCredential.objects.select_related("party").filter(app_id=app_id).first()


class PartySignatureAuthentication(BaseAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return "EREC-HMAC-SHA256"

    def authenticate(self, request: Request) -> tuple[PartyPrincipal, PartyCredential] | None:
        checked = signed_request_check(request, credential_lookup=_party_credential)
        if checked is None:
            return None  # anonymous: the permission answers AUTH_REQUIRED
        credential, nonce = checked
        if credential.status != PartyCredential.Status.ACTIVE:
            raise ApplicationError(GatewayError.AUTH_CREDENTIAL_REVOKED, "应用凭证已吊销。", status=401)
        if credential.party.status != ReimbursingParty.Status.ACTIVE:
            raise ApplicationError(VerificationError.PARTY_INACTIVE, "报销/入账单位已暂停，不能调用接口。", status=403)
        nonce_claim_or_refuse(app_id=NONCE_NAMESPACE + credential.app_id, nonce=nonce)
        return PartyPrincipal(credential=credential, party=credential.party), credential


class IsReimbursingParty(BasePermission):
    """A signed request of a reimbursing party; a write (POST) needs the ``entry`` scope."""

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, PartyPrincipal):
            return False
        if request.method not in ("GET", "HEAD", "OPTIONS") and not principal.can_write:
            raise ApplicationError(GatewayError.SCOPE_READ_ONLY, "该应用凭证为只读权限，不能执行写操作。", status=403)
        return True


def party_of(request: Request) -> PartyPrincipal:
    principal = request.user
    assert isinstance(principal, PartyPrincipal)
    return principal
