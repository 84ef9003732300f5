"""Platform users' roles and where they may act (用户角色与数据范围).

Every person who signs in to the portal or the workbench has one ``Profile``: a role
and the region or unit it applies to. What a role may see and do is decided in one
place, :mod:`zhongtai.accounts.scoping`; views never filter by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    PROVINCE_ADMIN = "province_admin", "省级管理员"
    BUREAU_STAFF = "bureau_staff", "财政部门工作人员"
    UNIT_ADMIN = "unit_admin", "单位管理员"
    CASHIER = "cashier", "收费员"
    AUDITOR = "auditor", "审计员（只读）"


# Roles that belong to a finance bureau (a region) rather than to a unit.
BUREAU_ROLES = frozenset({Role.PROVINCE_ADMIN, Role.BUREAU_STAFF})
UNIT_ROLES = frozenset({Role.UNIT_ADMIN, Role.CASHIER})


class Profile(models.Model):
    """A platform user's role and scope, plus their second factor.

    Lockout after failed sign-ins is kept apart, in :class:`LoginThrottle`, keyed by the
    name that was typed: unknown names must behave exactly like known ones.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField("角色", max_length=20, choices=Role.choices)
    display_name = models.CharField("姓名", max_length=60, blank=True)
    region = models.ForeignKey(
        "masterdata.Region",
        verbose_name="所属财政区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="财政部门用户与区域审计员填写：可查看和管理本区划及下级区划。",
    )
    unit = models.ForeignKey(
        "masterdata.Unit",
        verbose_name="所属单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="profiles",
        help_text="单位管理员、收费员与单位审计员填写。",
    )
    issuing_point = models.ForeignKey(
        "masterdata.IssuingPoint",
        verbose_name="开票点",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="收费员可限定在一个开票点；留空表示本单位所有开票点。",
    )
    phone = models.CharField("手机号码", max_length=20, blank=True)

    # Second factor (TOTP, RFC 6238). The secret (base32) is sealed with the key-encryption
    # key by zhongtai.gateway.crypto.secret_encrypt, which yields text.
    totp_secret_sealed = models.TextField("动态口令密钥（加密）", blank=True, default="", editable=False)
    totp_enabled_at = models.DateTimeField("动态口令启用时间", null=True, blank=True, editable=False)
    # The last accepted time step: a code is accepted once only.
    totp_last_step = models.BigIntegerField("最近使用的口令时间步", null=True, blank=True, editable=False)

    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "用户角色"
        verbose_name_plural = "用户角色"
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="profile_role_known"),
            # Bureau roles act on a region; unit roles on a unit; an auditor on exactly one of both.
            models.CheckConstraint(
                condition=(
                    Q(role__in=sorted(BUREAU_ROLES), region__isnull=False, unit__isnull=True)
                    | Q(role__in=sorted(UNIT_ROLES), unit__isnull=False, region__isnull=True)
                    | Q(role=Role.AUDITOR, region__isnull=False, unit__isnull=True)
                    | Q(role=Role.AUDITOR, unit__isnull=False, region__isnull=True)
                ),
                name="profile_scope_matches_role",
            ),
            models.CheckConstraint(
                condition=Q(issuing_point__isnull=True) | Q(role=Role.CASHIER),
                name="profile_issuing_point_only_for_cashier",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()}（{self.get_role_display()}）"

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_username()

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def totp_required(self) -> bool:
        """Bureau staff must use a second factor; others may choose to."""
        return self.role in BUREAU_ROLES

    def clean(self) -> None:
        if self.role in BUREAU_ROLES:
            if self.region_id is None:
                raise ValidationError({"region": "财政部门用户必须指定所属财政区划。"})
            if self.unit_id is not None:
                raise ValidationError({"unit": "财政部门用户不属于某个单位。"})
            if self.role == Role.PROVINCE_ADMIN and self.region is not None and self.region.level != 1:
                raise ValidationError({"region": "省级管理员的所属区划必须是省级区划。"})
        elif self.role in UNIT_ROLES:
            if self.unit_id is None:
                raise ValidationError({"unit": "单位用户必须指定所属单位。"})
            if self.region_id is not None:
                raise ValidationError({"region": "单位用户不填写所属财政区划。"})
        elif self.role == Role.AUDITOR and (self.region_id is None) == (self.unit_id is None):
            raise ValidationError("审计员须且只能指定一个范围：财政区划或单位。")
        if self.issuing_point_id is not None:
            if self.role != Role.CASHIER:
                raise ValidationError({"issuing_point": "只有收费员可以限定开票点。"})
            if self.issuing_point is not None and self.issuing_point.unit_id != self.unit_id:
                raise ValidationError({"issuing_point": "开票点不属于该用户的单位。"})


class LoginThrottle(models.Model):
    """Consecutive failed sign-ins for one typed username, and the lock they caused.

    Keyed by the normalised name as typed, whether or not such an account exists, so the
    answers never reveal which names are real. In the database, so every web host sees it.
    """

    username_key = models.CharField("登录名（规范化）", max_length=150, unique=True)
    failures = models.PositiveIntegerField("连续失败次数", default=0)
    last_failure_at = models.DateTimeField("最近失败时间", null=True, blank=True)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)

    class Meta:
        verbose_name = "登录失败记录"
        verbose_name_plural = "登录失败记录"
        indexes = [models.Index(fields=["last_failure_at"], name="login_throttle_last_failure")]

    def __str__(self) -> str:
        return f"{self.username_key}（{self.failures}）"
