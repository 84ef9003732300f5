"""The workbench's pages of the webhooks app.

* 回调地址: bureaus register and change their interface units' callback addresses; the
  province those of reimbursing parties (parties serve the whole province). A new address,
  or a new secret, is shown once on the page that follows.
* 回调记录: read-only; a dead delivery can be sent again (audited).
* 已报销票据冲红提醒: the bureau of the receipt's region, and those above it, see the alert
  and record what they did (确认已处理, with a note, audited).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from zhongtai.accounts.admin_scoping import ReadOnlyScopedAdmin, RegionScopedAdmin
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.webhooks.models import (
    PARTY_EVENTS,
    UNIT_EVENTS,
    EventType,
    IssueBatch,
    RedOffsetAlert,
    WebhookDelivery,
    WebhookEndpoint,
)
from zhongtai.webhooks.outbox import delivery_requeue
from zhongtai.webhooks.services import (
    NOTE_MAX_LENGTH,
    EndpointOutcome,
    alert_acknowledge,
    endpoint_rotate_secret,
    endpoint_save,
    endpoint_set_status,
)


def _actor(request: HttpRequest) -> Actor:
    return Actor.user(request.user.get_username())


def _secret_page(admin_view: admin.ModelAdmin, request: HttpRequest, outcomes: list[EndpointOutcome]) -> HttpResponse:
    context = {
        **admin_view.admin_site.each_context(request),
        "title": "回调签名密钥（仅显示这一次）",
        "outcomes": outcomes,
        "opts": admin_view.model._meta,
    }
    response = TemplateResponse(request, "admin/webhooks/endpoint_secret.html", context)
    response["Cache-Control"] = "no-store"
    return response


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label="订阅事件", choices=EventType.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("api_credential", "party_credential", "url", "events")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        api_credential = data.get("api_credential") or self.instance.api_credential
        party_credential = data.get("party_credential") or self.instance.party_credential
        if (api_credential is None) == (party_credential is None):
            raise forms.ValidationError("请选择一个接口应用凭证或一个报销单位应用凭证（二选一）。")
        allowed = UNIT_EVENTS if api_credential is not None else PARTY_EVENTS
        events = data.get("events") or list(allowed)
        if not set(events) <= set(allowed):
            self.add_error("events", "该类调用方只能订阅：" + "、".join(str(EventType(e).label) for e in allowed))
        data["events"] = events
        # Set before the scope check runs (in _post_clean), which reads the owner's region.
        if api_credential is not None:
            self.instance.unit = api_credential.unit
            self.instance.sandbox = api_credential.sandbox
        else:
            self.instance.party = party_credential.party
        return data

    def _post_clean(self) -> None:
        # The model's own validation needs the secret and audit fields the service fills: only
        # the URL is checked here, by the same rule as the API.
        from zhongtai.webhooks.addresses import webhook_url_check

        url = self.cleaned_data.get("url")
        if url:
            try:
                self.cleaned_data["url"] = webhook_url_check(url)
            except ApplicationError as exc:
                self.add_error("url", exc.message)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(RegionScopedAdmin, admin.ModelAdmin):
    # A party's address has no unit: only the province sees and changes it.
    scope_region_paths = ("unit__region__code",)
    form = WebhookEndpointForm
    list_display = ("owner_label", "url", "events", "sandbox", "status", "secret_rotated_at", "updated_by")
    list_filter = ("status", "sandbox")
    search_fields = ("url", "unit__code", "unit__name", "party__name", "api_credential__app_id")
    list_select_related = ("unit", "party")
    actions = ["rotate_secret", "disable", "enable"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = ("status", "sandbox", "created_at", "updated_at", "updated_by", "secret_rotated_at")
        return (*fixed, "api_credential", "party_credential") if obj is not None else fixed

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = ["api_credential", "party_credential", "url", "events"]
        return fields + (["status", "sandbox", "secret_rotated_at", "updated_by"] if obj is not None else [])

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # deliveries refer to it for ever; disable it instead

    @admin.display(description="调用方")
    def owner_label(self, obj: WebhookEndpoint) -> str:
        return obj.owner_label

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        # Through the service (not the mixin's plain save): it checks, encrypts and audits.
        outcome = endpoint_save(
            actor=_actor(request),
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            api_credential=form.cleaned_data.get("api_credential") or obj.api_credential,
            party_credential=form.cleaned_data.get("party_credential") or obj.party_credential,
        )
        obj.pk = outcome.endpoint.pk
        obj.refresh_from_db()
        request._webhook_outcome = outcome  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None) -> Any:
        outcome = getattr(request, "_webhook_outcome", None)
        if outcome is not None and outcome.secret:
            return _secret_page(self, request, [outcome])
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="重新生成所选回调地址的签名密钥", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse | None:
        outcomes = [endpoint_rotate_secret(endpoint=endpoint, actor=_actor(request)) for endpoint in queryset]
        return _secret_page(self, request, outcomes) if outcomes else None

    @admin.action(description="停用所选回调地址", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            endpoint_set_status(endpoint=endpoint, enabled=False, actor=_actor(request))
        messages.success(request, "已停用所选回调地址。")

    @admin.action(description="启用所选回调地址", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            endpoint_set_status(endpoint=endpoint, enabled=True, actor=_actor(request))
        messages.success(request, "已启用所选回调地址。")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyScopedAdmin):
    scope_region_paths = ("endpoint__unit__region__code",)
    list_display = ("event_id", "event_type", "endpoint", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event_type", "sandbox")
    search_fields = ("event_id", "endpoint__url", "last_error")
    list_select_related = ("endpoint", "endpoint__unit", "endpoint__party")
    date_hierarchy = "created_at"
    actions = ["requeue"]
    # The list's action needs "change"; the rows themselves are never edited.
    list_actions_change = True

    @admin.action(description="重新发送所选已放弃的回调", permissions=["change"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = sum(delivery_requeue(delivery=delivery, actor=_actor(request)) for delivery in queryset)
        messages.success(request, f"已重新排队 {count} 条回调（仅“已放弃”的记录会重新发送）。")


@admin.register(IssueBatch)
class IssueBatchAdmin(ReadOnlyScopedAdmin):
    scope_region_paths = ("region_code",)
    list_display = ("public_id", "unit", "sandbox", "receipt_count", "created_at", "completed_at")
    list_filter = ("sandbox",)
    search_fields = ("public_id", "unit__code", "unit__name")
    list_select_related = ("unit",)
    exclude = ("receipts",)


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="处理说明", max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4, "cols": 60})
    )


@admin.register(RedOffsetAlert)
class RedOffsetAlertAdmin(ReadOnlyScopedAdmin):
    scope_region_paths = ("region_code",)
    list_display = ("receipt", "red_receipt", "unit", "claimed_amount", "created_at", "state", "acknowledged_by")
    list_filter = ("state",)
    search_fields = ("receipt__receipt_code", "unit__code", "unit__name")
    list_select_related = ("receipt", "red_receipt", "unit")
    date_hierarchy = "created_at"
    actions = ["acknowledge"]
    list_actions_change = True

    @admin.action(description="确认已处理", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[RedOffsetAlert]) -> HttpResponse | None:
        """A page asking for the note, then each selected open alert acknowledged with it."""
        form = AcknowledgeForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for alert in queryset.select_related("unit"):
                try:
                    alert_acknowledge(alert=alert, note=form.cleaned_data["note"], actor=_actor(request))
                    done += 1
                except ApplicationError as exc:
                    self.message_user(request, f"{alert}：{exc.message}", level=messages.WARNING)
            if done:
                self.message_user(request, f"已确认处理 {done} 条提醒。")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "确认已处理",
            "alerts": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/webhooks/alert_acknowledge.html", context)
