from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import QuerySet


class LoginForm(forms.Form):
    username = forms.CharField(
        label="用户名",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label="密码", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def clean_username(self) -> str:
        return unicodedata.normalize("NFKC", self.cleaned_data["username"]).strip()


class CodeForm(forms.Form):
    code = forms.CharField(
        label="动态口令",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "pattern": "[0-9 ]*",
                "placeholder": "6 位数字",
            }
        ),
    )

    def clean_code(self) -> str:
        # NFKC: digits typed with a Chinese input method arrive full-width (１２３４５６).
        code = "".join(unicodedata.normalize("NFKC", self.cleaned_data["code"]).split())
        if len(code) != 6 or not (code.isascii() and code.isdigit()):
            raise ValidationError("请输入验证器中显示的 6 位数字。")
        return code


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label="当前密码", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError("当前密码不正确。")
        return password


class NewPasswordForm(forms.Form):
    """A new password, twice, checked by the password validators against ``user``."""

    new_password1 = forms.CharField(
        label="新密码", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    new_password2 = forms.CharField(
        label="确认新密码", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", "两次输入的密码不一致。")
        elif first:
            try:
                validate_password(first, user=self.user)
            except ValidationError as exc:
                self.add_error("new_password1", exc)
        return cleaned


class PasswordChangeForm(NewPasswordForm):
    old_password = forms.CharField(
        label="当前密码", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    field_order = ["old_password", "new_password1", "new_password2"]

    def clean_old_password(self) -> str:
        password = self.cleaned_data["old_password"]
        if not self.user.check_password(password):
            raise ValidationError("当前密码不正确。")
        return password


class CashierCreateForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150, help_text="字母、数字和 @ . + - _")
    display_name = forms.CharField(label="姓名", max_length=60)
    phone = forms.CharField(label="手机号码", max_length=20, required=False)
    issuing_point = forms.ModelChoiceField(
        label="开票点", queryset=None, required=False, empty_label="本单位全部开票点"
    )
    password1 = forms.CharField(
        label="初始密码", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="确认初始密码", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args: Any, points: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["issuing_point"].queryset = points  # type: ignore[attr-defined]

    def clean_username(self) -> str:
        username = unicodedata.normalize("NFKC", self.cleaned_data["username"]).strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError("该用户名已被使用。")
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "两次输入的密码不一致。")
        elif first:
            candidate = get_user_model()(
                username=cleaned.get("username", ""), first_name=cleaned.get("display_name", "")
            )
            try:
                validate_password(first, user=candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
