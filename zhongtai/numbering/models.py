"""Number allocation (赋码): receipt codes, per-code sequences and number ranges (号段)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

MAX_RECEIPT_NUMBER = 9_999_999_999


class NumberSequence(models.Model):
    """The next unassigned number of one receipt code (票据代码) in one environment.

    Allocation locks this row inside the issuing transaction, so a failed
    issuance rolls the counter back with it: numbers are gapless. The sandbox
    (联调测试) has a sequence of its own for each code, so that test traffic never
    uses up, nor reveals, production numbers.
    """

    receipt_code = models.CharField("票据代码", max_length=8)
    sandbox = models.BooleanField("联调测试", default=False)
    kind = models.ForeignKey("masterdata.ReceiptKind", verbose_name="票据种类", on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField("年度")
    next_number = models.BigIntegerField("下一号码", default=1)

    class Meta:
        verbose_name = "票据号码序列"
        verbose_name_plural = "票据号码序列"
        ordering = ["receipt_code", "sandbox"]
        constraints = [
            models.UniqueConstraint(fields=["receipt_code", "sandbox"], name="sequence_code_unique_per_environment"),
            models.CheckConstraint(
                condition=Q(next_number__gte=1, next_number__lte=MAX_RECEIPT_NUMBER + 1),
                name="sequence_next_number_in_bounds",
            ),
        ]

    def __str__(self) -> str:
        suffix = "（联调测试）" if self.sandbox else ""
        return f"{self.receipt_code}{suffix} → {self.next_number:010d}"


class NumberRange(models.Model):
    """A block of numbers of one receipt code held by a region's bureau or a unit.

    The province reserves blocks from the code's sequence and hands them down the
    region tree; a unit issues from its blocks in order. ``cursor`` is the next
    number not yet handed down (region holder) or not yet issued (unit holder).

    Ranges are production numbers only: in the sandbox (联调测试) every receipt takes
    the next number of the sandbox sequence, whatever the unit's numbering mode.
    """

    receipt_code = models.CharField("票据代码", max_length=8, db_index=True)
    kind = models.ForeignKey("masterdata.ReceiptKind", verbose_name="票据种类", on_delete=models.PROTECT)
    start_number = models.BigIntegerField("起始号码")
    end_number = models.BigIntegerField("终止号码")
    cursor = models.BigIntegerField("下一可用号码")
    region = models.ForeignKey(
        "masterdata.Region",
        verbose_name="持有区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="number_ranges",
    )
    unit = models.ForeignKey(
        "masterdata.Unit",
        verbose_name="持有单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="number_ranges",
    )
    parent = models.ForeignKey(
        "self", verbose_name="来源号段", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    created_at = models.DateTimeField("分配时间", auto_now_add=True)
    created_by = models.CharField("分配人", max_length=128)

    class Meta:
        verbose_name = "号段"
        verbose_name_plural = "号段"
        ordering = ["receipt_code", "start_number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(region__isnull=False, unit__isnull=True) | Q(region__isnull=True, unit__isnull=False),
                name="range_one_holder",
            ),
            models.CheckConstraint(
                condition=Q(start_number__gte=1, end_number__gte=F("start_number"), end_number__lte=MAX_RECEIPT_NUMBER),
                name="range_bounds",
            ),
            models.CheckConstraint(
                condition=Q(cursor__gte=F("start_number"), cursor__lte=F("end_number") + 1),
                name="range_cursor_in_bounds",
            ),
            models.UniqueConstraint(fields=["receipt_code", "start_number", "unit"], name="range_unit_start_unique"),
        ]
        indexes = [models.Index(fields=["unit", "receipt_code", "start_number"])]

    def __str__(self) -> str:
        return f"{self.receipt_code} {self.start_number:010d}-{self.end_number:010d}"

    @property
    def remaining(self) -> int:
        return self.end_number - self.cursor + 1

    @property
    def holder_label(self) -> str:
        return str(self.unit or self.region)
