"""Users in the bureaus' workbench: a bureau manages the users of its region and its units.

Every change goes through the accounts services (validated, audited). A user's own profile
is changed on the security page, not here; a superuser's profile only by a superuser; the
province administrator's role is given only by a province administrator.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect

from zhongtai.accounts.admin_scoping import RegionScopedAdmin, request_admin_scope
from zhongtai.accounts.models import Profile, Role
from zhongtai.accounts.services import (
    login_unlock,
    profile_update,
    totp_reset,
    user_create,
    user_password_set,
    user_set_active,
)
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError

_PROFILE_FIELDS = ("role", "display_name", "region", "unit", "issuing_point", "phone")


def _check_password(form: forms.Form, field: str, user: Any) -> None:
    password = form.cleaned_data.get(field)
    if password:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            form.add_error(field, exc)


class ProfileCreateForm(forms.ModelForm):
    username = forms.CharField(label="用户名", max_length=150)
    password1 = forms.CharField(label="初始密码", strip=False, widget=forms.PasswordInput(render_value=False))
    password2 = forms.CharField(label="确认初始密码", strip=False, widget=forms.PasswordInput(render_value=False))

    class Meta:
        model = Profile
        fields = _PROFILE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "两次输入的密码不一致。")
        username = cleaned.get("username", "")
        if username and get_user_model().objects.filter(username__iexact=username.strip()).exists():
            self.add_error("username", "该用户名已被使用。")
        _check_password(self, "password1", get_user_model()(username=username))
        return cleaned


class ProfileChangeForm(forms.ModelForm):
    new_password1 = forms.CharField(
        label="重置密码",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="留空则不修改。重置后该用户其他会话立即失效，登录锁定同时解除。",
    )
    new_password2 = forms.CharField(
        label="确认新密码", required=False, strip=False, widget=forms.PasswordInput(render_value=False)
    )

    class Meta:
        model = Profile
        fields = _PROFILE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("new_password1") != cleaned.get("new_password2"):
            self.add_error("new_password2", "两次输入的密码不一致。")
        elif cleaned.get("new_password1"):
            _check_password(self, "new_password1", self.instance.user)
        return cleaned


def _actor(request: HttpRequest) -> Actor:
    return Actor.user(request.user.get_username())


@admin.register(Profile)
class ProfileAdmin(RegionScopedAdmin, admin.ModelAdmin):
    scope_region_paths = ("region__code", "unit__region__code")
    list_display = ("username", "display_name", "role", "region", "unit", "issuing_point", "active", "totp_on")
    list_filter = ("role",)
    search_fields = ("user__username", "display_name", "unit__code", "unit__name", "region__code", "region__name")
    list_select_related = ("user", "region", "unit", "issuing_point")
    autocomplete_fields = ("region", "unit", "issuing_point")
    readonly_fields = ("username", "active", "totp_on", "last_login", "created_at")
    actions = ["deactivate", "reactivate", "reset_totp", "unlock"]

    # --- display ---------------------------------------------------------------------

    @admin.display(description="用户名", ordering="user__username")
    def username(self, obj: Profile) -> str:
        return obj.user.get_username()

    @admin.display(description="启用", boolean=True)
    def active(self, obj: Profile) -> bool:
        return obj.user.is_active

    @admin.display(description="动态口令", boolean=True)
    def totp_on(self, obj: Profile) -> bool:
        return obj.totp_enabled

    @admin.display(description="最近登录")
    def last_login(self, obj: Profile) -> Any:
        return obj.user.last_login

    # --- forms -----------------------------------------------------------------------

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = ProfileChangeForm if obj is not None else ProfileCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["username", "password1", "password2", *_PROFILE_FIELDS]
        return ["username", "active", "totp_on", "last_login", *_PROFILE_FIELDS, "new_password1", "new_password2"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ()

    # --- who may change whom -------------------------------------------------------------

    def _manageable(self, request: HttpRequest, obj: Profile) -> bool:
        if obj.user_id == request.user.pk:
            return False  # one's own account: the security page
        if request.user.is_superuser:
            return True
        if obj.user.is_superuser:
            return False
        if obj.role == Role.PROVINCE_ADMIN:
            scope = request_admin_scope(request)
            return scope is not None and scope.role == Role.PROVINCE_ADMIN
        return True

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self._manageable(request, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # users are deactivated, never deleted: the audit trail names them

    def scope_problem(self, request: HttpRequest, obj: Any) -> str | None:
        problem = super().scope_problem(request, obj)
        if problem:
            return problem
        scope = request_admin_scope(request)
        if obj.role == Role.PROVINCE_ADMIN and not (
            request.user.is_superuser or (scope is not None and scope.role == Role.PROVINCE_ADMIN)
        ):
            return "只有省级管理员可以设置省级管理员角色。"
        return None

    # --- saving through the services -------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Profile, form: Any, change: bool) -> None:
        try:
            if not change:
                user = user_create(
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                    role=obj.role,
                    display_name=obj.display_name,
                    region=obj.region,
                    unit=obj.unit,
                    issuing_point=obj.issuing_point,
                    phone=obj.phone,
                    actor=_actor(request),
                )
                created = user.profile
                # The admin goes on with ``obj`` (log entry, redirect): make it the saved row.
                obj.pk, obj.user, obj.created_at = created.pk, user, created.created_at
                obj._state.adding = False
                obj._state.db = created._state.db
                return
            profile_update(profile=obj, changed=form.changed_data, actor=_actor(request))
            if form.cleaned_data.get("new_password1"):
                user_password_set(
                    user=obj.user, password=form.cleaned_data["new_password1"], actor=_actor(request), reset=True
                )
        except ApplicationError as exc:
            # Passwords are checked by the validators only here; the admin rolls the change back.
            raise _FormRefused(exc.message) from exc

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except _FormRefused as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    # --- actions -----------------------------------------------------------------------

    def _each(self, request: HttpRequest, queryset: QuerySet[Profile]) -> list[Profile]:
        chosen = [p for p in queryset.select_related("user") if self._manageable(request, p)]
        skipped = queryset.count() - len(chosen)
        if skipped:
            self.message_user(request, f"已跳过 {skipped} 个不能由您管理的账号（本人或超级用户）。", messages.WARNING)
        return chosen

    @admin.action(description="停用所选账号", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Profile]) -> None:
        done = sum(
            user_set_active(user=p.user, active=False, actor=_actor(request)) for p in self._each(request, queryset)
        )
        self.message_user(request, f"已停用 {done} 个账号。", messages.SUCCESS)

    @admin.action(description="启用所选账号", permissions=["change"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Profile]) -> None:
        done = sum(
            user_set_active(user=p.user, active=True, actor=_actor(request)) for p in self._each(request, queryset)
        )
        self.message_user(request, f"已启用 {done} 个账号。", messages.SUCCESS)

    @admin.action(description="重置动态口令（丢失手机时；下次登录重新绑定）", permissions=["change"])
    def reset_totp(self, request: HttpRequest, queryset: QuerySet[Profile]) -> None:
        done = sum(totp_reset(user=p.user, actor=_actor(request)) for p in self._each(request, queryset))
        self.message_user(request, f"已重置 {done} 个账号的动态口令。", messages.SUCCESS)

    @admin.action(description="解除登录锁定", permissions=["change"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[Profile]) -> None:
        done = sum(login_unlock(user=p.user, actor=_actor(request)) for p in self._each(request, queryset))
        self.message_user(request, f"已解除 {done} 个账号的登录锁定。", messages.SUCCESS)


class _FormRefused(Exception):
    """A service refused what the admin form allowed (a weak password): roll back and say why."""
