from __future__ import annotations

from django.db import models


class ApiCredential(models.Model):
    """Application credentials (应用凭证) of an interface unit: app id + secret.

    A unit may hold several (one per system, or for rotation); each can be revoked.
    The secret is stored encrypted with the key-encryption key, never in clear.
    """

    class Scope(models.TextChoices):
        ISSUE = "issue", "开票（读写）"
        READ = "read", "只读（查询、对账）"

    class Status(models.TextChoices):
        ACTIVE = "active", "有效"
        REVOKED = "revoked", "已吊销"

    unit = models.ForeignKey(
        "masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="api_credentials"
    )
    app_id = models.CharField("应用 ID（AppId）", max_length=40, unique=True)
    secret_encrypted = models.TextField("密钥（加密存储）", editable=False)
    label = models.CharField("用途说明", max_length=100, blank=True)
    scope = models.CharField("权限范围", max_length=8, choices=Scope.choices, default=Scope.ISSUE)
    # A sandbox credential (联调测试) issues and sees only sandbox receipts, numbered apart and never valid.
    sandbox = models.BooleanField("联调测试凭证", default=False)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    created_by = models.CharField("创建人", max_length=128)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revoked_by = models.CharField("吊销人", max_length=128, blank=True)

    class Meta:
        verbose_name = "接口应用凭证"
        verbose_name_plural = "接口应用凭证"
        ordering = ["unit__code", "created_at"]

    def __str__(self) -> str:
        environment = "，联调测试" if self.sandbox else ""
        return f"{self.app_id}（{self.get_status_display()}{environment}）"


class UsedNonce(models.Model):
    """A nonce seen within the replay window (database nonce store).

    The unique constraint is what refuses a replay, atomically, across processes.
    Rows older than the window are purged by a periodic task.
    """

    app_id = models.CharField(max_length=40)
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "已用随机串"
        verbose_name_plural = "已用随机串"
        constraints = [models.UniqueConstraint(fields=["app_id", "nonce"], name="nonce_unique_per_app")]

    def __str__(self) -> str:
        return f"{self.app_id}:{self.nonce}"
