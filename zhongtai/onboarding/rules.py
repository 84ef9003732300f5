"""Who may take which step of an application (pure rules, no queries beyond the objects given).

The services check these again inside their transactions; the views use them to show
only the buttons a user may press.

* A unit's administrator files its applications (a paper stop may also be started by a
  bureau that covers the unit).
* Confirmation is local: a city or county bureau covering the unit confirms; the province
  confirms only for units directly under it (省本级单位), so that confirmation and
  approval are two levels wherever there are two.
* Approval is provincial: province-level users with the approve permission.
* Four eyes (四眼原则): nobody confirms what they filed nor approves what they confirmed
  (also a database constraint).
"""

from __future__ import annotations

from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.masterdata.models import Region, Unit
from zhongtai.onboarding.models import Application, CredentialHandover


def _acts_for_bureau_of(scope: Scope, unit: Unit) -> bool:
    """The scope is a bureau (not an auditor) that confirms for ``unit``."""
    if scope.read_only or not scope.can(Permission.CONFIRM_APPLICATION):
        return False
    if not scope.covers_region_code(unit.region.code):
        return False
    if unit.region.level == Region.Level.PROVINCE:
        return scope.is_province
    return not scope.is_province


def can_file(*, scope: Scope, unit: Unit, kind: str) -> bool:
    if scope.read_only:
        return False
    own_unit = scope.can(Permission.FILE_APPLICATION) and scope.unit_id == unit.pk
    if kind == Application.Kind.PAPER_STOP:
        return own_unit or _acts_for_bureau_of(scope, unit)
    return own_unit


def can_confirm(*, scope: Scope, application: Application) -> bool:
    return (
        application.status == Application.Status.SUBMITTED
        and _acts_for_bureau_of(scope, application.unit)
        and scope.username != application.filed_by
    )


def can_approve(*, scope: Scope, application: Application) -> bool:
    return (
        application.kind != Application.Kind.PAPER_STOP
        and application.status == Application.Status.CONFIRMED
        and not scope.read_only
        and scope.can(Permission.APPROVE_APPLICATION)
        and scope.is_province
        and scope.username != application.confirmed_by
    )


def can_reject(*, scope: Scope, application: Application) -> bool:
    """Whoever would decide the current step may send it back (no four-eyes rule for a refusal)."""
    if application.status == Application.Status.SUBMITTED:
        return _acts_for_bureau_of(scope, application.unit)
    if application.status == Application.Status.CONFIRMED and application.kind != Application.Kind.PAPER_STOP:
        return not scope.read_only and scope.can(Permission.APPROVE_APPLICATION) and scope.is_province
    return False


def can_resubmit(*, scope: Scope, application: Application) -> bool:
    return application.status == Application.Status.REJECTED and can_file(
        scope=scope, unit=application.unit, kind=application.kind
    )


def can_reveal(*, scope: Scope, handover: CredentialHandover, application: Application) -> bool:
    """Only the unit's own administrator sees its secret, and only once."""
    return (
        handover.waiting
        and not scope.read_only
        and scope.can(Permission.FILE_APPLICATION)
        and scope.unit_id == application.unit_id
    )


def can_confirm_live(*, scope: Scope, unit: Unit) -> bool:
    """A bureau confirms a networked unit live (an interface unit goes live by its go-live application)."""
    return unit.connection_mode == Unit.ConnectionMode.NETWORKED and _acts_for_bureau_of(scope, unit)
