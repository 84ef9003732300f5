"""factory_boy factories for master data and receipts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from zhongtai.masterdata.models import (
    FeeItem,
    FeeStandard,
    FinanceBureau,
    IssuingPoint,
    ReceiptKind,
    Region,
    Unit,
)
from zhongtai.masterdata.validators import credit_code_check_char


def make_credit_code(serial: int, region: str = "430100") -> str:
    first17 = f"12{region}{serial:08d}0"[:17]
    return first17 + credit_code_check_char(first17)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "430000"
    name = "湖南省"
    level = Region.Level.PROVINCE
    parent = None


class FinanceBureauFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FinanceBureau
        django_get_or_create = ("region",)

    region = factory.SubFactory(RegionFactory)
    name = factory.LazyAttribute(lambda o: f"{o.region.name}财政局")


class ReceiptKindFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReceiptKind
        django_get_or_create = ("category_code", "kind_code")

    name = "非税收入统一票据"
    category_code = "01"
    kind_code = "01"
    specimen_code = "FS0101"
    retention_years = 30
    required_fields = factory.LazyFunction(list)


class FeeItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeeItem
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"F{n:05d}")
    name = factory.Sequence(lambda n: f"收费项目{n}")
    unit_of_measure = "次"
    income_class = "行政事业性收费"
    fund_nature = "一般公共预算"
    budget_subject = "1030102"
    valid_from = datetime.date(2020, 1, 1)


class FeeStandardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeeStandard

    fee_item = factory.SubFactory(FeeItemFactory)
    mode = FeeStandard.Mode.FIXED
    amount = Decimal("10.00")
    valid_from = datetime.date(2020, 1, 1)


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"430100{n:03d}")
    name = factory.Sequence(lambda n: f"测试单位{n}")
    credit_code = factory.Sequence(lambda n: make_credit_code(n + 1))
    unit_type = Unit.UnitType.AGENCY
    connection_mode = Unit.ConnectionMode.INTERFACE
    region = factory.SubFactory(RegionFactory)
    valid_from = datetime.date(2020, 1, 1)
    payee_name = factory.LazyAttribute(lambda o: o.name)
    payee_account = "430101000012345678"
    payee_bank = "中国工商银行长沙分行"


class IssuingPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IssuingPoint

    unit = factory.SubFactory(UnitFactory)
    code = factory.Sequence(lambda n: f"P{n:03d}")
    name = "一号窗口"
