from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet

from zhongtai.accounts.models import LoginThrottle, Profile
from zhongtai.accounts.scoping import Scope
from zhongtai.accounts.services import OBJECT_TYPE, profile_of, province_region, username_key
from zhongtai.audit.models import AuditEvent

SIGN_IN_ACTIONS = ("user.login", "user.login_failed", "user.locked", "user.login_refused")


def login_lock_until(*, username: str, now: datetime.datetime) -> datetime.datetime | None:
    """When the lock on this typed name ends, if it is locked now."""
    locked_until = (
        LoginThrottle.objects.filter(username_key=username_key(username), locked_until__gt=now)
        .values_list("locked_until", flat=True)
        .first()
    )
    return locked_until


def totp_required_for(user: Any) -> bool:
    """Bureau roles must pass a second factor; so must a superuser without a profile (it acts
    as the province administrator), once the province's region exists to give it a profile.
    """
    profile = profile_of(user)
    if profile is not None:
        return profile.totp_required
    return bool(user.is_superuser) and province_region() is not None


def totp_enabled_for(user: Any) -> bool:
    profile = profile_of(user)
    return profile is not None and profile.totp_enabled


def sign_in_history(*, user: Any, limit: int = 10) -> QuerySet[AuditEvent]:
    """The user's recent sign-ins, failures and locks, newest first, from the audit trail."""
    return AuditEvent.objects.filter(
        object_type=OBJECT_TYPE, object_id=user.get_username()[:64], action__in=SIGN_IN_ACTIONS
    ).order_by("-occurred_at", "-id")[:limit]


def unit_users_list(*, scope: Scope) -> QuerySet[Profile]:
    """The users of the unit administrator's unit (every role), through the scope."""
    if not scope.is_unit:
        return Profile.objects.none()
    return (
        scope.filter_by_unit(Profile.objects.all())
        .select_related("user", "issuing_point", "unit")
        .order_by("role", "user__username")
    )
