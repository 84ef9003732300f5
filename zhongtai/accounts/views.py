"""Sign-in (登录), sign-out, the account security page, and a unit administrator's users page.

Signing in is one or two steps. The password step checks the lock first (a locked name is
refused without looking at the password), then the password. A user who has a second
factor, or must have one, is then *not* signed in: the session holds only a signed
"pending" marker (user id, stage, a fingerprint of the password hash, the time) valid for
five minutes, and the TOTP step (or, for a bureau user without TOTP, the enrolment step)
completes the sign-in with Django's ``login()``, which rotates the session key.

Wrong passwords and wrong codes count towards the lock of the typed name, whether or not
the account exists; the answer is the same for an unknown name and a wrong password.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import (
    REDIRECT_FIELD_NAME,
    authenticate,
    get_user_model,
    login,
    logout,
    update_session_auth_hash,
)
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from qianduan.access import portal_view
from zhongtai.accounts import selectors, services, totp
from zhongtai.accounts.enrolment import enrolment_for
from zhongtai.accounts.errors import AccountsError
from zhongtai.accounts.forms import (
    CashierCreateForm,
    CodeForm,
    LoginForm,
    NewPasswordForm,
    PasswordChangeForm,
    PasswordConfirmForm,
)
from zhongtai.accounts.models import Profile, Role
from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.crypto import secret_decrypt, secret_encrypt

PENDING = "erec_signin_pending"
NEXT = "erec_signin_next"
ENROL_SECRET = "erec_signin_enrol_secret"
SETUP_SECRET = "erec_totp_setup_secret"
PENDING_SALT = "zhongtai.accounts.signin.pending"
PENDING_MAX_AGE = 300  # seconds between the password and the second factor
STAGE_TOTP = "totp"
STAGE_ENROL = "enrol"

BAD_CREDENTIALS = "用户名或密码错误。"
BAD_CODE = "动态口令错误或已使用，请输入验证器中当前显示的 6 位数字。"
NO_ROLE = "该账号尚未分配角色，请联系财政部门管理员。"
PENDING_EXPIRED = "登录已超时，请重新输入用户名和密码。"


# --- helpers -----------------------------------------------------------------------------


def _ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")[:45]


def _safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _locked_message(until: Any) -> str:
    return f"登录失败次数过多，该账号已锁定至 {timezone.localtime(until):%H:%M}，请稍后再试。"


def _pending_start(request: HttpRequest, user: Any, stage: str) -> None:
    request.session.pop(ENROL_SECRET, None)
    request.session[PENDING] = signing.dumps(
        {"u": user.pk, "s": stage, "h": user.get_session_auth_hash(), "b": user.backend}, salt=PENDING_SALT
    )


def _pending_clear(request: HttpRequest) -> None:
    for key in (PENDING, ENROL_SECRET):
        request.session.pop(key, None)


def _pending_user(request: HttpRequest, stage: str) -> Any:
    """The user half-way through signing in at ``stage``; None if there is none or it is too old."""
    token = request.session.get(PENDING)
    if not token:
        return None
    try:
        data = signing.loads(token, salt=PENDING_SALT, max_age=PENDING_MAX_AGE)
    except signing.BadSignature:  # expired ones too (SignatureExpired)
        _pending_clear(request)
        return None
    if data.get("s") != stage or data.get("b") not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = get_user_model().objects.filter(pk=data.get("u"), is_active=True).first()
    # A password changed meanwhile voids the marker.
    if user is None or not constant_time_compare(user.get_session_auth_hash(), data.get("h", "")):
        _pending_clear(request)
        return None
    user.backend = data["b"]
    return user


def _complete(request: HttpRequest, user: Any, *, second_factor: str) -> HttpResponse:
    target = _safe_next(request, request.session.get(NEXT))
    for key in (PENDING, ENROL_SECRET, NEXT):
        request.session.pop(key, None)
    login(request, user, backend=user.backend)  # new session key; the sign-in time is recorded
    services.login_success_record(user=user, now=timezone.now(), ip=_ip(request), second_factor=second_factor)
    return redirect(target or resolve_url(settings.LOGIN_REDIRECT_URL))


def _session_secret(request: HttpRequest, key: str) -> bytes:
    """The secret being bound, kept sealed in the session until its first code is confirmed."""
    sealed = request.session.get(key)
    if sealed:
        return totp.secret_from_base32(secret_decrypt(sealed))
    secret = totp.secret_generate()
    request.session[key] = secret_encrypt(totp.secret_to_base32(secret))
    return secret


def _refuse_locked(request: HttpRequest, until: Any) -> HttpResponse:
    _pending_clear(request)
    messages.error(request, _locked_message(until))
    return redirect("accounts:login")


# --- sign-in -------------------------------------------------------------------------------


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username, password = form.cleaned_data["username"], form.cleaned_data["password"]
        now = timezone.now()
        locked_until = selectors.login_lock_until(username=username, now=now)
        if locked_until is not None:
            form.add_error(None, _locked_message(locked_until))
        else:
            user = authenticate(request, username=username, password=password)
            if user is None:
                locked_until = services.login_failure_record(
                    username=username, reason="password", now=now, ip=_ip(request)
                )
                form.add_error(None, _locked_message(locked_until) if locked_until else BAD_CREDENTIALS)
            elif not (user.is_superuser or Profile.objects.filter(user=user).exists()):
                services.login_refusal_record(user=user, reason="no_role", ip=_ip(request))
                form.add_error(None, NO_ROLE)
            else:
                return _after_password(request, user, next_url)
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


def _after_password(request: HttpRequest, user: Any, next_url: str) -> HttpResponse:
    request.session[NEXT] = next_url
    if selectors.totp_enabled_for(user):
        _pending_start(request, user, STAGE_TOTP)
        return redirect("accounts:login-verify")
    if selectors.totp_required_for(user):
        _pending_start(request, user, STAGE_ENROL)
        return redirect("accounts:login-enrol")
    if user.is_superuser and services.profile_of(user) is None:
        # An operator's first sign-in on an empty installation: no province region yet to
        # hang a second factor on. Said loudly, and recorded as such.
        messages.warning(request, "尚未建立省级财政区划，暂无法绑定动态口令。请先建立省级区划，然后重新登录完成绑定。")
        return _complete(request, user, second_factor="unavailable")
    return _complete(request, user, second_factor="")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_verify_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request, STAGE_TOTP)
    if user is None:
        messages.warning(request, PENDING_EXPIRED)
        return redirect("accounts:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        locked_until = selectors.login_lock_until(username=user.get_username(), now=now)
        if locked_until is not None:
            return _refuse_locked(request, locked_until)
        if services.totp_verify(user=user, code=form.cleaned_data["code"], now=now):
            return _complete(request, user, second_factor="totp")
        locked_until = services.login_failure_record(
            username=user.get_username(), reason="totp", now=now, ip=_ip(request)
        )
        if locked_until is not None:
            return _refuse_locked(request, locked_until)
        form.add_error("code", BAD_CODE)
    return render(request, "accounts/login_verify.html", {"form": form, "username": user.get_username()})


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_enrol_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request, STAGE_ENROL)
    if user is None:
        messages.warning(request, PENDING_EXPIRED)
        return redirect("accounts:login")
    secret = _session_secret(request, ENROL_SECRET)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        now = timezone.now()
        locked_until = selectors.login_lock_until(username=user.get_username(), now=now)
        if locked_until is not None:
            return _refuse_locked(request, locked_until)
        try:
            services.totp_enable(
                user=user, secret=secret, code=form.cleaned_data["code"], now=now, actor=Actor.user(user.get_username())
            )
        except ApplicationError as exc:
            if exc.code != AccountsError.TOTP_CODE_INVALID:
                _pending_clear(request)
                messages.error(request, exc.message)
                return redirect("accounts:login")
            locked_until = services.login_failure_record(
                username=user.get_username(), reason="totp_enrol", now=now, ip=_ip(request)
            )
            if locked_until is not None:
                return _refuse_locked(request, locked_until)
            form.add_error("code", exc.message)
        else:
            messages.success(request, "动态口令已绑定。以后每次登录请输入验证器中的 6 位数字。")
            return _complete(request, user, second_factor="totp_enrolled")
    context = {
        "form": form,
        "username": user.get_username(),
        "enrolment": enrolment_for(account=user.get_username(), secret=secret),
        "minutes": PENDING_MAX_AGE // 60,
    }
    return render(request, "accounts/login_enrol.html", context)


@require_POST
@csrf_protect
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, "您已安全退出。")
    return redirect("accounts:login")


# --- the security page ------------------------------------------------------------------------


def _security_context(request: HttpRequest, **forms: Any) -> dict[str, Any]:
    user = request.user
    profile = services.profile_of(user)
    return {
        "profile": profile,
        "totp_enabled": profile is not None and profile.totp_enabled,
        "totp_required": selectors.totp_required_for(user),
        "password_form": forms.get("password_form") or PasswordChangeForm(user=user),
        "disable_form": forms.get("disable_form") or PasswordConfirmForm(user=user),
        "history": selectors.sign_in_history(user=user),
        "manages_unit_users": profile is not None and profile.role == Role.UNIT_ADMIN,
    }


@login_required
@never_cache
@require_http_methods(["GET"])
def security_view(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/security.html", _security_context(request))


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
@require_POST
def password_change_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = PasswordChangeForm(request.POST, user=user)
    if form.is_valid():
        try:
            services.user_password_set(
                user=user, password=form.cleaned_data["new_password1"], actor=Actor.user(user.get_username())
            )
        except ApplicationError as exc:
            form.add_error("new_password1", exc.message)
        else:
            update_session_auth_hash(request, user)  # this session stays; the others end
            messages.success(request, "密码已修改。")
            return redirect("accounts:security")
    return render(request, "accounts/security.html", _security_context(request, password_form=form), status=400)


@sensitive_post_parameters("code")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def totp_setup_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if selectors.totp_enabled_for(user):
        messages.info(request, "动态口令已经启用。")
        return redirect("accounts:security")
    secret = _session_secret(request, SETUP_SECRET)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_enable(
                user=user,
                secret=secret,
                code=form.cleaned_data["code"],
                now=timezone.now(),
                actor=Actor.user(user.get_username()),
            )
        except ApplicationError as exc:
            form.add_error("code", exc.message)
        else:
            request.session.pop(SETUP_SECRET, None)
            messages.success(request, "动态口令已启用。以后每次登录请输入验证器中的 6 位数字。")
            return redirect("accounts:security")
    context = {"form": form, "enrolment": enrolment_for(account=user.get_username(), secret=secret)}
    return render(request, "accounts/totp_setup.html", context)


@sensitive_post_parameters("password")
@login_required
@require_POST
def totp_disable_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = PasswordConfirmForm(request.POST, user=user)
    if not form.is_valid():
        return render(request, "accounts/security.html", _security_context(request, disable_form=form), status=400)
    try:
        services.totp_disable(user=user, actor=Actor.user(user.get_username()))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "动态口令已停用。")
    return redirect("accounts:security")


# --- a unit administrator's users (本单位用户管理) -------------------------------------------------


def _cashier_or_404(scope: Scope, pk: int) -> Profile:
    """One of the administrator's own unit's cashiers; anyone else is not found."""
    profile = (
        scope.filter_by_unit(Profile.objects.filter(role=Role.CASHIER))
        .select_related("user", "unit")
        .filter(pk=pk)
        .first()
        if scope.is_unit
        else None
    )
    if profile is None:
        raise Http404("用户不存在。")
    return profile


@sensitive_post_parameters("password1", "password2")
@portal_view(Permission.MANAGE_UNIT_USERS)
@require_http_methods(["GET", "POST"])
def unit_users_view(request: HttpRequest) -> HttpResponse:
    scope: Scope = request.scope  # type: ignore[attr-defined]
    unit = scope.unit_or_404(scope.unit_id or 0)
    points = scope.issuing_points().filter(active=True).order_by("code")
    form = CashierCreateForm(request.POST or None, points=points)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_create(
                username=data["username"],
                password=data["password1"],
                role=Role.CASHIER,
                display_name=data["display_name"],
                unit=unit,
                issuing_point=data["issuing_point"],
                phone=data["phone"],
                actor=Actor.user(request.user.get_username()),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"已创建收费员账号 {data['username']}。")
            return redirect("accounts:unit-users")
    context = {"unit": unit, "form": form, "users": selectors.unit_users_list(scope=scope)}
    return render(request, "accounts/unit_users.html", context, status=400 if form.errors else 200)


@require_POST
@portal_view(Permission.MANAGE_UNIT_USERS)
def unit_user_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _cashier_or_404(request.scope, pk)  # type: ignore[attr-defined]
    active = request.POST.get("active") == "1"
    services.user_set_active(user=profile.user, active=active, actor=Actor.user(request.user.get_username()))
    verb = "启用" if active else "停用"
    messages.success(request, f"已{verb}收费员 {profile.user.get_username()}。")
    return redirect("accounts:unit-users")


@sensitive_post_parameters("new_password1", "new_password2")
@portal_view(Permission.MANAGE_UNIT_USERS)
@require_http_methods(["GET", "POST"])
def unit_user_password_view(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _cashier_or_404(request.scope, pk)  # type: ignore[attr-defined]
    form = NewPasswordForm(request.POST or None, user=profile.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_password_set(
                user=profile.user,
                password=form.cleaned_data["new_password1"],
                actor=Actor.user(request.user.get_username()),
                reset=True,
            )
        except ApplicationError as exc:
            form.add_error("new_password1", exc.message)
        else:
            messages.success(request, f"已重置收费员 {profile.user.get_username()} 的密码，请当面告知。")
            return redirect("accounts:unit-users")
    return render(
        request,
        "accounts/unit_user_password.html",
        {"profile": profile, "form": form},
        status=400 if form.errors else 200,
    )
