"""The one helper that decides what a signed-in user may see and do (数据范围).

Every portal page, workbench page and admin query goes through :func:`scope_for`:

    scope = scope_for(request.user)
    receipts = scope.receipts()                     # only what this user may see
    receipt = scope.receipt_or_404(code, number)    # another unit's receipt is a 404
    scope.require(Permission.RED_OFFSET)            # a read-only role gets a 403

Bureau roles see their region and every region below it (by region-code prefix);
unit roles see their unit (a cashier limited to an issuing point sees that point);
an auditor sees a region or a unit and may change nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from zhongtai.accounts.models import BUREAU_ROLES, UNIT_ROLES, Profile, Role

if TYPE_CHECKING:
    from issuance.models import Receipt
    from zhongtai.masterdata.models import Unit


class Permission(enum.StrEnum):
    VIEW = "view"  # see receipts and master data in scope
    EXPORT = "export"  # export lists to Excel
    ISSUE = "issue"  # issue receipts in the portal
    RED_OFFSET = "red_offset"  # 冲红
    PAPER_CONVERT = "paper_convert"  # 换开纸质票据, void a paper copy
    SEND = "send"  # send a receipt to its payer (SMS, email)
    PAPER_STOCK = "paper_stock"  # record paper stock received / handed down
    MANAGE_UNIT_USERS = "manage_unit_users"  # a unit administrator manages the unit's cashiers
    FILE_APPLICATION = "file_application"  # a unit files connection / go-live / paper-stop applications
    MANAGE_MASTERDATA = "manage_masterdata"  # bureau: regions, units, fee items, standards in its region
    CONFIRM_APPLICATION = "confirm_application"  # the unit's bureau confirms an application
    APPROVE_APPLICATION = "approve_application"  # the province approves it
    SET_DEADLINES = "set_deadlines"  # the province sets rollout deadlines


_UNIT_WORK = frozenset(
    {
        Permission.VIEW,
        Permission.EXPORT,
        Permission.ISSUE,
        Permission.RED_OFFSET,
        Permission.PAPER_CONVERT,
        Permission.SEND,
    }
)
_BUREAU_WORK = frozenset(
    {
        Permission.VIEW,
        Permission.EXPORT,
        Permission.MANAGE_MASTERDATA,
        Permission.CONFIRM_APPLICATION,
        Permission.PAPER_STOCK,
    }
)
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.PROVINCE_ADMIN: _BUREAU_WORK | {Permission.APPROVE_APPLICATION, Permission.SET_DEADLINES},
    Role.BUREAU_STAFF: _BUREAU_WORK,
    Role.UNIT_ADMIN: _UNIT_WORK | {Permission.PAPER_STOCK, Permission.MANAGE_UNIT_USERS, Permission.FILE_APPLICATION},
    Role.CASHIER: _UNIT_WORK,
    Role.AUDITOR: frozenset({Permission.VIEW, Permission.EXPORT}),
}
# Province-level bureau staff approve for the province like its administrator does.
_PROVINCE_STAFF_EXTRA = frozenset({Permission.APPROVE_APPLICATION})

_PREFIX_LENGTH = {1: 2, 2: 4, 3: 6}


@dataclass(frozen=True)
class Scope:
    """What one user may see (a region prefix or a unit) and do (permissions)."""

    username: str
    role: str
    permissions: frozenset[Permission]
    region_prefix: str | None = None  # bureau roles and regional auditors
    region_level: int | None = None
    unit_id: int | None = None  # unit roles and unit auditors
    issuing_point_id: int | None = None  # a cashier limited to one issuing point

    # --- who -----------------------------------------------------------------

    @property
    def is_bureau(self) -> bool:
        return self.region_prefix is not None

    @property
    def is_unit(self) -> bool:
        return self.unit_id is not None

    @property
    def is_province(self) -> bool:
        return self.region_level == 1

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    @property
    def read_only(self) -> bool:
        return self.role == Role.AUDITOR

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        """403 when the role may not do this (the object itself was already found in scope)."""
        if permission not in self.permissions:
            raise PermissionDenied(f"当前角色无权执行此操作（{permission.value}）。")

    # --- what ----------------------------------------------------------------

    def covers_region_code(self, code: str) -> bool:
        if self.region_prefix is None:
            return False
        return code.startswith(self.region_prefix)

    def regions(self, queryset: QuerySet[Any] | None = None) -> QuerySet[Any]:
        from zhongtai.masterdata.models import Region

        qs = Region.objects.all() if queryset is None else queryset
        if self.region_prefix is not None:
            return qs.filter(code__startswith=self.region_prefix)
        if self.unit_id is not None:
            return qs.filter(units__id=self.unit_id)
        return qs.none()

    def units(self, queryset: QuerySet[Any] | None = None) -> QuerySet[Any]:
        from zhongtai.masterdata.models import Unit

        qs = Unit.objects.all() if queryset is None else queryset
        return qs.filter(self._unit_condition("")) if self._has_scope() else qs.none()

    def issuing_points(self, queryset: QuerySet[Any] | None = None) -> QuerySet[Any]:
        from zhongtai.masterdata.models import IssuingPoint

        qs = IssuingPoint.objects.all() if queryset is None else queryset
        if not self._has_scope():
            return qs.none()
        qs = qs.filter(self._unit_condition("unit__"))
        if self.issuing_point_id is not None:
            qs = qs.filter(pk=self.issuing_point_id)
        return qs

    def receipts(self, queryset: QuerySet[Any] | None = None) -> QuerySet[Any]:
        from issuance.models import Receipt

        qs = Receipt.objects.all() if queryset is None else queryset
        # Joint-testing (sandbox) receipts are never valid: no portal or workbench page shows them.
        qs = qs.filter(sandbox=False)
        if self.region_prefix is not None:
            return qs.filter(region_code__startswith=self.region_prefix)
        if self.unit_id is None:
            return qs.none()
        qs = qs.filter(unit_id=self.unit_id)
        if self.issuing_point_id is not None:
            qs = qs.filter(issuing_point_id=self.issuing_point_id)
        return qs

    def filter_by_unit(self, queryset: QuerySet[Any], unit_field: str = "unit") -> QuerySet[Any]:
        """Any model with a foreign key to Unit (applications, paper stock, messages, ...)."""
        if not self._has_scope():
            return queryset.none()
        return queryset.filter(self._unit_condition(f"{unit_field}__"))

    def receipt_or_404(self, receipt_code: str, number: int | str) -> Receipt:
        """The receipt if this user may see it; otherwise 404, never 403 (no existence leak)."""
        try:
            number_value = int(number)
        except (TypeError, ValueError):
            raise Http404("票据不存在。") from None
        receipt = (
            self.receipts()
            .select_related("kind", "unit", "issuing_point", "related_receipt")
            .filter(receipt_code=receipt_code, number=number_value)
            .first()
        )
        if receipt is None:
            raise Http404("票据不存在。")
        return receipt

    def unit_or_404(self, pk: int | str) -> Unit:
        unit = self.units().filter(pk=pk).first() if str(pk).isdigit() else None
        if unit is None:
            raise Http404("单位不存在。")
        return unit

    # --- internals -------------------------------------------------------------

    def _has_scope(self) -> bool:
        return self.region_prefix is not None or self.unit_id is not None

    def _unit_condition(self, prefix: str) -> Q:
        if self.region_prefix is not None:
            return Q(**{f"{prefix}region__code__startswith": self.region_prefix})
        return Q(**{f"{prefix}pk": self.unit_id}) if prefix == "" else Q(**{f"{prefix}id": self.unit_id})


def scope_of_profile(profile: Profile) -> Scope:
    permissions = ROLE_PERMISSIONS[profile.role]
    username = profile.user.get_username()
    if profile.region_id is not None:
        region = profile.region
        assert region is not None
        if profile.role == Role.BUREAU_STAFF and region.level == 1:
            permissions = permissions | _PROVINCE_STAFF_EXTRA
        return Scope(
            username=username,
            role=profile.role,
            permissions=permissions,
            region_prefix=region.code[: _PREFIX_LENGTH[region.level]],
            region_level=region.level,
        )
    return Scope(
        username=username,
        role=profile.role,
        permissions=permissions,
        unit_id=profile.unit_id,
        issuing_point_id=profile.issuing_point_id if profile.role == Role.CASHIER else None,
    )


def scope_for(user: Any) -> Scope:
    """The scope of a signed-in user; PermissionDenied for anyone without a role.

    A superuser without a profile (the operator created by ``createsuperuser``) acts as
    the province administrator.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied("请先登录。")
    profile = Profile.objects.select_related("region", "unit", "user").filter(user=user).first()
    if profile is not None:
        return scope_of_profile(profile)
    if user.is_superuser:
        return Scope(
            username=user.get_username(),
            role=Role.PROVINCE_ADMIN,
            permissions=ROLE_PERMISSIONS[Role.PROVINCE_ADMIN],
            region_prefix=settings.EREC_PROVINCE_CODE[:2],
            region_level=1,
        )
    raise PermissionDenied("该账号尚未分配角色，请联系财政部门管理员。")


def role_is_bureau(role: str) -> bool:
    return role in BUREAU_ROLES


def role_is_unit(role: str) -> bool:
    return role in UNIT_ROLES
