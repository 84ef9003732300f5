"""Receipts (票据) and their items."""

from __future__ import annotations

from typing import Protocol

from django.db import models
from django.db.models import Q

from issuance.states import ReceiptStatus
from zhongtai.numbering.models import MAX_RECEIPT_NUMBER

# Receipts whose files share one directory: numbers n // 10,000 of one code (two files each).
RECEIPTS_PER_DIRECTORY = 10_000


class _FileOwner(Protocol):
    """What a receipt's file name is made of (a Receipt, or the pipeline's row of one)."""

    @property
    def sandbox(self) -> bool: ...
    @property
    def receipt_code(self) -> str: ...
    @property
    def number(self) -> int: ...


def _receipt_file_path(receipt: _FileOwner, filename: str) -> str:
    """``receipts/<code>/<number // 10,000, 6 digits>/<10-digit number>-<filename>`` (sandbox: ``receipts/sandbox/…``).

    Grouped by code and by ten thousand numbers, so that a directory (or object-store prefix)
    never grows unbounded, and so that storing a file does not create a directory of its own:
    a directory per receipt (the layout before, ``receipts/<code>/<number>/<filename>``) cost a
    ``mkdir`` per file, the largest part of storing it. Files already stored keep their names
    (each receipt's FileFields hold them). The sandbox numbers apart, so its (code, number)
    pairs repeat production's: its files live apart. A name is unique per receipt and file;
    when two workers race on one receipt, the storage gives the second a name of its own.
    """
    environment = "receipts/sandbox" if receipt.sandbox else "receipts"
    number = receipt.number
    return f"{environment}/{receipt.receipt_code}/{number // RECEIPTS_PER_DIRECTORY:06d}/{number:010d}-{filename}"


class SignStatus(models.TextChoices):
    """Where a receipt is in the signing pipeline (签章状态)."""

    PENDING = "pending", "待签章"
    AWAITING_UNIT = "awaiting_unit", "待单位签名"
    SIGNED = "signed", "已签章"
    FAILED = "failed", "签章失败"


class Receipt(models.Model):
    """One fiscal e-receipt. The pair (receipt_code, number) is unique for ever in its environment.

    Sandbox receipts (联调测试票据, ``sandbox``) are issued by interface units testing
    against the platform before go-live: numbered from sequences of their own, marked
    in the data file and the layout file, and never valid.
    """

    class PayerType(models.IntegerChoices):
        PERSON = 1, "个人"
        ORGANISATION = 2, "单位"

    class Source(models.TextChoices):
        API = "api", "接口开具"
        PORTAL = "portal", "网页开具"
        DEMO = "demo", "演示数据"

    receipt_code = models.CharField("票据代码", max_length=8)
    number = models.BigIntegerField("票据号码")
    check_code = models.CharField("校验码", max_length=6)
    kind = models.ForeignKey("masterdata.ReceiptKind", verbose_name="票据种类", on_delete=models.PROTECT)
    unit = models.ForeignKey(
        "masterdata.Unit", verbose_name="开票单位", on_delete=models.PROTECT, related_name="receipts"
    )
    issuing_point = models.ForeignKey(
        "masterdata.IssuingPoint", verbose_name="开票点", null=True, blank=True, on_delete=models.PROTECT
    )
    region_code = models.CharField("监管区划", max_length=6)
    status = models.CharField("状态", max_length=20, choices=ReceiptStatus.choices, default=ReceiptStatus.ISSUED)
    is_red = models.BooleanField("红票", default=False)
    sandbox = models.BooleanField("联调测试票据", default=False, db_index=True)
    related_receipt = models.ForeignKey(
        "self", verbose_name="原票据", null=True, blank=True, on_delete=models.PROTECT, related_name="red_receipts"
    )

    bus_no = models.CharField("业务流水号", max_length=64, null=True, blank=True)
    bus_date = models.DateField("业务日期")
    request_digest = models.CharField("请求摘要", max_length=64, blank=True)
    source = models.CharField("来源", max_length=8, choices=Source.choices)
    issued_by = models.CharField("开票人/应用", max_length=128)
    issued_at = models.DateTimeField("开票时间", db_index=True)
    issue_date = models.DateField("开票日期")

    payer_type = models.PositiveSmallIntegerField("交款人类型", choices=PayerType.choices)
    payer_name = models.CharField("交款人", max_length=100)
    payer_code = models.CharField("交款人证件号码", max_length=40, blank=True)
    payer_phone = models.CharField("交款人手机", max_length=20, blank=True)
    payer_email = models.CharField("交款人邮箱", max_length=100, blank=True)
    payer_account = models.CharField("交款人账号", max_length=40, blank=True)
    payer_bank = models.CharField("交款人开户行", max_length=100, blank=True)

    payee_name = models.CharField("收款人全称", max_length=100, blank=True)
    payee_account = models.CharField("收款账号", max_length=40, blank=True)
    payee_bank = models.CharField("收款开户行", max_length=100, blank=True)

    total_amount = models.DecimalField("合计金额", max_digits=14, decimal_places=2)
    total_amount_upper = models.CharField("合计金额（大写）", max_length=80)
    currency = models.CharField("币种", max_length=3, default="CNY")
    pay_mode = models.CharField("缴款方式", max_length=20, blank=True)
    handling_person = models.CharField("收款人", max_length=40, blank=True)
    checker = models.CharField("复核人", max_length=40, blank=True)
    remark = models.CharField("备注", max_length=500, blank=True)
    ext = models.JSONField("专属字段", default=dict, blank=True)

    # Indexed only while unfinished (Meta.indexes): see receipt_sign_unfinished.
    sign_status = models.CharField("签章状态", max_length=16, choices=SignStatus.choices, default=SignStatus.PENDING)
    signed_at = models.DateTimeField("签章完成时间", null=True, blank=True)
    unit_cert_serial = models.CharField("单位签名证书序列号", max_length=64, blank=True)
    supervisor_cert_serial = models.CharField("财政监制证书序列号", max_length=64, blank=True)
    datafile = models.FileField("数据文件（XML）", upload_to=_receipt_file_path, max_length=200, blank=True)
    layout_file = models.FileField("版式文件（PDF）", upload_to=_receipt_file_path, max_length=200, blank=True)

    class Meta:
        verbose_name = "电子票据"
        verbose_name_plural = "电子票据"
        ordering = ["-issued_at", "-id"]
        constraints = [
            # Production and the sandbox number apart: a pair is unique within its environment.
            models.UniqueConstraint(
                fields=["receipt_code", "number", "sandbox"], name="receipt_code_number_unique_per_environment"
            ),
            models.UniqueConstraint(
                fields=["unit", "bus_no", "sandbox"],
                condition=Q(bus_no__isnull=False),
                name="receipt_bus_no_unique_per_unit_environment",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=MAX_RECEIPT_NUMBER), name="receipt_number_in_bounds"
            ),
            models.CheckConstraint(condition=Q(status__in=ReceiptStatus.values), name="receipt_status_known"),
            # Blue receipts carry a positive total; red ones a negative total and the original.
            models.CheckConstraint(
                condition=Q(is_red=False, total_amount__gt=0, related_receipt__isnull=True)
                | Q(is_red=True, total_amount__lt=0, related_receipt__isnull=False),
                name="receipt_sign_matches_colour",
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "bus_date"]),
            models.Index(fields=["unit", "issue_date"]),
            models.Index(fields=["region_code", "issue_date"]),
            # The receipts not (yet) signed, which lists and the dashboard look for: a few among
            # millions. Signed receipts are found by their own keys (code and number, unit and
            # date), so they need no entry, and signing a receipt adds none: a full index on
            # the status (and its pattern-ops twin) made the signing UPDATE a third slower
            # (bench/README.md).
            models.Index(
                fields=["sign_status"],
                condition=models.Q(sign_status__in=[SignStatus.PENDING, SignStatus.AWAITING_UNIT, SignStatus.FAILED]),
                name="receipt_sign_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_code}-{self.number_text}"

    @property
    def number_text(self) -> str:
        return f"{self.number:010d}"


class ReceiptItem(models.Model):
    """One line of a receipt (项目明细)."""

    # No index of its own: the unique (receipt, line_no) index serves lookups by receipt.
    receipt = models.ForeignKey(
        Receipt, verbose_name="票据", on_delete=models.CASCADE, related_name="items", db_index=False
    )
    line_no = models.PositiveSmallIntegerField("行号")
    fee_item = models.ForeignKey("masterdata.FeeItem", verbose_name="收费项目", on_delete=models.PROTECT)
    item_code = models.CharField("项目编码", max_length=32)
    item_name = models.CharField("项目名称", max_length=100)
    unit_of_measure = models.CharField("计量单位", max_length=20, blank=True)
    quantity = models.DecimalField("数量", max_digits=14, decimal_places=4)
    standard = models.DecimalField("标准", max_digits=16, decimal_places=4)
    amount = models.DecimalField("金额", max_digits=14, decimal_places=2)
    remark = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        verbose_name = "票据明细"
        verbose_name_plural = "票据明细"
        ordering = ["receipt_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["receipt", "line_no"], name="receipt_item_line_unique"),
            models.CheckConstraint(condition=~Q(quantity=0), name="receipt_item_quantity_nonzero"),
            models.CheckConstraint(condition=Q(standard__gte=0), name="receipt_item_standard_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.item_code} {self.item_name} {self.amount}"


class ReceiptJob(models.Model):
    """Outbox row (待办任务) for one pipeline step of one receipt.

    Written in the same transaction as the receipt, drained by Celery workers. A
    worker claims a row with a conditional update and a lease; a row whose lease ran
    out (the worker died) is claimed again by the sweeper. Steps are idempotent.
    """

    class Step(models.TextChoices):
        SIGN = "sign", "签章"
        RENDER = "render", "生成版式文件"

    class State(models.TextChoices):
        PENDING = "pending", "待处理"
        RUNNING = "running", "处理中"
        DONE = "done", "已完成"
        DEAD = "dead", "失败待人工处理"

    # No index of its own: the unique (receipt, step) index serves lookups by receipt.
    receipt = models.ForeignKey(
        Receipt, verbose_name="票据", on_delete=models.CASCADE, related_name="jobs", db_index=False
    )
    step = models.CharField("步骤", max_length=16, choices=Step.choices)
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    available_at = models.DateTimeField("可执行时间")
    lease_until = models.DateTimeField("租约到期", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "票据处理任务"
        verbose_name_plural = "票据处理任务"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["receipt", "step"], name="receipt_job_one_per_step"),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "running", "done", "dead"]), name="job_state_known"
            ),
        ]
        indexes = [models.Index(fields=["state", "available_at"])]

    def __str__(self) -> str:
        return f"{self.receipt_id}:{self.step}:{self.state}"
