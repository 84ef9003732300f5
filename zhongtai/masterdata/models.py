"""Master data of the province (基础数据): regions, bureaus, units, kinds, fee items."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from zhongtai.masterdata.kind_fields import requirable_field_names
from zhongtai.masterdata.validators import (
    validate_credit_code,
    validate_region_code,
    validate_unit_code,
)


class Region(models.Model):
    """A fiscal region (财政区划): province, city (地市) or county (区县)."""

    class Level(models.IntegerChoices):
        PROVINCE = 1, "省级"
        CITY = 2, "市级"
        COUNTY = 3, "县级"

    code = models.CharField("行政区划代码", max_length=6, unique=True, validators=[validate_region_code])
    name = models.CharField("名称", max_length=60)
    level = models.PositiveSmallIntegerField("级次", choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = "财政区划"
        verbose_name_plural = "财政区划"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True) | Q(level__in=[2, 3], parent__isnull=False),
                name="region_parent_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def code_prefix(self) -> str:
        """Codes of this region and every region below it start with this prefix."""
        return self.code[: {1: 2, 2: 4, 3: 6}[self.level]]

    def contains(self, other: Region) -> bool:
        return other.code.startswith(self.code_prefix)

    def clean(self) -> None:
        code = self.code or ""
        if self.level == self.Level.PROVINCE:
            if self.parent_id is not None:
                raise ValidationError({"parent": "省级区划没有上级区划。"})
            if not code.endswith("0000"):
                raise ValidationError({"code": "省级区划代码应以 0000 结尾。"})
            return
        if self.parent is None:
            raise ValidationError({"parent": "市级、县级区划必须指定上级区划。"})
        if self.parent.level != self.level - 1 and not (
            self.level == self.Level.COUNTY and self.parent.level == self.Level.PROVINCE
        ):
            raise ValidationError({"parent": "上级区划的级次不正确。"})
        if not self.parent.contains(self) or code == self.parent.code:
            raise ValidationError({"code": "区划代码与上级区划代码不一致。"})
        if self.level == self.Level.CITY and (not code.endswith("00") or code.endswith("0000")):
            raise ValidationError({"code": "市级区划代码应以 00 结尾（且不以 0000 结尾）。"})
        if self.level == self.Level.COUNTY and code.endswith("00"):
            raise ValidationError({"code": "县级区划代码不应以 00 结尾。"})


class FinanceBureau(models.Model):
    """A finance bureau (财政部门) supervising one region and the regions below it."""

    region = models.OneToOneField(Region, verbose_name="财政区划", on_delete=models.PROTECT, related_name="bureau")
    name = models.CharField("名称", max_length=100)
    contact_person = models.CharField("联系人", max_length=40, blank=True)
    contact_phone = models.CharField("联系电话", max_length=30, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)

    class Meta:
        verbose_name = "财政部门"
        verbose_name_plural = "财政部门"
        ordering = ["region__code"]

    def __str__(self) -> str:
        return self.name


class ReceiptKind(models.Model):
    """A receipt kind (票据种类) with its code segments, template and rules."""

    code = models.CharField("种类编码", max_length=4, unique=True, editable=False)
    name = models.CharField("名称", max_length=60, unique=True)
    category_code = models.CharField("分类码", max_length=2, help_text="票据代码第 3-4 位")
    kind_code = models.CharField("种类码", max_length=2, help_text="票据代码第 5-6 位")
    specimen_code = models.CharField("票据样式（制样）编码", max_length=20)
    retention_years = models.PositiveSmallIntegerField("保管期限（年）", default=30)
    required_fields = models.JSONField("必填专属字段", default=list, blank=True)
    is_medical = models.BooleanField("医疗类票据", default=False)
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "票据种类"
        verbose_name_plural = "票据种类"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["category_code", "kind_code"], name="kind_segments_unique"),
            models.CheckConstraint(condition=Q(retention_years__gte=1), name="kind_retention_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def save(self, *args: object, **kwargs: object) -> None:
        # The kind code is derived, never typed: it is the two code segments.
        self.code = f"{self.category_code}{self.kind_code}"
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not (len(self.category_code or "") == 2 and self.category_code.isdigit()):
            errors["category_code"] = "分类码应为 2 位数字。"
        if not (len(self.kind_code or "") == 2 and self.kind_code.isdigit()):
            errors["kind_code"] = "种类码应为 2 位数字。"
        if not isinstance(self.required_fields, list) or not all(
            isinstance(name, str) for name in self.required_fields
        ):
            errors["required_fields"] = "必填专属字段应为字段名列表。"
        else:
            unknown = sorted(set(self.required_fields) - requirable_field_names())
            if unknown:
                errors["required_fields"] = f"未知的专属字段：{'、'.join(unknown)}。"
        if errors:
            raise ValidationError(errors)


class FeeItem(models.Model):
    """A fee item (收费项目) as approved by the price and finance authorities."""

    code = models.CharField("项目编码", max_length=32, unique=True)
    name = models.CharField("项目名称", max_length=100)
    unit_of_measure = models.CharField("计量单位", max_length=20, blank=True)
    income_class = models.CharField("收入类别", max_length=40)
    fund_nature = models.CharField("资金性质", max_length=40)
    budget_subject = models.CharField("预算科目", max_length=20, blank=True)
    valid_from = models.DateField("有效期起")
    valid_to = models.DateField("有效期止", null=True, blank=True)
    kinds = models.ManyToManyField(
        ReceiptKind,
        verbose_name="适用票据种类",
        blank=True,
        related_name="fee_items",
        help_text="为空表示适用于所有票据种类。",
    )

    class Meta:
        verbose_name = "收费项目"
        verbose_name_plural = "收费项目"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="fee_item_validity_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def is_valid_on(self, day: datetime.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class FeeStandard(models.Model):
    """An approved charging standard (收费标准) of a fee item: fixed, or a range."""

    class Mode(models.TextChoices):
        FIXED = "fixed", "固定标准"
        RANGE = "range", "区间标准"

    fee_item = models.ForeignKey(FeeItem, verbose_name="收费项目", on_delete=models.CASCADE, related_name="standards")
    region = models.ForeignKey(
        Region,
        verbose_name="适用区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="为空表示全省适用；指定区划时适用于该区划及其下级，且优先于上级标准。",
    )
    mode = models.CharField("标准类型", max_length=8, choices=Mode.choices)
    amount = models.DecimalField("固定标准（元）", max_digits=16, decimal_places=4, null=True, blank=True)
    min_amount = models.DecimalField("标准下限（元）", max_digits=16, decimal_places=4, null=True, blank=True)
    max_amount = models.DecimalField("标准上限（元）", max_digits=16, decimal_places=4, null=True, blank=True)
    valid_from = models.DateField("有效期起")
    valid_to = models.DateField("有效期止", null=True, blank=True)
    approval_document = models.CharField("批准文号", max_length=100, blank=True)

    class Meta:
        verbose_name = "收费标准"
        verbose_name_plural = "收费标准"
        ordering = ["fee_item__code", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        mode="fixed",
                        amount__isnull=False,
                        amount__gte=0,
                        min_amount__isnull=True,
                        max_amount__isnull=True,
                    )
                    | Q(
                        mode="range",
                        amount__isnull=True,
                        min_amount__isnull=False,
                        max_amount__isnull=False,
                        min_amount__gte=0,
                        max_amount__gte=F("min_amount"),
                    )
                ),
                name="fee_standard_shape",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="fee_standard_validity_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fee_item.code} {self.describe()}"

    def describe(self) -> str:
        if self.mode == self.Mode.FIXED:
            return f"{self.amount} 元"
        return f"{self.min_amount}–{self.max_amount} 元"

    def clean(self) -> None:
        if self.mode == self.Mode.FIXED:
            if self.amount is None or self.min_amount is not None or self.max_amount is not None:
                raise ValidationError("固定标准只填写固定金额，不填写上下限。")
            if self.amount < 0:
                raise ValidationError({"amount": "标准金额不能为负数。"})
        elif self.mode == self.Mode.RANGE:
            if self.amount is not None or self.min_amount is None or self.max_amount is None:
                raise ValidationError("区间标准填写上下限，不填写固定金额。")
            if self.min_amount < 0 or self.max_amount < self.min_amount:
                raise ValidationError("标准下限不能为负数，且不能大于上限。")
        if self.valid_to is not None and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": "有效期止不能早于有效期起。"})


class Unit(models.Model):
    """A receipt-issuing unit (用票单位)."""

    class UnitType(models.TextChoices):
        AGENCY = "agency", "行政机关"
        HOSPITAL = "hospital", "医疗机构"
        SCHOOL = "school", "学校"
        CHARITY = "charity", "公益组织"
        OTHER = "other", "其他事业单位"

    class ConnectionMode(models.TextChoices):
        NETWORKED = "networked", "联网单位"
        INTERFACE = "interface", "接口单位"

    class Status(models.TextChoices):
        ACTIVE = "active", "正常"
        SUSPENDED = "suspended", "暂停"
        CANCELLED = "cancelled", "注销"

    class NumberingMode(models.TextChoices):
        AUTO = "auto", "自动赋码"
        RANGE = "range", "号段赋码"

    code = models.CharField("单位编码", max_length=32, unique=True, validators=[validate_unit_code])
    name = models.CharField("单位名称", max_length=100)
    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True, validators=[validate_credit_code])
    unit_type = models.CharField("单位类型", max_length=16, choices=UnitType.choices)
    connection_mode = models.CharField("接入方式", max_length=16, choices=ConnectionMode.choices)
    region = models.ForeignKey(Region, verbose_name="所属区划", on_delete=models.PROTECT, related_name="units")
    valid_from = models.DateField("有效期起")
    valid_to = models.DateField("有效期止", null=True, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.ACTIVE)
    numbering_mode = models.CharField(
        "赋码方式", max_length=8, choices=NumberingMode.choices, default=NumberingMode.AUTO
    )
    payee_name = models.CharField("收款人全称", max_length=100, blank=True)
    payee_account = models.CharField("收款账号", max_length=40, blank=True)
    payee_bank = models.CharField("开户银行", max_length=100, blank=True)
    contact_person = models.CharField("联系人", max_length=40, blank=True)
    contact_phone = models.CharField("联系电话", max_length=30, blank=True)
    allowed_kinds = models.ManyToManyField(ReceiptKind, verbose_name="可用票据种类", blank=True, related_name="units")
    allowed_fee_items = models.ManyToManyField(FeeItem, verbose_name="可用收费项目", blank=True, related_name="units")

    class Meta:
        verbose_name = "用票单位"
        verbose_name_plural = "用票单位"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="unit_validity_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def is_valid_on(self, day: datetime.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def clean_fields(self, exclude: object = None) -> None:
        # Normalise before the field validators run, so that a lower-case code is accepted.
        if self.credit_code:
            self.credit_code = self.credit_code.strip().upper()
        super().clean_fields(exclude=exclude)  # type: ignore[arg-type]

    def clean(self) -> None:
        if self.credit_code:
            self.credit_code = self.credit_code.strip().upper()
        if self.valid_to is not None and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": "有效期止不能早于有效期起。"})


class IssuingPoint(models.Model):
    """An issuing point (开票点) of a unit: a cashier window, a ward."""

    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.CASCADE, related_name="issuing_points")
    code = models.CharField("开票点编码", max_length=20)
    name = models.CharField("开票点名称", max_length=60)
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "开票点"
        verbose_name_plural = "开票点"
        ordering = ["unit__code", "code"]
        constraints = [models.UniqueConstraint(fields=["unit", "code"], name="issuing_point_code_unique")]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"
