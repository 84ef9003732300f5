"""Accounts services with a controllable clock: lockout, TOTP once-only, user creation."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from tests.zhongtai.accounts.conftest import ACTOR, SECRET, create, with_totp
from zhongtai.accounts import totp
from zhongtai.accounts.errors import AccountsError
from zhongtai.accounts.models import LoginThrottle, Profile
from zhongtai.accounts.selectors import login_lock_until
from zhongtai.accounts.services import (
    login_failure_record,
    login_success_record,
    totp_disable,
    totp_enable,
    totp_verify,
    user_create,
)
from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def fail(times: int, *, at: datetime.datetime, username: str = "someone") -> datetime.datetime | None:
    locked = None
    for _ in range(times):
        locked = login_failure_record(username=username, reason="password", now=at)
    return locked


# --- lockout --------------------------------------------------------------------------------


def test_the_fifth_consecutive_failure_locks_for_fifteen_minutes() -> None:
    assert fail(4, at=T0) is None
    assert login_lock_until(username="someone", now=T0) is None
    assert fail(1, at=T0) == T0 + datetime.timedelta(minutes=15)
    assert login_lock_until(username="someone", now=T0 + datetime.timedelta(minutes=14)) is not None


def test_the_lock_ends_by_itself_and_the_count_starts_again() -> None:
    # given a lock taken at T0
    fail(5, at=T0)
    # when 15 minutes have passed
    later = T0 + datetime.timedelta(minutes=15, seconds=1)
    # then the name is free, and one more failure does not lock it again
    assert login_lock_until(username="someone", now=later) is None
    assert fail(1, at=later) is None
    assert LoginThrottle.objects.get(username_key="someone").failures == 1


def test_failures_during_the_lock_are_not_counted_and_do_not_extend_it() -> None:
    until = fail(5, at=T0)
    assert fail(3, at=T0 + datetime.timedelta(minutes=5)) == until
    assert LoginThrottle.objects.get(username_key="someone").locked_until == until


def test_failures_a_day_apart_are_not_consecutive() -> None:
    fail(4, at=T0)
    assert fail(1, at=T0 + datetime.timedelta(hours=25)) is None
    assert LoginThrottle.objects.get(username_key="someone").failures == 1


@override_settings(EREC_LOGIN_MAX_FAILURES=3, EREC_LOGIN_LOCK_MINUTES=60)
def test_the_limits_come_from_the_settings() -> None:
    assert fail(3, at=T0) == T0 + datetime.timedelta(hours=1)


def test_a_success_clears_the_count_but_not_a_lock_taken_meanwhile(cashier: Any) -> None:
    fail(3, at=T0, username="cashier")
    login_success_record(user=cashier, now=T0)
    assert not LoginThrottle.objects.filter(username_key="cashier").exists()
    # a lock that a concurrent failure took stands
    fail(5, at=T0, username="cashier")
    login_success_record(user=cashier, now=T0 + datetime.timedelta(minutes=1))
    assert login_lock_until(username="cashier", now=T0 + datetime.timedelta(minutes=1)) is not None


def test_failures_and_the_lock_are_audited_with_the_user_s_region(cashier: Any) -> None:
    fail(5, at=T0, username="cashier")
    failed = AuditEvent.objects.filter(action="user.login_failed", object_id="cashier")
    assert failed.count() == 5 and {e.unit_code for e in failed} == {"430102002"}
    locked = AuditEvent.objects.get(action="user.locked", object_id="cashier")
    assert locked.region_code == "430102"


# --- TOTP -----------------------------------------------------------------------------------


def test_a_code_is_accepted_once_and_older_codes_never_after_it(city_user: Any) -> None:
    now = timezone.now()
    assert totp_verify(user=city_user, code=totp.totp(SECRET, now), now=now)
    assert not totp_verify(user=city_user, code=totp.totp(SECRET, now), now=now)
    previous = now - datetime.timedelta(seconds=30)
    assert not totp_verify(user=city_user, code=totp.totp(SECRET, previous), now=now)
    following = now + datetime.timedelta(seconds=30)
    assert totp_verify(user=city_user, code=totp.totp(SECRET, following), now=following)


def test_the_secret_is_stored_sealed(city_user: Any) -> None:
    sealed = Profile.objects.get(user=city_user).totp_secret_sealed
    assert sealed and totp.secret_to_base32(SECRET) not in sealed


def test_enabling_needs_the_new_app_s_current_code(cashier: Any) -> None:
    secret = totp.secret_generate()
    with pytest.raises(ApplicationError) as refused:
        totp_enable(user=cashier, secret=secret, code="000000", now=T0, actor=ACTOR)
    assert refused.value.code == AccountsError.TOTP_CODE_INVALID
    profile = totp_enable(user=cashier, secret=secret, code=totp.totp(secret, T0), now=T0, actor=ACTOR)
    assert profile.totp_enabled and profile.totp_last_step == totp.time_step(T0)
    with pytest.raises(ApplicationError) as twice:
        totp_enable(user=cashier, secret=secret, code=totp.totp(secret, T0), now=T0, actor=ACTOR)
    assert twice.value.code == AccountsError.TOTP_ALREADY_ENABLED


def test_bureau_users_cannot_turn_totp_off_others_can(city_user: Any, cashier: Any) -> None:
    with pytest.raises(ApplicationError) as refused:
        totp_disable(user=city_user, actor=ACTOR)
    assert refused.value.code == AccountsError.TOTP_REQUIRED
    with_totp(cashier)
    totp_disable(user=cashier, actor=ACTOR)
    assert not Profile.objects.get(user=cashier).totp_enabled
    assert AuditEvent.objects.filter(action="user.totp_disable", object_id="cashier").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uses_of_one_code_cannot_both_pass(changsha: Any) -> None:
    # given a user and one valid code, presented by two requests at the same moment
    user = with_totp(create("racer", "bureau_staff", region=changsha))
    now = timezone.now()
    code = totp.totp(SECRET, now)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def attempt() -> None:
        try:
            barrier.wait()
            results.append(totp_verify(user=user, code=code, now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one of them passed
    assert sorted(results) == [False, True]


# --- users ------------------------------------------------------------------------------------


def test_user_create_validates_the_profile(changsha: Any, networked_unit: Any) -> None:
    with pytest.raises(ApplicationError) as no_region:
        user_create(username="x1", password="Good@2026pass", role="bureau_staff", display_name="x", actor=ACTOR)
    assert no_region.value.code == AccountsError.PROFILE_INVALID
    with pytest.raises(ApplicationError) as province_admin_of_a_city:
        user_create(
            username="x2",
            password="Good@2026pass",
            role="province_admin",
            display_name="x",
            region=changsha,
            actor=ACTOR,
        )
    assert province_admin_of_a_city.value.code == AccountsError.PROFILE_INVALID
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username__in=["x1", "x2"]).exists()


def test_user_create_refuses_weak_passwords_and_taken_names(cashier: Any, networked_unit: Any) -> None:
    with pytest.raises(ApplicationError) as weak:
        user_create(
            username="x3", password="12345678", role="cashier", display_name="x", unit=networked_unit, actor=ACTOR
        )
    assert weak.value.code == AccountsError.PASSWORD_INVALID
    with pytest.raises(ApplicationError) as taken:
        user_create(
            username="Cashier",
            password="Good@2026pass",
            role="cashier",
            display_name="x",
            unit=networked_unit,
            actor=ACTOR,
        )
    assert taken.value.code == AccountsError.USERNAME_TAKEN


def test_user_create_audits_with_the_scope(networked_unit: Any) -> None:
    point = networked_unit.issuing_points.get(code="CK01")
    user = user_create(
        username="ck01",
        password="Good@2026pass",
        role="cashier",
        display_name="一号窗口",
        unit=networked_unit,
        issuing_point=point,
        actor=ACTOR,
    )
    assert user.profile.issuing_point == point
    event = AuditEvent.objects.get(action="user.create", object_id="ck01")
    assert (event.unit_code, event.region_code, event.data["issuing_point"]) == ("430102002", "430102", "CK01")


# --- housekeeping -------------------------------------------------------------------------------


def test_the_hourly_purge_drops_expired_sessions_and_stale_counts_only(client: Any, cashier: Any) -> None:
    from django.conf import settings
    from django.contrib.sessions.models import Session

    from zhongtai.accounts.services import sign_in_records_purge

    # given a live session, an expired one, a stale failure count, a fresh one and a running lock
    client.force_login(cashier)
    live = client.session.session_key
    Session.objects.create(session_key="expired0000000000000000000000000", session_data="", expire_date=T0)
    fail(1, at=T0 - datetime.timedelta(hours=30), username="stale")
    fail(1, at=T0, username="fresh")
    fail(5, at=T0, username="locked")
    # when the purge runs at T0
    counts = sign_in_records_purge(now=T0 + datetime.timedelta(seconds=1))
    # then only the expired session and the stale count are gone
    assert counts == {"sessions": 1, "login_throttles": 1}
    assert Session.objects.filter(session_key=live).exists()
    assert set(LoginThrottle.objects.values_list("username_key", flat=True)) == {"fresh", "locked"}
    assert "purge-sign-in-records" in settings.CELERY_BEAT_SCHEDULE
