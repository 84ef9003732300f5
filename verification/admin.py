from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from verification.models import PartyCredential, ReceiptEntry, ReimbursingParty
from verification.services import party_create, party_credential_create, party_credential_revoke, party_update
from zhongtai.accounts.admin_scoping import RegionScopedAdmin
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError


def _actor(request: HttpRequest) -> Actor:
    return Actor.user(request.user.get_username())


@admin.register(ReimbursingParty)
class ReimbursingPartyAdmin(RegionScopedAdmin, admin.ModelAdmin):
    # Parties serve the whole province: every bureau sees them, only the province changes them.
    scope_province_wide = True
    list_display = ("name", "party_type", "credit_code", "contact_person", "contact_phone", "status", "created_at")
    list_filter = ("party_type", "status")
    search_fields = ("name", "credit_code")
    actions = ["issue_credentials"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # entries refer to the party for ever; suspend it instead

    def save_model(self, request: HttpRequest, obj: ReimbursingParty, form: Any, change: bool) -> None:
        # Through the services (not the mixin's plain save), which validate and audit the change.
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            if changes:
                party_update(party=obj, changes=changes, actor=_actor(request))
                obj.refresh_from_db()
            return
        created = party_create(
            name=obj.name,
            party_type=obj.party_type,
            credit_code=obj.credit_code,
            contact_person=obj.contact_person,
            contact_phone=obj.contact_phone,
            contact_email=obj.contact_email,
            actor=_actor(request),
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    @admin.action(description="为所选报销/入账单位签发应用凭证", permissions=["change"])
    def issue_credentials(self, request: HttpRequest, queryset: QuerySet[ReimbursingParty]) -> HttpResponse | None:
        """One credential per selected party; the secrets are shown once, on this page only."""
        issued, refused = [], []
        for party in queryset:
            if party.status != ReimbursingParty.Status.ACTIVE:
                refused.append(f"{party}：单位已暂停，不能签发凭证。")
                continue
            try:
                issued.append(party_credential_create(party=party, actor=_actor(request), label="管理后台签发"))
            except ApplicationError as exc:
                refused.append(f"{party}：{exc.message}")
        for message in refused:
            self.message_user(request, message, level=messages.ERROR)
        if not issued:
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "报销单位应用凭证已签发",
            "issued": issued,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/verification/party_credentials_issued.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(PartyCredential)
class PartyCredentialAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_province_wide = True
    list_display = ("app_id", "party", "scope", "status", "label", "created_at", "revoked_at")
    list_filter = ("status", "scope")
    search_fields = ("app_id", "party__name", "party__credit_code")
    readonly_fields = ("app_id", "party", "scope", "status", "created_at", "created_by", "revoked_at", "revoked_by")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Creation shows the secret once: use the parties' action or `manage.py party_credentials`.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="吊销所选应用凭证", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PartyCredential]) -> None:
        count = 0
        for credential in queryset:
            party_credential_revoke(credential=credential, actor=_actor(request))
            count += 1
        messages.success(request, f"已吊销 {count} 个应用凭证。")


@admin.register(ReceiptEntry)
class ReceiptEntryAdmin(RegionScopedAdmin, admin.ModelAdmin):
    """Read-only: entries are recorded and cancelled by the parties themselves, through the API.

    A bureau sees the entries of its region's receipts.
    """

    scope_region_paths = ("receipt__region_code",)

    list_display = ("receipt", "party", "kind", "amount", "entry_date", "status", "entered_at", "cancelled_at")
    list_filter = ("status", "kind", "party__party_type")
    search_fields = ("receipt__receipt_code", "party__name", "reference")
    list_select_related = ("receipt", "party")
    date_hierarchy = "entered_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
