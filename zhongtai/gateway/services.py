from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.crypto import secret_encrypt
from zhongtai.gateway.errors import GatewayError
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata.models import Unit


@dataclass(frozen=True)
class IssuedCredential:
    credential: ApiCredential
    secret: str  # shown once, never stored in clear


def credential_create(
    *,
    unit: Unit,
    actor: Actor,
    label: str = "",
    scope: str = ApiCredential.Scope.ISSUE,
    app_id: str | None = None,
    secret: str | None = None,
    sandbox: bool = False,
) -> IssuedCredential:
    """New credentials for an interface unit. ``app_id``/``secret`` only for fixed demo data.

    ``sandbox`` credentials (联调测试) work in the sandbox only: what they issue is numbered
    apart, marked as test receipts and never valid, and they see no production receipt.
    """
    if unit.connection_mode != Unit.ConnectionMode.INTERFACE:
        raise ApplicationError(GatewayError.UNIT_NOT_INTERFACE, "只有接口单位可以申请接口应用凭证。")
    if scope not in ApiCredential.Scope.values:
        raise ApplicationError(GatewayError.AUTH_MALFORMED_HEADERS, "未知的权限范围。")
    app_id = app_id or "ak" + secrets.token_hex(10)
    secret = secret or secrets.token_urlsafe(32)
    with transaction.atomic():
        credential = ApiCredential.objects.create(
            unit=unit,
            app_id=app_id,
            secret_encrypted=secret_encrypt(secret),
            label=label,
            scope=scope,
            sandbox=sandbox,
            created_by=actor.name,
        )
        audit_record(
            actor=actor,
            action="credential.create",
            object_type="api_credential",
            object_id=app_id,
            unit_code=unit.code,
            region_code=unit.region.code,
            data={"scope": scope, "label": label, "sandbox": sandbox},
        )
    return IssuedCredential(credential=credential, secret=secret)


def credential_revoke(*, credential: ApiCredential, actor: Actor) -> ApiCredential:
    with transaction.atomic():
        updated = ApiCredential.objects.filter(pk=credential.pk, status=ApiCredential.Status.ACTIVE).update(
            status=ApiCredential.Status.REVOKED, revoked_at=timezone.now(), revoked_by=actor.name
        )
        if updated:
            audit_record(
                actor=actor,
                action="credential.revoke",
                object_type="api_credential",
                object_id=credential.app_id,
                unit_code=credential.unit.code,
            )
    credential.refresh_from_db()
    return credential
