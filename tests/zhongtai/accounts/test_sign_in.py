"""Signing in through the pages: password, the second factor, enrolment, lockout, next, logout."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client
from django.utils import timezone

from tests.zhongtai.accounts.conftest import (
    PASSWORD,
    SECRET,
    create,
    post_password,
    sign_in,
    signed_in_user_id,
)
from zhongtai.accounts import totp
from zhongtai.accounts.models import LoginThrottle, Profile
from zhongtai.accounts.views import PENDING, PENDING_SALT
from zhongtai.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _page_without_variables(response: Any, username: str) -> str:
    """The page minus what legitimately differs between two renders: the CSRF token, the name typed."""
    page = response.content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    page = re.sub(r'"X-CSRFToken": "[^"]+"', "", page)
    return page.replace(f'value="{username}"', "")


# --- the password step ---------------------------------------------------------------------


def test_a_cashier_signs_in_with_the_password_alone_and_gets_a_new_session_key(client: Client, cashier: Any) -> None:
    # given a visitor with a session (the sign-in page put nothing in it yet; make one)
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    # when the cashier signs in with the right password
    response = post_password(client, "cashier")
    # then they are signed in, on the dashboard, under a new session key
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert signed_in_user_id(client) == str(cashier.pk)
    assert client.session.session_key != before
    # and the sign-in is in the audit trail
    event = AuditEvent.objects.get(action="user.login", object_id="cashier")
    assert (event.object_type, event.unit_code, event.region_code) == ("user", "430102002", "430102")


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(client: Client, cashier: Any) -> None:
    # when a real name is tried with a wrong password, and a name that does not exist
    wrong_password = post_password(client, "cashier", "Wrong@2026pass")
    unknown_name = post_password(client, "nobody", "Wrong@2026pass")
    # then both answers are the same page with the same message, and no one is signed in
    assert wrong_password.status_code == unknown_name.status_code == 200
    assert "用户名或密码错误" in wrong_password.content.decode()
    assert _page_without_variables(wrong_password, "cashier") == _page_without_variables(unknown_name, "nobody")
    assert signed_in_user_id(client) is None
    # and both failures are counted and audited alike
    assert AuditEvent.objects.filter(action="user.login_failed").count() == 2


def test_five_failures_lock_the_name_even_against_the_right_password(client: Client, cashier: Any) -> None:
    # given four failures
    for _ in range(settings.EREC_LOGIN_MAX_FAILURES - 1):
        assert "用户名或密码错误" in post_password(client, "cashier", "Wrong@2026pass").content.decode()
    # when the fifth fails
    fifth = post_password(client, "cashier", "Wrong@2026pass").content.decode()
    # then the name is locked for 15 minutes, and says until when
    assert "已锁定至" in fifth
    until = LoginThrottle.objects.get(username_key="cashier").locked_until
    assert until is not None
    assert 14 * 60 < (until - timezone.now()).total_seconds() <= 15 * 60
    assert f"{timezone.localtime(until):%H:%M}" in fifth
    assert AuditEvent.objects.filter(action="user.locked", object_id="cashier").count() == 1
    # and even the right password is refused while it lasts
    right = post_password(client, "cashier")
    assert right.status_code == 200 and "已锁定至" in right.content.decode()
    assert signed_in_user_id(client) is None


def test_an_unknown_name_locks_exactly_like_a_real_one(client: Client, cashier: Any) -> None:
    answers = {}
    for name in ("cashier", "ghost"):
        for _ in range(settings.EREC_LOGIN_MAX_FAILURES):
            response = post_password(client, name, "Wrong@2026pass")
        answers[name] = _page_without_variables(response, name)
    assert "已锁定至" in answers["ghost"]
    assert answers["cashier"] == answers["ghost"]


def test_the_lock_counts_names_regardless_of_case_and_spaces(client: Client, cashier: Any) -> None:
    for name in ("cashier", "CASHIER", " Cashier", "cashier ", "CaShIeR"):
        post_password(client, name, "Wrong@2026pass")
    assert LoginThrottle.objects.get(username_key="cashier").locked_until is not None


def test_a_successful_sign_in_resets_the_failure_count(client: Client, cashier: Any) -> None:
    for _ in range(settings.EREC_LOGIN_MAX_FAILURES - 1):
        post_password(client, "cashier", "Wrong@2026pass")
    assert post_password(client, "cashier").status_code == 302
    assert not LoginThrottle.objects.filter(username_key="cashier").exists()


def test_an_inactive_user_is_told_the_same_as_a_wrong_password(client: Client, cashier: Any) -> None:
    get_user_model().objects.filter(pk=cashier.pk).update(is_active=False)
    response = post_password(client, "cashier")
    assert "用户名或密码错误" in response.content.decode()
    assert signed_in_user_id(client) is None


def test_a_user_without_a_role_may_not_sign_in(client: Client, db: Any) -> None:
    get_user_model().objects.create_user(username="norole", password=PASSWORD)
    response = post_password(client, "norole")
    assert response.status_code == 200 and "尚未分配角色" in response.content.decode()
    assert signed_in_user_id(client) is None
    assert AuditEvent.objects.filter(action="user.login_refused", object_id="norole").exists()


# --- next ----------------------------------------------------------------------------------


def test_a_safe_next_is_honoured_and_an_outside_one_ignored(client: Client, cashier: Any) -> None:
    assert post_password(client, "cashier", next="/accounts/security/")["Location"] == "/accounts/security/"
    client.post("/accounts/logout/")
    assert post_password(client, "cashier", next="https://evil.example/steal")["Location"] == "/portal/"


def test_the_login_page_carries_next_into_its_form(client: Client, db: Any) -> None:
    page = client.get("/accounts/login/?next=/portal/").content.decode()
    assert 'name="next" value="/portal/"' in page
    outside = client.get("/accounts/login/?next=//evil.example/").content.decode()
    assert "evil.example" not in outside


# --- the second factor ---------------------------------------------------------------------


def test_a_user_with_totp_is_not_signed_in_until_the_code_passes(client: Client, city_user: Any) -> None:
    # when the password is right
    response = post_password(client, "cs_staff", next="/admin/")
    # then the user is sent to the code step and is NOT signed in; only a pending marker exists
    assert response["Location"] == "/accounts/login/verify/"
    assert signed_in_user_id(client) is None
    assert client.get("/portal/").status_code == 302
    assert PENDING in client.session
    # when the current code is entered
    done = client.post("/accounts/login/verify/", {"code": totp.totp(SECRET, timezone.now())})
    # then they are signed in and sent where they were going
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert signed_in_user_id(client) == str(city_user.pk)
    assert PENDING not in client.session
    assert AuditEvent.objects.get(action="user.login", object_id="cs_staff").data["second_factor"] == "totp"


def test_a_wrong_code_is_refused_and_counts_as_a_failure(client: Client, city_user: Any) -> None:
    post_password(client, "cs_staff")
    good = totp.totp(SECRET, timezone.now())
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/login/verify/", {"code": wrong})
    assert response.status_code == 200 and "动态口令错误" in response.content.decode()
    assert signed_in_user_id(client) is None
    assert LoginThrottle.objects.get(username_key="cs_staff").failures == 1


def test_wrong_codes_lock_the_account_and_end_the_pending_sign_in(client: Client, city_user: Any) -> None:
    post_password(client, "cs_staff")
    good = totp.totp(SECRET, timezone.now())
    wrong = f"{(int(good) + 500_000) % 1_000_000:06d}"
    for _ in range(settings.EREC_LOGIN_MAX_FAILURES - 1):
        client.post("/accounts/login/verify/", {"code": wrong})
    last = client.post("/accounts/login/verify/", {"code": wrong}, follow=True)
    assert "已锁定至" in last.content.decode()
    assert PENDING not in client.session
    # the right code no longer helps: the pending sign-in is gone
    again = client.post("/accounts/login/verify/", {"code": good})
    assert again["Location"] == "/accounts/login/" and signed_in_user_id(client) is None


def test_a_code_is_accepted_once_only(client: Client, city_user: Any) -> None:
    # given a sign-in completed with the current code
    code = totp.totp(SECRET, timezone.now())
    post_password(client, "cs_staff")
    assert client.post("/accounts/login/verify/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    # when someone replays the same code with the password
    post_password(client, "cs_staff")
    replay = client.post("/accounts/login/verify/", {"code": code})
    # then it is refused
    assert replay.status_code == 200 and "动态口令错误或已使用" in replay.content.decode()
    assert signed_in_user_id(client) is None


def test_the_code_step_without_a_password_step_goes_back_to_the_login(client: Client, city_user: Any) -> None:
    response = client.post("/accounts/login/verify/", {"code": totp.totp(SECRET, timezone.now())})
    assert response["Location"] == "/accounts/login/"
    assert signed_in_user_id(client) is None


class _OldTimestampSigner(signing.TimestampSigner):
    """Django's signer, back-dated: a marker made six minutes ago."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(timezone.now().timestamp()) - 360)


def test_a_pending_sign_in_expires_after_five_minutes(client: Client, city_user: Any) -> None:
    # given a password step six minutes old
    post_password(client, "cs_staff")
    session = client.session
    data = signing.loads(session[PENDING], salt=PENDING_SALT)
    session[PENDING] = _OldTimestampSigner(salt=PENDING_SALT).sign_object(data)
    session.save()
    # when the right code arrives / then it is too late
    response = client.post("/accounts/login/verify/", {"code": totp.totp(SECRET, timezone.now())}, follow=True)
    assert "登录已超时" in response.content.decode()
    assert signed_in_user_id(client) is None


def test_a_forged_pending_marker_is_worthless(client: Client, city_user: Any, cashier: Any) -> None:
    session = client.session
    session[PENDING] = signing.dumps({"u": city_user.pk, "s": "totp", "h": "x", "b": "y"}, salt="another-salt")
    session.save()
    assert client.get("/accounts/login/verify/")["Location"] == "/accounts/login/"


# --- enrolment ------------------------------------------------------------------------------


def test_bureau_staff_without_totp_must_enrol_before_being_signed_in(client: Client, changsha: Any) -> None:
    # given Changsha bureau staff who never bound an authenticator
    user = create("new_staff", "bureau_staff", region=changsha)
    # when the password is right
    response = post_password(client, "new_staff")
    # then they are taken to enrolment, not signed in, and cannot skip it
    assert response["Location"] == "/accounts/login/enrol/"
    assert signed_in_user_id(client) is None
    assert client.get("/portal/").status_code == 302
    assert client.get("/accounts/login/verify/")["Location"] == "/accounts/login/"
    # when the enrolment page is shown, it draws the otpauth URI as an inline SVG QR code
    page = client.get("/accounts/login/enrol/").content.decode()
    assert "<svg" in page and "<path" in page
    secret_text = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page)
    assert secret_text is not None
    secret = totp.secret_from_base32(secret_text.group(1))
    # and the same secret is shown again on reload (it is kept, sealed, in the session)
    assert secret_text.group(1) in client.get("/accounts/login/enrol/").content.decode()
    # when the app's first code is entered
    done = client.post("/accounts/login/enrol/", {"code": totp.totp(secret, timezone.now())})
    # then TOTP is bound (sealed, not in clear) and the user is signed in
    assert done.status_code == 302 and done["Location"] == "/portal/"
    assert signed_in_user_id(client) == str(user.pk)
    profile = Profile.objects.get(user=user)
    assert profile.totp_enabled and totp.secret_to_base32(secret) not in profile.totp_secret_sealed
    assert AuditEvent.objects.filter(action="user.totp_enable", object_id="new_staff").exists()
    # and the next sign-in asks for a code
    client.post("/accounts/logout/")
    assert post_password(client, "new_staff")["Location"] == "/accounts/login/verify/"


def test_a_wrong_enrolment_code_binds_nothing(client: Client, changsha: Any) -> None:
    user = create("new_staff", "bureau_staff", region=changsha)
    post_password(client, "new_staff")
    client.get("/accounts/login/enrol/")
    response = client.post("/accounts/login/enrol/", {"code": "000000"})
    assert response.status_code == 200 and "动态口令不正确" in response.content.decode()
    assert not Profile.objects.get(user=user).totp_enabled
    assert signed_in_user_id(client) is None


def test_a_superuser_without_a_profile_enrols_as_the_province_administrator(client: Client, province: Any) -> None:
    # given an operator made by createsuperuser, and the province's region
    get_user_model().objects.create_superuser("root", "", PASSWORD)
    # when they sign in, they must enrol
    assert post_password(client, "root")["Location"] == "/accounts/login/enrol/"
    page = client.get("/accounts/login/enrol/").content.decode()
    secret = totp.secret_from_base32(re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1))  # type: ignore[union-attr]
    assert client.post("/accounts/login/enrol/", {"code": totp.totp(secret, timezone.now())}).status_code == 302
    # then the profile that scope_for implied is now on record, with the second factor
    profile = Profile.objects.get(user__username="root")
    assert (profile.role, profile.region, profile.totp_enabled) == ("province_admin", province, True)


def test_a_superuser_on_an_empty_installation_signs_in_with_a_warning(client: Client, db: Any) -> None:
    get_user_model().objects.create_superuser("root", "", PASSWORD)
    response = post_password(client, "root")
    assert response.status_code == 302 and signed_in_user_id(client) is not None
    assert AuditEvent.objects.get(action="user.login", object_id="root").data["second_factor"] == "unavailable"


# --- logout ---------------------------------------------------------------------------------


def test_logout_is_post_only(client: Client, cashier: Any) -> None:
    sign_in(client, "cashier")
    assert client.get("/accounts/logout/").status_code == 405
    assert signed_in_user_id(client) == str(cashier.pk)
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert signed_in_user_id(client) is None


def test_the_login_page_refuses_other_methods(client: Client, db: Any) -> None:
    assert client.put("/accounts/login/").status_code == 405
