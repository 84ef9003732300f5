from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """One row per state change, written in the same transaction as the change.

    Rows are append-only: nothing in the platform updates or deletes them.
    """

    class ActorType(models.TextChoices):
        USER = "user", "平台用户"
        API_CLIENT = "api_client", "接口应用"
        SYSTEM = "system", "系统"

    occurred_at = models.DateTimeField("发生时间", auto_now_add=True, db_index=True)
    actor_type = models.CharField("操作者类型", max_length=16, choices=ActorType.choices)
    actor = models.CharField("操作者", max_length=128)
    action = models.CharField("操作", max_length=64)
    object_type = models.CharField("对象类型", max_length=64)
    object_id = models.CharField("对象标识", max_length=64)
    unit_code = models.CharField("单位编码", max_length=32, blank=True)
    region_code = models.CharField("区划代码", max_length=6, blank=True)
    data = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"
        ordering = ["-occurred_at", "-id"]
        # Plain indexes for the filters by action and unit, declared here rather than with
        # db_index: on PostgreSQL that also made a varchar_pattern_ops twin of each, for prefix
        # LIKE queries that nothing runs (the admin searches with icontains), which every audit
        # row, i.e. every receipt issued, signed and rendered, paid for (decision 0014).
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action"], name="audit_action"),
            models.Index(fields=["unit_code"], name="audit_unit_code"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type}:{self.object_id}"
