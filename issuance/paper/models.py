"""Paper stock (纸质票据库存) and the use of each paper number (纸质票据使用记录).

Every paper number a unit received is accounted for by the rows here: a number with
no ``PaperUse`` row is on hand; a row is either a live printed copy of one
e-receipt or a voided number (misprint, recovered copy, damaged blank, retired
when the unit stops using paper receipts).
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q

from zhongtai.numbering.models import MAX_RECEIPT_NUMBER

PAPER_CODE_REGEX = r"^[0-9]{8}$"
validate_paper_code = RegexValidator(PAPER_CODE_REGEX, "纸质票据代码应为 8 位数字。")


class PaperStock(models.Model):
    """One range of paper receipt forms a unit received from its bureau (纸质票据库存).

    Ranges of one paper code never overlap, whichever units hold them: on PostgreSQL an
    exclusion constraint (migration 0002) enforces it, and the receiving service checks it
    under a per-code lock on every database.
    """

    unit = models.ForeignKey(
        "masterdata.Unit", verbose_name="用票单位", on_delete=models.PROTECT, related_name="paper_stocks"
    )
    paper_code = models.CharField("纸质票据代码", max_length=8, validators=[validate_paper_code])
    start_number = models.BigIntegerField("起始号码")
    end_number = models.BigIntegerField("终止号码")
    received_at = models.DateTimeField("登记时间")
    recorded_by = models.CharField("登记人", max_length=128)
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        verbose_name = "纸质票据库存"
        verbose_name_plural = "纸质票据库存"
        ordering = ["unit_id", "paper_code", "start_number"]
        constraints = [
            models.CheckConstraint(condition=Q(paper_code__regex=PAPER_CODE_REGEX), name="paper_stock_code_digits"),
            models.CheckConstraint(
                condition=Q(start_number__gte=1, end_number__gte=F("start_number"), end_number__lte=MAX_RECEIPT_NUMBER),
                name="paper_stock_bounds",
            ),
            # Two ranges starting at the same number overlap; the full overlap rule is the
            # PostgreSQL exclusion constraint plus the locked check in the service.
            models.UniqueConstraint(fields=["paper_code", "start_number"], name="paper_stock_start_unique"),
        ]
        indexes = [models.Index(fields=["unit", "paper_code", "start_number"])]

    def __str__(self) -> str:
        return f"{self.paper_code} {self.start_text}-{self.end_text}"

    @property
    def start_text(self) -> str:
        return f"{self.start_number:010d}"

    @property
    def end_text(self) -> str:
        return f"{self.end_number:010d}"

    @property
    def size(self) -> int:
        return self.end_number - self.start_number + 1

    def holds(self, paper_code: str, paper_number: int) -> bool:
        return self.paper_code == paper_code and self.start_number <= paper_number <= self.end_number


class PaperUse(models.Model):
    """What happened to one paper number (纸质票据使用记录); at most one row per number.

    ``printed``: the live paper copy of ``receipt`` (at most one per receipt).
    ``voided``: a printed copy voided because of a misprint (打印错误) or because it was
    recovered from the payer (收回作废), or a number voided without ever being printed:
    a damaged blank (空白票损毁) or an unused number retired when the unit stopped
    using paper receipts (停用核销).
    """

    class State(models.TextChoices):
        PRINTED = "printed", "已打印"
        VOIDED = "voided", "已作废"

    class VoidReason(models.TextChoices):
        MISPRINT = "misprint", "打印错误"
        RECOVERED = "recovered", "收回作废"
        DAMAGED = "damaged", "空白票损毁"
        RETIRED = "retired", "停用核销"

    # Reasons for voiding a printed copy, and for voiding a number never printed.
    PRINTED_REASONS = (VoidReason.MISPRINT, VoidReason.RECOVERED)
    BLANK_REASONS = (VoidReason.DAMAGED, VoidReason.RETIRED)

    stock = models.ForeignKey(PaperStock, verbose_name="库存号段", on_delete=models.PROTECT, related_name="uses")
    paper_code = models.CharField("纸质票据代码", max_length=8)
    paper_number = models.BigIntegerField("纸质票据号码")
    receipt = models.ForeignKey(
        "issuance.Receipt",
        verbose_name="电子票据",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="paper_uses",
    )
    replaces = models.OneToOneField(
        "self",
        verbose_name="重新打印自",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
        help_text="打印错误后重新打印时，原作废的纸质票据。",
    )
    state = models.CharField("状态", max_length=16, choices=State.choices)
    void_reason = models.CharField("作废原因", max_length=16, choices=VoidReason.choices, blank=True)
    void_note = models.CharField("作废说明", max_length=200, blank=True)
    printed_at = models.DateTimeField("打印时间", null=True, blank=True)
    printed_by = models.CharField("打印人", max_length=128, blank=True)
    voided_at = models.DateTimeField("作废时间", null=True, blank=True)
    voided_by = models.CharField("作废人", max_length=128, blank=True)

    class Meta:
        verbose_name = "纸质票据使用记录"
        verbose_name_plural = "纸质票据使用记录"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["paper_code", "paper_number"], name="paper_use_number_unique"),
            # A receipt is never converted twice: at most one live paper copy.
            models.UniqueConstraint(
                fields=["receipt"], condition=Q(state="printed"), name="paper_use_one_live_copy_per_receipt"
            ),
            models.CheckConstraint(
                condition=Q(paper_number__gte=1, paper_number__lte=MAX_RECEIPT_NUMBER),
                name="paper_use_number_in_bounds",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        state="printed",
                        receipt__isnull=False,
                        printed_at__isnull=False,
                        void_reason="",
                        voided_at__isnull=True,
                    )
                    | Q(
                        state="voided",
                        void_reason__in=["misprint", "recovered"],
                        receipt__isnull=False,
                        printed_at__isnull=False,
                        voided_at__isnull=False,
                    )
                    | Q(
                        state="voided",
                        void_reason__in=["damaged", "retired"],
                        receipt__isnull=True,
                        replaces__isnull=True,
                        printed_at__isnull=True,
                        voided_at__isnull=False,
                    )
                ),
                name="paper_use_shape",
            ),
        ]
        indexes = [models.Index(fields=["stock", "state"])]

    def __str__(self) -> str:
        return f"{self.paper_code}-{self.number_text}（{self.get_state_display()}）"

    @property
    def number_text(self) -> str:
        return f"{self.paper_number:010d}"

    @property
    def is_live(self) -> bool:
        return self.state == self.State.PRINTED
