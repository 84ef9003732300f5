"""Unit onboarding and the province's rollout (单位接入与推广).

An interface unit (接口单位) goes through three applications, each filed by the unit
and decided by finance bureaus:

* the connection application (对接申请): submitted → confirmed by its city or county
  bureau → approved by the province, which hands out sandbox credentials for joint
  testing (联调测试);
* the go-live application (上线申请), once the joint-test checklist is complete: the
  same path, ending with production credentials;
* the paper-stop application (停用纸质票据申请) of a live unit, confirmed by its bureau,
  which retires the unit's unused paper stock (核销清理).

A networked unit (联网单位) skips the first two: a bureau confirms it live once it has
issued e-receipts in the portal. ``UnitRollout`` keeps where each unit stands, so that
the rollout dashboard is a handful of aggregate queries.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class Stage(models.TextChoices):
    """Where a unit stands in the rollout (推广阶段), in order."""

    REGISTERED = "registered", "已登记"
    APPLIED = "applied", "已申请接入"
    JOINT_TEST = "joint_test", "联调测试"
    LIVE = "live", "已上线"
    PAPER_STOPPED = "paper_stopped", "已停用纸质票据"


# Stages that only interface units pass through; networked units go straight to live.
INTERFACE_ONLY_STAGES = frozenset({Stage.APPLIED, Stage.JOINT_TEST})
# The stages the province can set deadlines for (registration has no deadline: a unit
# that is not registered is not known to the platform).
DEADLINE_STAGES = (Stage.APPLIED, Stage.JOINT_TEST, Stage.LIVE, Stage.PAPER_STOPPED)


class Application(models.Model):
    """One application of a unit; at most one per kind, resubmitted in place after a rejection."""

    class Kind(models.TextChoices):
        CONNECTION = "connection", "对接申请"
        GO_LIVE = "go_live", "上线申请"
        PAPER_STOP = "paper_stop", "停用纸质票据申请"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "已提交"
        CONFIRMED = "confirmed", "区县/市局已确认"
        APPROVED = "approved", "省厅已批准"
        REJECTED = "rejected", "已退回"

    class KeyCustody(models.TextChoices):
        UNIT_HELD = "unit_held", "单位自持签名密钥（USB Key/加密机）"
        HOSTED = "hosted", "平台托管签名密钥"

    unit = models.ForeignKey(
        "masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="onboarding_applications"
    )
    kind = models.CharField("申请类型", max_length=16, choices=Kind.choices)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.SUBMITTED)

    filed_by = models.CharField("申请人", max_length=150)
    filed_by_bureau = models.BooleanField("由财政部门发起", default=False)
    submitted_at = models.DateTimeField("提交时间")
    resubmissions = models.PositiveSmallIntegerField("重新提交次数", default=0)

    # The connection application: the unit's charging system and who runs it.
    system_name = models.CharField("收费系统名称", max_length=100, blank=True)
    system_vendor = models.CharField("系统开发商", max_length=100, blank=True)
    tech_contact = models.CharField("技术联系人", max_length=40, blank=True)
    tech_phone = models.CharField("技术联系电话", max_length=30, blank=True)
    expected_daily_volume = models.PositiveIntegerField("预计日开票量（张）", null=True, blank=True)
    key_custody = models.CharField("签名密钥保管方式", max_length=16, choices=KeyCustody.choices, blank=True)
    # Planned go-live (connection, go-live) or the day paper receipts stop (paper stop).
    planned_date = models.DateField("计划日期", null=True, blank=True)
    remark = models.TextField("申请说明", max_length=1000, blank=True)

    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    confirmed_by = models.CharField("确认人", max_length=150, blank=True)
    approved_at = models.DateTimeField("批准时间", null=True, blank=True)
    approved_by = models.CharField("批准人", max_length=150, blank=True)
    rejected_at = models.DateTimeField("退回时间", null=True, blank=True)
    rejected_by = models.CharField("退回人", max_length=150, blank=True)
    rejection_reason = models.CharField("退回原因", max_length=500, blank=True)

    # The paper-stop application: unused paper numbers retired on confirmation (核销清理).
    paper_retired_count = models.PositiveIntegerField("核销空白纸质票据（份）", null=True, blank=True)

    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "接入与上线申请"
        verbose_name_plural = "接入与上线申请"
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "kind"], name="onboarding_application_one_per_kind"),
            models.CheckConstraint(condition=Q(kind__in=["connection", "go_live", "paper_stop"]), name="onb_app_kind"),
            models.CheckConstraint(
                condition=Q(status__in=["submitted", "confirmed", "approved", "rejected"]), name="onb_app_status"
            ),
            # A connection application says which system connects and who answers for it.
            models.CheckConstraint(
                condition=~Q(kind="connection")
                | (
                    ~Q(system_name="")
                    & ~Q(system_vendor="")
                    & ~Q(tech_contact="")
                    & ~Q(tech_phone="")
                    & Q(expected_daily_volume__isnull=False, planned_date__isnull=False)
                    & Q(key_custody__in=["unit_held", "hosted"])
                ),
                name="onb_app_connection_complete",
            ),
            models.CheckConstraint(
                condition=Q(kind="connection") | Q(key_custody=""), name="onb_app_custody_only_connection"
            ),
            # The bureau's confirmation ends a paper-stop application: the province never approves one.
            models.CheckConstraint(
                condition=~Q(kind="paper_stop", status="approved"), name="onb_app_paper_no_approval"
            ),
            models.CheckConstraint(
                condition=~Q(kind="paper_stop", status="confirmed") | Q(paper_retired_count__isnull=False),
                name="onb_app_paper_retired_counted",
            ),
            # Each state carries who moved it there and when.
            models.CheckConstraint(
                condition=~Q(status="submitted") | Q(confirmed_at__isnull=True, approved_at__isnull=True),
                name="onb_app_submitted_undecided",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["confirmed", "approved"])
                | (Q(confirmed_at__isnull=False) & ~Q(confirmed_by="")),
                name="onb_app_confirmed_has_confirmer",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | (Q(approved_at__isnull=False) & ~Q(approved_by="")),
                name="onb_app_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected")
                | (Q(rejected_at__isnull=False) & ~Q(rejected_by="") & ~Q(rejection_reason="")),
                name="onb_app_rejected_has_reason",
            ),
            # Four eyes (四眼原则): nobody confirms what they filed or approves what they confirmed.
            models.CheckConstraint(
                condition=Q(confirmed_by="") | ~Q(confirmed_by=F("filed_by")), name="onb_app_confirmer_not_filer"
            ),
            models.CheckConstraint(
                condition=Q(approved_by="") | ~Q(approved_by=F("confirmed_by")), name="onb_app_approver_not_confirmer"
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}（{self.get_status_display()}）"

    @property
    def is_open(self) -> bool:
        """Waiting for a bureau: submitted, or confirmed and waiting for the province."""
        if self.kind == self.Kind.PAPER_STOP:
            return self.status == self.Status.SUBMITTED
        return self.status in (self.Status.SUBMITTED, self.Status.CONFIRMED)

    @property
    def is_done(self) -> bool:
        """Granted: approved, or for a paper stop confirmed."""
        if self.kind == self.Kind.PAPER_STOP:
            return self.status == self.Status.CONFIRMED
        return self.status == self.Status.APPROVED

    @property
    def status_label(self) -> str:
        if self.kind == self.Kind.PAPER_STOP and self.status == self.Status.CONFIRMED:
            return "财政部门已确认，已停用"
        return self.get_status_display()


class CredentialHandover(models.Model):
    """The one-time handover of credentials created by an approval (凭证交付).

    The secret waits here encrypted until the unit administrator reveals it once on the
    application page; then it is erased, and only the credential's own (encrypted)
    copy, used to verify signatures, remains.
    """

    application = models.OneToOneField(
        Application, verbose_name="申请", on_delete=models.PROTECT, related_name="handover"
    )
    credential = models.OneToOneField(
        "gateway.ApiCredential", verbose_name="应用凭证", on_delete=models.PROTECT, related_name="handover"
    )
    sandbox = models.BooleanField("联调测试（沙箱）凭证")
    secret_encrypted = models.TextField("待交付密钥（加密）", blank=True, editable=False)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    revealed_at = models.DateTimeField("查看时间", null=True, blank=True)
    revealed_by = models.CharField("查看人", max_length=150, blank=True)

    class Meta:
        verbose_name = "凭证交付"
        verbose_name_plural = "凭证交付"
        ordering = ["-created_at"]
        constraints = [
            # Waiting (secret kept, not revealed) or handed over (secret erased, who and when).
            models.CheckConstraint(
                condition=(~Q(secret_encrypted="") & Q(revealed_at__isnull=True, revealed_by=""))
                | (Q(secret_encrypted="") & Q(revealed_at__isnull=False) & ~Q(revealed_by="")),
                name="onb_handover_revealed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credential_id}（{'已查看' if self.revealed_at else '待查看'}）"

    @property
    def waiting(self) -> bool:
        return self.revealed_at is None


class CheckItem(models.TextChoices):
    """The joint-test checklist (联调测试检查项): what a unit's system must have done in the sandbox."""

    ISSUED = "issued", "开具"
    FETCHED = "fetched", "查询下载"
    BATCH_ISSUED = "batch_issued", "批量开具"
    RED_OFFSET = "red_offset", "冲红"
    RECONCILED = "reconciled", "对账"


class CheckRecord(models.Model):
    """A checklist item that passed for a unit in the sandbox: first and last time, and how often.

    Written by the checklist middleware with an upsert, one row per (unit, item).
    """

    unit = models.ForeignKey(
        "masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="joint_test_checks"
    )
    item = models.CharField("检查项", max_length=16, choices=CheckItem.choices)
    first_passed_at = models.DateTimeField("首次通过时间")
    last_passed_at = models.DateTimeField("最近通过时间")
    count = models.PositiveBigIntegerField("通过次数")
    last_app_id = models.CharField("最近调用的应用 ID", max_length=40)

    class Meta:
        verbose_name = "联调测试检查项"
        verbose_name_plural = "联调测试检查项"
        ordering = ["unit__code", "item"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "item"], name="onb_check_one_per_item"),
            models.CheckConstraint(
                condition=Q(item__in=["issued", "fetched", "batch_issued", "red_offset", "reconciled"]),
                name="onb_check_item_known",
            ),
            models.CheckConstraint(condition=Q(count__gte=1), name="onb_check_count_positive"),
            models.CheckConstraint(
                condition=Q(last_passed_at__gte=F("first_passed_at")), name="onb_check_times_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.get_item_display()}"


class UnitRollout(models.Model):
    """Where one unit stands in the rollout; kept by the services in the transaction of each step."""

    class LiveBasis(models.TextChoices):
        GO_LIVE_APPROVAL = "go_live_approval", "上线申请经省厅批准"
        PORTAL_ISSUANCE = "portal_issuance", "已在门户开具电子票据"
        BUREAU_DECISION = "bureau_decision", "财政部门确认上线"

    unit = models.OneToOneField(
        "masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, primary_key=True, related_name="rollout"
    )
    applied_at = models.DateTimeField("申请接入时间", null=True, blank=True)
    joint_test_at = models.DateTimeField("开始联调时间", null=True, blank=True)
    live_at = models.DateTimeField("上线时间", null=True, blank=True)
    live_basis = models.CharField("上线依据", max_length=20, choices=LiveBasis.choices, blank=True)
    live_by = models.CharField("确认上线人", max_length=150, blank=True)
    paper_stopped_at = models.DateTimeField("停用纸质票据时间", null=True, blank=True)
    paper_retired_count = models.PositiveIntegerField("核销空白纸质票据（份）", null=True, blank=True)

    class Meta:
        verbose_name = "单位推广进度"
        verbose_name_plural = "单位推广进度"
        ordering = ["unit__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(joint_test_at__isnull=True) | Q(applied_at__isnull=False),
                name="onb_rollout_test_after_apply",
            ),
            models.CheckConstraint(
                condition=(Q(live_at__isnull=True) & Q(live_basis=""))
                | (
                    Q(live_at__isnull=False)
                    & Q(live_basis__in=["go_live_approval", "portal_issuance", "bureau_decision"])
                ),
                name="onb_rollout_live_has_basis",
            ),
            models.CheckConstraint(
                condition=~Q(live_basis="go_live_approval") | Q(joint_test_at__isnull=False),
                name="onb_rollout_go_live_after_test",
            ),
            models.CheckConstraint(
                condition=Q(paper_stopped_at__isnull=True)
                | Q(live_at__isnull=False, paper_retired_count__isnull=False),
                name="onb_rollout_paper_stop_after_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.stage.label}"

    @property
    def stage(self) -> Stage:
        if self.paper_stopped_at:
            return Stage.PAPER_STOPPED
        if self.live_at:
            return Stage.LIVE
        if self.joint_test_at:
            return Stage.JOINT_TEST
        if self.applied_at:
            return Stage.APPLIED
        return Stage.REGISTERED


class Deadline(models.Model):
    """A rollout deadline (推广时限) the province sets for a stage, province-wide or for one region.

    A region's own deadline overrides the one of any region above it for the units in it.
    """

    stage = models.CharField("阶段", max_length=16, choices=[(s.value, s.label) for s in DEADLINE_STAGES])
    due_date = models.DateField("截止日期")
    region = models.ForeignKey(
        "masterdata.Region",
        verbose_name="适用区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="为空表示全省适用；指定区划时适用于该区划及其下级，且优先于上级的时限。",
    )
    set_by = models.CharField("设定人", max_length=150)
    set_at = models.DateTimeField("设定时间", auto_now=True)

    class Meta:
        verbose_name = "推广时限"
        verbose_name_plural = "推广时限"
        ordering = ["stage", "region__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage"], condition=Q(region__isnull=True), name="onb_deadline_one_province_wide"
            ),
            models.UniqueConstraint(
                fields=["stage", "region"], condition=Q(region__isnull=False), name="onb_deadline_one_per_region"
            ),
            models.CheckConstraint(
                condition=Q(stage__in=["applied", "joint_test", "live", "paper_stopped"]), name="onb_deadline_stage"
            ),
        ]

    def __str__(self) -> str:
        where = self.region.name if self.region_id else "全省"
        return f"{where} {self.get_stage_display()} {self.due_date:%Y-%m-%d}"
