"""Read-only admin pages of the provincial CA; revocation is the only action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from zhongtai.accounts.admin_scoping import RegionScopedAdmin
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.signing.models import Certificate, CertificateAuthority, RevocationList
from zhongtai.signing.services import certificate_revoke, crl_generate


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Certificates come from services only (manage.py commands); the admin shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(_ReadOnlyAdmin):
    list_display = ("name", "kind", "region", "status", "certificate_serial", "not_after", "crl_number", "created_at")
    list_filter = ("kind", "status")
    fields = ("name", "kind", "region", "parent", "status", "certificate", "crl_number", "created_at")
    readonly_fields = fields

    @admin.display(description="证书序列号")
    def certificate_serial(self, obj: CertificateAuthority) -> str:
        return obj.certificate.serial_number if obj.certificate else ""

    @admin.display(description="失效时间")
    def not_after(self, obj: CertificateAuthority) -> Any:
        return obj.certificate.not_after if obj.certificate else None


def _revoke_action(reason: Certificate.RevocationReason) -> Callable[..., None]:
    def action(modeladmin: CertificateAdmin, request: HttpRequest, queryset: QuerySet[Certificate]) -> None:
        actor = Actor.user(request.user.get_username())
        done, refused = 0, []
        for certificate in queryset.select_related("unit__region", "bureau__region"):
            try:
                certificate_revoke(certificate=certificate, reason=reason.value, actor=actor)
                done += 1
            except ApplicationError as exc:
                refused.append(exc.message)
        if done:
            # Publish at once: third parties learn of a revocation only through the CRL.
            crl_generate(actor=actor)
            messages.success(request, f"已吊销 {done} 张证书（{reason.label}），并已发布新的证书吊销列表（CRL）。")
        for message in refused:
            messages.error(request, message)

    action.__name__ = f"revoke_{reason.value}"
    return admin.action(description=f"吊销所选证书：{reason.label}", permissions=["revoke"])(action)


@admin.register(Certificate)
class CertificateAdmin(RegionScopedAdmin, _ReadOnlyAdmin):
    scope_region_paths = ("unit__region__code", "bureau__region__code")
    list_display = (
        "serial_number",
        "role",
        "holder",
        "status",
        "key_custody",
        "not_before",
        "not_after",
        "revoked_at",
        "revocation_reason",
    )
    list_filter = ("role", "status", "key_custody", "revocation_reason")
    search_fields = ("serial_number", "subject", "unit__code", "unit__name", "unit__credit_code", "bureau__name")
    # The sealed private key is never shown, not even encrypted.
    fields = (
        "serial_number",
        "role",
        "subject",
        "unit",
        "bureau",
        "issued_by",
        "not_before",
        "not_after",
        "status",
        "revoked_at",
        "revocation_reason",
        "key_custody",
        "fingerprint_sm3",
        "renewal_of",
        "created_at",
    )
    readonly_fields = fields
    actions = [
        _revoke_action(reason)
        for reason in (
            Certificate.RevocationReason.KEY_COMPROMISE,
            Certificate.RevocationReason.AFFILIATION_CHANGED,
            Certificate.RevocationReason.SUPERSEDED,
            Certificate.RevocationReason.CESSATION_OF_OPERATION,
            Certificate.RevocationReason.UNSPECIFIED,
        )
    ]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        # Pages are read-only for everybody; revoking needs the model's change permission.
        return request.user.has_perm("signing.change_certificate")

    @admin.display(description="持有者")
    def holder(self, obj: Certificate) -> str:
        return obj.holder_label

    def get_queryset(self, request: HttpRequest) -> QuerySet[Certificate]:
        return super().get_queryset(request).select_related("unit", "bureau").defer("der", "private_key_sealed")


@admin.register(RevocationList)
class RevocationListAdmin(_ReadOnlyAdmin):
    list_display = ("authority", "crl_number", "this_update", "next_update", "revoked_count", "created_at")
    list_filter = ("authority",)
    fields = ("authority", "crl_number", "this_update", "next_update", "revoked_count", "created_at")
    readonly_fields = fields
