"""Accounts: users and their roles, passwords, the second factor (TOTP), sign-in records.

Every change writes an audit row (object type ``user``, object id the username) in the
same transaction. Times are passed in (``now``) wherever a rule depends on them, so the
lockout and the TOTP window can be tested without waiting.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from zhongtai.accounts import totp
from zhongtai.accounts.errors import AccountsError
from zhongtai.accounts.models import BUREAU_ROLES, LoginThrottle, Profile, Role
from zhongtai.accounts.roles import role_groups_apply
from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.errors import ApplicationError
from zhongtai.gateway.crypto import secret_decrypt, secret_encrypt
from zhongtai.masterdata.models import IssuingPoint, Region, Unit

OBJECT_TYPE = "user"
# Failures further apart than this are not "consecutive": the count starts again.
FAILURE_MEMORY = datetime.timedelta(hours=24)
_USERNAME_MAX = 150


# --- helpers -------------------------------------------------------------------------


def username_key(username: str) -> str:
    """The name as typed, normalised like Django normalises usernames, for the lockout."""
    return unicodedata.normalize("NFKC", username).strip().casefold()[:_USERNAME_MAX]


def profile_of(user: Any) -> Profile | None:
    if user is None or user.pk is None:
        return None
    return Profile.objects.select_related("region", "unit__region", "issuing_point").filter(user=user).first()


def _where(profile: Profile | None) -> dict[str, str]:
    """unit_code / region_code of the audit row: who supervises this user."""
    if profile is None:
        return {}
    if profile.unit is not None:
        return {"unit_code": profile.unit.code, "region_code": profile.unit.region.code}
    if profile.region is not None:
        return {"region_code": profile.region.code}
    return {}


def _audit(
    *, actor: Actor, action: str, username: str, profile: Profile | None, data: dict[str, Any] | None = None
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=username[:64],
        data=data or {},
        **_where(profile),
    )


def _messages(error: ValidationError) -> str:
    return "".join(error.messages)


def _profile_validate(profile: Profile) -> None:
    try:
        profile.full_clean(exclude=["user"])
    except ValidationError as exc:
        extra = {"fields": exc.message_dict} if hasattr(exc, "error_dict") else {}
        raise ApplicationError(AccountsError.PROFILE_INVALID, _messages(exc), extra) from exc


def _password_validate(password: str, user: Any) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError(AccountsError.PASSWORD_INVALID, _messages(exc)) from exc


def _access_apply(user: Any, role: str | None) -> None:
    """is_staff and the role group follow the role: bureau roles use the admin, no one else."""
    staff = role in BUREAU_ROLES or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    role_groups_apply(user=user, role=role)


# --- users and roles -----------------------------------------------------------------


def profile_create(
    *,
    user: Any,
    role: str,
    display_name: str,
    region: Region | None = None,
    unit: Unit | None = None,
    issuing_point: IssuingPoint | None = None,
    phone: str = "",
    actor: Actor,
) -> Profile:
    """Give an existing user (without a profile) a role and scope."""
    profile = Profile(
        user=user,
        role=role,
        display_name=display_name,
        region=region,
        unit=unit,
        issuing_point=issuing_point,
        phone=phone,
    )
    _profile_validate(profile)
    with transaction.atomic():
        profile.save()
        _access_apply(user, role)
        _audit(
            actor=actor,
            action="user.profile_create",
            username=user.get_username(),
            profile=profile,
            data={"role": role},
        )
    return profile


def user_create(
    *,
    username: str,
    password: str,
    role: str,
    display_name: str,
    region: Region | None = None,
    unit: Unit | None = None,
    issuing_point: IssuingPoint | None = None,
    phone: str = "",
    actor: Actor,
) -> Any:
    """A new user with its profile; bureau roles get ``is_staff`` and their role's group."""
    user_model = get_user_model()
    username = unicodedata.normalize("NFKC", username).strip()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise ApplicationError(AccountsError.USERNAME_INVALID, "用户名只能包含字母、数字和 @ . + - _。") from exc
    if not username or len(username) > _USERNAME_MAX:
        raise ApplicationError(AccountsError.USERNAME_INVALID, "用户名长度应为 1 至 150 个字符。")
    # Names differing only in case would share one lockout counter and confuse people.
    if user_model.objects.filter(username__iexact=username).exists():
        raise ApplicationError(AccountsError.USERNAME_TAKEN, "该用户名已被使用。")
    user = user_model(username=username, first_name=display_name[:150], is_staff=role in BUREAU_ROLES)
    profile = Profile(
        role=role,
        display_name=display_name,
        region=region,
        unit=unit,
        issuing_point=issuing_point,
        phone=phone,
    )
    _profile_validate(profile)
    _password_validate(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            profile.user = user
            profile.save()
            role_groups_apply(user=user, role=role)
            _audit(
                actor=actor,
                action="user.create",
                username=username,
                profile=profile,
                data={"role": role, "issuing_point": issuing_point.code if issuing_point else ""},
            )
    except IntegrityError as exc:
        raise ApplicationError(AccountsError.USERNAME_TAKEN, "该用户名已被使用。") from exc
    return user


def profile_update(*, profile: Profile, changed: Iterable[str], actor: Actor) -> Profile:
    """Save a profile whose fields were edited (the admin form); access follows the new role."""
    fields = sorted(set(changed))
    _profile_validate(profile)
    with transaction.atomic():
        profile.save()
        _access_apply(profile.user, profile.role)
        _audit(
            actor=actor,
            action="user.profile_update",
            username=profile.user.get_username(),
            profile=profile,
            data={"fields": fields, "role": profile.role},
        )
    return profile


def user_set_active(*, user: Any, active: bool, actor: Actor) -> bool:
    """Deactivate (停用) or reactivate (启用); a deactivated user's sessions end at once. True if changed."""
    user_model = get_user_model()
    with transaction.atomic():
        changed = user_model.objects.filter(pk=user.pk, is_active=not active).update(is_active=active)
        if changed:
            _audit(
                actor=actor,
                action="user.reactivate" if active else "user.deactivate",
                username=user.get_username(),
                profile=profile_of(user),
            )
    user.is_active = active
    return bool(changed)


def user_password_set(*, user: Any, password: str, actor: Actor, reset: bool = False) -> None:
    """A new password, checked by the password validators. Other sessions of the user end.

    ``reset``: set by someone else (a unit administrator, a bureau); it also lifts a lock.
    """
    _password_validate(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save(update_fields=["password"])
        if reset:
            LoginThrottle.objects.filter(username_key=username_key(user.get_username())).delete()
        _audit(
            actor=actor,
            action="user.password_reset" if reset else "user.password_change",
            username=user.get_username(),
            profile=profile_of(user),
        )


def login_unlock(*, user: Any, actor: Actor) -> bool:
    """Lift a lockout before it ends (解除锁定). True if there was one."""
    with transaction.atomic():
        deleted, _ = LoginThrottle.objects.filter(username_key=username_key(user.get_username())).delete()
        if deleted:
            _audit(actor=actor, action="user.unlock", username=user.get_username(), profile=profile_of(user))
    return bool(deleted)


# --- sign-in: failures, lockout, success ------------------------------------------------


def login_failure_record(
    *, username: str, reason: str, now: datetime.datetime, ip: str = ""
) -> datetime.datetime | None:
    """Count one failed sign-in for the typed ``username``; the lock's end if it is (now) locked.

    Unknown names are counted and locked exactly like real ones. The row is locked while it
    is updated, so concurrent failures on several web hosts are all counted.
    """
    key = username_key(username)
    max_failures = settings.EREC_LOGIN_MAX_FAILURES
    with transaction.atomic():
        LoginThrottle.objects.get_or_create(username_key=key)
        throttle = LoginThrottle.objects.select_for_update().get(username_key=key)
        if throttle.locked_until is not None and throttle.locked_until > now:
            return throttle.locked_until  # already locked: nothing was checked, nothing to count
        stale = throttle.last_failure_at is None or now - throttle.last_failure_at > FAILURE_MEMORY
        if throttle.locked_until is not None or stale:
            throttle.failures = 0  # a lock that ran out, or failures long ago: start again
            throttle.locked_until = None
        throttle.failures += 1
        throttle.last_failure_at = now
        locked = throttle.failures >= max_failures
        if locked:
            throttle.locked_until = now + datetime.timedelta(minutes=settings.EREC_LOGIN_LOCK_MINUTES)
        throttle.save(update_fields=["failures", "last_failure_at", "locked_until"])
        # One query whether or not the name exists (the audit row names the user's region).
        profile = (
            Profile.objects.select_related("region", "unit__region", "user").filter(user__username=username).first()
        )
        actor = Actor.user(username[:128] or "-")
        _audit(
            actor=actor,
            action="user.login_failed",
            username=username or "-",
            profile=profile,
            data={"reason": reason, "ip": ip, "failures": throttle.failures},
        )
        if locked:
            _audit(
                actor=Actor.system("accounts"),
                action="user.locked",
                username=username or "-",
                profile=profile,
                data={"until": throttle.locked_until.isoformat(), "ip": ip},
            )
    return throttle.locked_until if locked else None


def login_success_record(*, user: Any, now: datetime.datetime, ip: str = "", second_factor: str = "") -> None:
    """A completed sign-in: the failure count starts again, and the audit trail says so."""
    key = username_key(user.get_username())
    with transaction.atomic():
        # Not a lock that began meanwhile (a concurrent failure): that one stands.
        LoginThrottle.objects.filter(username_key=key).filter(
            Q(locked_until__isnull=True) | Q(locked_until__lte=now)
        ).delete()
        _audit(
            actor=Actor.user(user.get_username()),
            action="user.login",
            username=user.get_username(),
            profile=profile_of(user),
            data={"ip": ip, "second_factor": second_factor},
        )


def login_refusal_record(*, user: Any, reason: str, ip: str = "") -> None:
    """The password was right but the account may not sign in (no role)."""
    with transaction.atomic():
        _audit(
            actor=Actor.user(user.get_username()),
            action="user.login_refused",
            username=user.get_username(),
            profile=None,
            data={"reason": reason, "ip": ip},
        )


# --- the second factor (TOTP) ----------------------------------------------------------


def _sealed(secret: bytes) -> str:
    return secret_encrypt(totp.secret_to_base32(secret))


def totp_secret_of(profile: Profile) -> bytes:
    """The profile's TOTP secret, unsealed (only to check a code or for the demo's codes)."""
    if not profile.totp_secret_sealed:
        raise ApplicationError(AccountsError.TOTP_NOT_ENABLED, "尚未启用动态口令。")
    return totp.secret_from_base32(secret_decrypt(profile.totp_secret_sealed))


def totp_verify(*, user: Any, code: str, now: datetime.datetime) -> bool:
    """Whether ``code`` is the user's current code, not used before; using it marks it used.

    The used step is recorded by a conditional UPDATE (only if it is later than the last one
    recorded), so two requests racing with the same code cannot both pass.
    """
    profile = profile_of(user)
    if profile is None or not profile.totp_enabled:
        return False
    step = totp.totp_match(totp_secret_of(profile), code, now, after_step=profile.totp_last_step)
    if step is None:
        return False
    claimed = (
        Profile.objects.filter(pk=profile.pk, totp_enabled_at__isnull=False)
        .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step))
        .update(totp_last_step=step)
    )
    return claimed == 1


def province_region() -> Region | None:
    return Region.objects.filter(level=Region.Level.PROVINCE, code__startswith=settings.EREC_PROVINCE_CODE).first()


def _profile_for_totp(user: Any, actor: Actor) -> Profile:
    """The user's profile; a superuser without one gets the province administrator's.

    scope_for already treats such a superuser as the province administrator; the profile
    makes it so on record and gives the second factor a place to live.
    """
    profile = profile_of(user)
    if profile is not None:
        return profile
    province = province_region() if user.is_superuser else None
    if province is None:
        raise ApplicationError(AccountsError.TOTP_NOT_ENABLED, "该账号尚未分配角色，无法绑定动态口令。")
    return profile_create(
        user=user,
        role=Role.PROVINCE_ADMIN,
        display_name=user.get_full_name() or user.get_username(),
        region=province,
        actor=actor,
    )


def totp_enable(*, user: Any, secret: bytes, code: str, now: datetime.datetime, actor: Actor) -> Profile:
    """Bind an authenticator: ``code`` must be its current code for ``secret``, proving it has it."""
    step = totp.totp_match(secret, code, now)
    if step is None:
        raise ApplicationError(AccountsError.TOTP_CODE_INVALID, "动态口令不正确，请核对手机时间后重新输入。")
    with transaction.atomic():
        profile = _profile_for_totp(user, actor)
        updated = Profile.objects.filter(pk=profile.pk, totp_enabled_at__isnull=True).update(
            totp_secret_sealed=_sealed(secret), totp_enabled_at=now, totp_last_step=step
        )
        if not updated:
            raise ApplicationError(AccountsError.TOTP_ALREADY_ENABLED, "动态口令已经启用。")
        _audit(actor=actor, action="user.totp_enable", username=user.get_username(), profile=profile)
    profile.refresh_from_db()
    return profile


def totp_provision(*, user: Any, secret: bytes, actor: Actor, now: datetime.datetime) -> Profile:
    """Bind a known secret without a code: the demo's published secrets (load_demo) only."""
    with transaction.atomic():
        profile = _profile_for_totp(user, actor)
        updated = Profile.objects.filter(pk=profile.pk, totp_enabled_at__isnull=True).update(
            totp_secret_sealed=_sealed(secret), totp_enabled_at=now, totp_last_step=None
        )
        if not updated:
            raise ApplicationError(AccountsError.TOTP_ALREADY_ENABLED, "动态口令已经启用。")
        _audit(
            actor=actor,
            action="user.totp_enable",
            username=user.get_username(),
            profile=profile,
            data={"provisioned": True},
        )
    profile.refresh_from_db()
    return profile


def totp_disable(*, user: Any, actor: Actor) -> None:
    """The user turns the second factor off; refused where it is required (bureau roles)."""
    profile = profile_of(user)
    if profile is None or not profile.totp_enabled:
        raise ApplicationError(AccountsError.TOTP_NOT_ENABLED, "尚未启用动态口令。")
    if profile.totp_required:
        raise ApplicationError(AccountsError.TOTP_REQUIRED, "财政部门用户必须使用动态口令，不能停用。")
    _totp_clear(profile=profile, actor=actor, action="user.totp_disable")


def totp_reset(*, user: Any, actor: Actor) -> bool:
    """An administrator clears a lost authenticator; the user binds a new one (bureau: at next sign-in)."""
    profile = profile_of(user)
    if profile is None or not profile.totp_enabled:
        return False
    _totp_clear(profile=profile, actor=actor, action="user.totp_reset")
    return True


def _totp_clear(*, profile: Profile, actor: Actor, action: str) -> None:
    with transaction.atomic():
        Profile.objects.filter(pk=profile.pk).update(totp_secret_sealed="", totp_enabled_at=None, totp_last_step=None)
        _audit(actor=actor, action=action, username=profile.user.get_username(), profile=profile)
    profile.refresh_from_db()


# --- housekeeping ---------------------------------------------------------------------------


def sign_in_records_purge(*, now: datetime.datetime) -> dict[str, int]:
    """Delete expired sessions and failure counts that no longer count (beat task, hourly).

    A failure count older than FAILURE_MEMORY with no lock running is worth nothing (the next
    failure starts again at one), so attacks with made-up names do not grow the table forever.
    """
    from django.contrib.sessions.models import Session

    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    throttles, _ = (
        LoginThrottle.objects.filter(last_failure_at__lt=now - FAILURE_MEMORY)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .delete()
    )
    return {"sessions": sessions, "login_throttles": throttles}
