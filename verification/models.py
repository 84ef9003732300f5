"""Reimbursing parties, their API credentials, their entries, and per-receipt counters.

A reimbursing party (报销/入账单位: an employer's finance office, the medical insurance
bureau, a commercial insurer) verifies receipts it is given and records that it paid or
booked them (报销/入账记录), so that nobody is paid twice for the same receipt.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from zhongtai.masterdata.validators import validate_credit_code


class ReimbursingParty(models.Model):
    """报销/入账单位: a party that verifies receipts through the public API and records entries."""

    class PartyType(models.TextChoices):
        EMPLOYER = "employer", "单位财务"
        MEDICAL_INSURANCE = "medical_insurance", "医保"
        COMMERCIAL_INSURANCE = "commercial_insurance", "商保"

    class Status(models.TextChoices):
        ACTIVE = "active", "正常"
        SUSPENDED = "suspended", "暂停"

    name = models.CharField("名称", max_length=100)
    party_type = models.CharField("类型", max_length=24, choices=PartyType.choices)
    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True, validators=[validate_credit_code])
    contact_person = models.CharField("联系人", max_length=40, blank=True)
    contact_phone = models.CharField("联系电话", max_length=30, blank=True)
    contact_email = models.EmailField("联系邮箱", max_length=100, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "报销/入账单位"
        verbose_name_plural = "报销/入账单位"
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(party_type__in=["employer", "medical_insurance", "commercial_insurance"]),
                name="party_type_known",
            ),
            models.CheckConstraint(condition=Q(status__in=["active", "suspended"]), name="party_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_party_type_display()}）"

    def clean_fields(self, exclude: object = None) -> None:
        # Normalised before the field validators run, as for units: a lower-case code is accepted.
        if self.credit_code:
            self.credit_code = self.credit_code.strip().upper()
        super().clean_fields(exclude=exclude)  # type: ignore[arg-type]


class PartyCredential(models.Model):
    """A party's application credential (应用凭证): app id + secret, signed like interface units' requests.

    The secret is stored encrypted with the key-encryption key and shown once at issue.
    """

    class Scope(models.TextChoices):
        ENTRY = "entry", "查验与报销入账（读写）"
        READ = "read", "只读（查验、查询）"

    class Status(models.TextChoices):
        ACTIVE = "active", "有效"
        REVOKED = "revoked", "已吊销"

    party = models.ForeignKey(
        ReimbursingParty, verbose_name="报销/入账单位", on_delete=models.PROTECT, related_name="credentials"
    )
    # At most 32 characters: the nonce store keys nonces by "party:" + app id (40 characters).
    app_id = models.CharField("应用 ID（AppId）", max_length=32, unique=True)
    secret_encrypted = models.TextField("密钥（加密存储）", editable=False)
    label = models.CharField("用途说明", max_length=100, blank=True)
    scope = models.CharField("权限范围", max_length=8, choices=Scope.choices, default=Scope.ENTRY)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    created_by = models.CharField("创建人", max_length=128)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revoked_by = models.CharField("吊销人", max_length=128, blank=True)

    class Meta:
        verbose_name = "报销单位应用凭证"
        verbose_name_plural = "报销单位应用凭证"
        ordering = ["party__name", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="active", revoked_at__isnull=True) | Q(status="revoked", revoked_at__isnull=False),
                name="party_credential_revocation_consistent",
            ),
            models.CheckConstraint(condition=Q(scope__in=["entry", "read"]), name="party_credential_scope_known"),
        ]

    def __str__(self) -> str:
        return f"{self.app_id}（{self.get_status_display()}）"


class ReceiptEntry(models.Model):
    """报销/入账记录: a party paid (报销) or booked (入账) a receipt, in whole or in part.

    A receipt may be claimed in parts by several parties; the sum of its active entries never
    exceeds its total (:class:`ReceiptLedger`), and one party holds at most one active entry
    per receipt. A cancelled entry (已撤销) stays, and frees its amount.
    """

    class Kind(models.TextChoices):
        REIMBURSEMENT = "reimbursement", "报销"
        BOOK_ENTRY = "book_entry", "入账"

    class Status(models.TextChoices):
        ACTIVE = "active", "有效"
        CANCELLED = "cancelled", "已撤销"

    receipt = models.ForeignKey(
        "issuance.Receipt", verbose_name="票据", on_delete=models.PROTECT, related_name="entries"
    )
    party = models.ForeignKey(
        ReimbursingParty, verbose_name="报销/入账单位", on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    amount = models.DecimalField("金额", max_digits=14, decimal_places=2)
    entry_date = models.DateField("报销/入账日期")
    reference = models.CharField("凭证号/案号", max_length=64, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.ACTIVE)
    entered_at = models.DateTimeField("登记时间", db_index=True)
    entered_by = models.CharField("登记人/应用", max_length=128)
    cancelled_at = models.DateTimeField("撤销时间", null=True, blank=True)
    cancelled_by = models.CharField("撤销人/应用", max_length=128, blank=True)
    cancel_reason = models.CharField("撤销原因", max_length=200, blank=True)

    class Meta:
        verbose_name = "报销/入账记录"
        verbose_name_plural = "报销/入账记录"
        ordering = ["entered_at", "id"]
        constraints = [
            # The same party never enters the same receipt twice while its first entry stands.
            models.UniqueConstraint(
                fields=["receipt", "party"],
                condition=Q(status="active"),
                name="entry_one_active_per_receipt_party",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="entry_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=["reimbursement", "book_entry"]), name="entry_kind_known"),
            models.CheckConstraint(
                condition=Q(status="active", cancelled_at__isnull=True)
                | Q(status="cancelled", cancelled_at__isnull=False),
                name="entry_cancellation_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["party", "entered_at"], name="entry_party_entered"),
            models.Index(fields=["receipt", "status"], name="entry_receipt_status"),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}:{self.party_id}:{self.amount}:{self.status}"


class ReceiptLedger(models.Model):
    """报销台账 of one receipt: what its active entries claim, beside its total.

    Updated in the same transaction as every entry and cancellation, under the receipt's row
    lock; the check constraint is the database's own guarantee that a receipt is never
    claimed beyond its total, whatever the code above it does.
    """

    receipt = models.OneToOneField(
        "issuance.Receipt", verbose_name="票据", primary_key=True, on_delete=models.PROTECT, related_name="ledger"
    )
    total_amount = models.DecimalField("票据金额", max_digits=14, decimal_places=2)
    claimed_amount = models.DecimalField("已报销/入账金额", max_digits=14, decimal_places=2, default=0)
    active_entries = models.PositiveIntegerField("有效记录数", default=0)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "报销台账"
        verbose_name_plural = "报销台账"
        constraints = [
            models.CheckConstraint(condition=Q(total_amount__gt=0), name="ledger_total_positive"),
            models.CheckConstraint(
                condition=Q(claimed_amount__gte=0, claimed_amount__lte=F("total_amount")),
                name="ledger_claimed_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}: {self.claimed_amount}/{self.total_amount}"

    @property
    def remaining_amount(self) -> Decimal:
        return Decimal(self.total_amount) - Decimal(self.claimed_amount)


class VerificationCounter(models.Model):
    """How many times a receipt was verified (查验次数), on the public page or through the API."""

    receipt = models.OneToOneField(
        "issuance.Receipt",
        verbose_name="票据",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="verification_counter",
    )
    count = models.PositiveBigIntegerField("查验次数", default=0)
    last_verified_at = models.DateTimeField("最近查验时间", null=True, blank=True)

    class Meta:
        verbose_name = "查验次数"
        verbose_name_plural = "查验次数"

    def __str__(self) -> str:
        return f"{self.receipt_id}: {self.count}"
