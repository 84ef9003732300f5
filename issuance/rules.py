"""Business rules of issuance, checked against master data (开票校验).

Each rule has its own error code (``IssuanceError``). All violations of one request
are collected; the first one gives the response code, all are listed in ``extra``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from issuance.errors import IssuanceError
from issuance.payload import IssueInput
from zhongtai.core.errors import ApplicationError
from zhongtai.core.money import MAX_AMOUNT, parse_decimal, round_to_fen
from zhongtai.masterdata.kind_fields import KIND_FIELDS, MEDICAL_SPLIT_FIELDS, PAYER_FIELDS
from zhongtai.masterdata.models import FeeItem, FeeStandard, IssuingPoint, ReceiptKind, Unit
from zhongtai.masterdata.selectors import fee_standards_for
from zhongtai.masterdata.validators import credit_code_problem

ID_CARD_RE = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_valid(code: str) -> bool:
    """Resident ID number (GB 11643) check digit, ISO 7064 MOD 11-2."""
    if not ID_CARD_RE.match(code):
        return False
    total = sum(int(ch) * w for ch, w in zip(code[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == code[17]


@dataclass(frozen=True)
class Violation:
    code: IssuanceError
    message: str
    path: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": str(self.code), "message": self.message, "path": self.path}


@dataclass
class IssuanceContext:
    """Master data needed to check a batch for one unit, loaded once per batch."""

    unit: Unit
    now: datetime.datetime
    today: datetime.date
    kinds_by_code: dict[str, ReceiptKind]
    allowed_kind_ids: set[int]
    points_by_code: dict[str, IssuingPoint]
    items_by_code: dict[str, FeeItem]
    item_kind_ids: dict[int, set[int]]
    allowed_item_ids: set[int]
    standards: dict[int, FeeStandard]


@dataclass
class CheckedItem:
    fee_item: FeeItem
    quantity: Decimal
    standard: Decimal
    amount: Decimal
    remark: str


@dataclass
class CheckedReceipt:
    """A request that passed every rule, with the master data it refers to."""

    data: IssueInput
    digest: str
    kind: ReceiptKind
    issuing_point: IssuingPoint | None
    items: list[CheckedItem]
    ext: dict[str, Any] = field(default_factory=dict)


def unit_check_can_issue(unit: Unit, today: datetime.date) -> None:
    if unit.status != Unit.Status.ACTIVE:
        raise ApplicationError(IssuanceError.UNIT_INACTIVE, "单位已暂停或注销，不能开具票据。", status=403)
    if not unit.is_valid_on(today):
        raise ApplicationError(IssuanceError.UNIT_EXPIRED, "单位不在有效期内，不能开具票据。", status=403)


def context_load(*, unit: Unit, item_codes: set[str]) -> IssuanceContext:
    now = timezone.now()
    today = timezone.localdate(now)
    items = {item.code: item for item in FeeItem.objects.filter(code__in=item_codes)}
    item_kind_ids: dict[int, set[int]] = {item.pk: set() for item in items.values()}
    for item_id, kind_id in FeeItem.kinds.through.objects.filter(feeitem_id__in=item_kind_ids).values_list(
        "feeitem_id", "receiptkind_id"
    ):
        item_kind_ids[item_id].add(kind_id)
    return IssuanceContext(
        unit=unit,
        now=now,
        today=today,
        kinds_by_code={kind.code: kind for kind in ReceiptKind.objects.all()},
        allowed_kind_ids=set(unit.allowed_kinds.values_list("id", flat=True)),
        points_by_code={p.code: p for p in IssuingPoint.objects.filter(unit=unit, active=True)},
        items_by_code=items,
        item_kind_ids=item_kind_ids,
        allowed_item_ids=set(unit.allowed_fee_items.filter(id__in=item_kind_ids).values_list("id", flat=True)),
        standards=fee_standards_for(fee_item_ids=list(item_kind_ids), region_code=unit.region.code, day=today),
    )


def receipt_check(
    ctx: IssuanceContext, data: IssueInput, digest: str | None = None
) -> CheckedReceipt | list[Violation]:
    violations: list[Violation] = []
    kind = ctx.kinds_by_code.get(data.kind_code)
    if kind is None:
        return [Violation(IssuanceError.KIND_UNKNOWN, f"票据种类 {data.kind_code} 不存在。", "kindCode")]
    if not kind.active:
        violations.append(Violation(IssuanceError.KIND_INACTIVE, f"票据种类“{kind.name}”已停用。", "kindCode"))
    if kind.pk not in ctx.allowed_kind_ids:
        violations.append(
            Violation(IssuanceError.KIND_NOT_ALLOWED, f"本单位未获准使用票据种类“{kind.name}”。", "kindCode")
        )
    point = None
    if data.issuing_point_code:
        point = ctx.points_by_code.get(data.issuing_point_code)
        if point is None:
            violations.append(
                Violation(
                    IssuanceError.ISSUING_POINT_UNKNOWN,
                    f"开票点 {data.issuing_point_code} 不存在或已停用。",
                    "issuingPointCode",
                )
            )
    if data.bus_date and data.bus_date > ctx.today:
        violations.append(Violation(IssuanceError.BUS_DATE_IN_FUTURE, "业务日期不能晚于开票日期。", "busDate"))
    items = _check_items(ctx, kind, data, violations)
    _check_payer(kind, data, violations)
    ext = _check_ext(kind, data, violations)
    if violations:
        return violations
    return CheckedReceipt(
        data=data, digest=digest or data.digest(), kind=kind, issuing_point=point, items=items, ext=ext
    )


def _check_items(
    ctx: IssuanceContext, kind: ReceiptKind, data: IssueInput, violations: list[Violation]
) -> list[CheckedItem]:
    checked = []
    total = Decimal("0.00")
    for index, item in enumerate(data.items):
        path = f"items[{index}]"
        fee_item = ctx.items_by_code.get(item.item_code)
        total += item.amount
        if fee_item is None:
            violations.append(Violation(IssuanceError.ITEM_UNKNOWN, f"收费项目 {item.item_code} 不存在。", path))
            continue
        label = f"收费项目“{fee_item.name}”（{fee_item.code}）"
        if fee_item.pk not in ctx.allowed_item_ids:
            violations.append(Violation(IssuanceError.ITEM_NOT_ALLOWED, f"本单位未获准收取{label}。", path))
        kinds = ctx.item_kind_ids.get(fee_item.pk) or set()
        if kinds and kind.pk not in kinds:
            violations.append(Violation(IssuanceError.ITEM_KIND_MISMATCH, f"{label}不能在“{kind.name}”上开具。", path))
        if not fee_item.is_valid_on(ctx.today):
            violations.append(Violation(IssuanceError.ITEM_EXPIRED, f"{label}不在有效期内。", path))
        if item.item_name and item.item_name != fee_item.name:
            violations.append(
                Violation(
                    IssuanceError.ITEM_NAME_MISMATCH,
                    f"项目名称“{item.item_name}”与收费项目库中的名称“{fee_item.name}”不一致。",
                    path,
                )
            )
        standard = ctx.standards.get(fee_item.pk)
        if standard is None:
            violations.append(Violation(IssuanceError.ITEM_NO_STANDARD, f"{label}没有有效的收费标准。", path))
        elif standard.mode == FeeStandard.Mode.FIXED and item.standard != standard.amount:
            violations.append(
                Violation(
                    IssuanceError.ITEM_STANDARD_MISMATCH,
                    f"{label}的收费标准为 {_yuan(standard.amount)} 元，请求为 {_yuan(item.standard)} 元。",
                    path,
                )
            )
        elif standard.mode == FeeStandard.Mode.RANGE and not (
            standard.min_amount <= item.standard <= standard.max_amount  # type: ignore[operator]
        ):
            violations.append(
                Violation(
                    IssuanceError.ITEM_OUTSIDE_STANDARD,
                    f"{label}的单价 {_yuan(item.standard)} 元超出收费标准 {_yuan(standard.min_amount)}"
                    f"–{_yuan(standard.max_amount)} 元。",
                    path,
                )
            )
        expected = round_to_fen(item.quantity * item.standard)
        if expected != item.amount:
            violations.append(
                Violation(
                    IssuanceError.ITEM_AMOUNT_MISMATCH,
                    f"{label}：数量 × 标准 = {expected} 元，与金额 {item.amount} 元不符。",
                    path,
                )
            )
        checked.append(
            CheckedItem(
                fee_item=fee_item,
                quantity=item.quantity,
                standard=item.standard,
                amount=item.amount,
                remark=item.remark,
            )
        )
    if total != data.total_amount:
        violations.append(
            Violation(
                IssuanceError.TOTAL_MISMATCH,
                f"明细金额合计 {total} 元与票据合计金额 {data.total_amount} 元不符。",
                "totalAmount",
            )
        )
    return checked


def _yuan(value: Decimal | None) -> str:
    if value is None:
        return "-"
    text = format(value.normalize(), "f")
    return text if "." in text and len(text.split(".")[1]) >= 2 else format(value.quantize(Decimal("0.01")), "f")


def _check_payer(kind: ReceiptKind, data: IssueInput, violations: list[Violation]) -> None:
    payer = data.payer
    for requirement in kind.required_fields:
        if requirement in PAYER_FIELDS and not getattr(payer, requirement.split(".", 1)[1]):
            violations.append(
                Violation(
                    IssuanceError.PAYER_FIELD_MISSING, f"“{kind.name}”须填写{PAYER_FIELDS[requirement]}。", requirement
                )
            )
    code = payer.code
    if not code:
        return
    if payer.type == 2 and len(code) == 18 and credit_code_problem(code.upper()):
        violations.append(
            Violation(
                IssuanceError.PAYER_CODE_INVALID,
                f"交款单位统一社会信用代码无效：{credit_code_problem(code.upper())}",
                "payer.code",
            )
        )
    if payer.type == 1 and len(code) == 18 and code[:17].isdigit() and not id_card_valid(code.upper()):
        violations.append(
            Violation(IssuanceError.PAYER_CODE_INVALID, "交款人居民身份证号码校验位不正确。", "payer.code")
        )


def _check_ext(kind: ReceiptKind, data: IssueInput, violations: list[Violation]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in data.ext.items():
        spec = KIND_FIELDS.get(name)
        path = f"ext.{name}"
        if spec is None:
            violations.append(Violation(IssuanceError.EXT_FIELD_UNKNOWN, f"未知的专属字段 {name}。", path))
            continue
        if value is None or value == "":
            continue
        try:
            clean[name] = _ext_value(spec.type, spec.max_length, value)
        except ValueError as exc:
            violations.append(Violation(IssuanceError.EXT_FIELD_INVALID, f"{spec.label}：{exc}", path))
    for requirement in kind.required_fields:
        if (
            requirement in KIND_FIELDS
            and requirement not in clean
            and f"ext.{requirement}" not in {v.path for v in violations}
        ):
            violations.append(
                Violation(
                    IssuanceError.EXT_FIELD_MISSING,
                    f"“{kind.name}”须填写{KIND_FIELDS[requirement].label}。",
                    f"ext.{requirement}",
                )
            )
    splits = [clean[name] for name in MEDICAL_SPLIT_FIELDS if name in clean]
    if splits and sum(splits, Decimal("0.00")) != data.total_amount:
        violations.append(
            Violation(
                IssuanceError.MEDICAL_SPLIT_MISMATCH,
                f"医保统筹、其他医保、个人账户、个人现金支付之和 {sum(splits, Decimal('0.00'))} 元"
                f"与合计金额 {data.total_amount} 元不符。",
                "ext",
            )
        )
    for name in ("selfPay", "selfExpense"):
        if name in clean and clean[name] > data.total_amount:
            violations.append(
                Violation(
                    IssuanceError.EXT_FIELD_INVALID, f"{KIND_FIELDS[name].label}不能大于合计金额。", f"ext.{name}"
                )
            )
    admission, discharge = clean.get("admissionDate"), clean.get("dischargeDate")
    if admission and discharge and discharge < admission:
        violations.append(Violation(IssuanceError.EXT_FIELD_INVALID, "出院日期不能早于入院日期。", "ext.dischargeDate"))
    # Stored as JSON: money and dates as strings.
    return {
        k: (format(v, "f") if isinstance(v, Decimal) else v.isoformat() if isinstance(v, datetime.date) else v)
        for k, v in clean.items()
    }


def _ext_value(kind: str, max_length: int, value: Any) -> Any:
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("应为字符串。")
        if len(value) > max_length:
            raise ValueError(f"长度不能超过 {max_length} 个字符。")
        return value.strip()
    if kind == "date":
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError("应为 YYYY-MM-DD 格式的日期。")
        try:
            return datetime.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError("应为 YYYY-MM-DD 格式的日期。") from exc
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100000:
            raise ValueError("应为 0 到 100000 之间的整数。")
        return value
    try:
        amount = parse_decimal(value)
    except ValueError as exc:
        raise ValueError("应为金额。") from exc
    # Range first: quantizing a huge value raises InvalidOperation instead of answering.
    if amount < 0 or amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise ValueError("应为不小于 0、最多两位小数的金额。")
    return amount.quantize(Decimal("0.01"))
