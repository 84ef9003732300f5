"""Issuing in the browser (网页开票): the form's data turned into the standard request.

The portal sends exactly what an interface unit sends through the API, through the
same parser (:func:`issuance.payload.parse_issue_input`), the same rules
(:mod:`issuance.rules`) and the same service (:func:`issuance.services.receipt_issue`).
So a cashier can never issue what the API would refuse, and the live check on the
page is the rule check itself, not a copy of it in JavaScript.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from pypinyin import Style, lazy_pinyin

from issuance.payload import IssueInput, parse_issue_input
from issuance.rules import CheckedReceipt, context_load, receipt_check
from zhongtai.core.money import MAX_AMOUNT, amount_in_capitals, round_to_fen
from zhongtai.masterdata.kind_fields import KIND_FIELDS, PAYER_FIELDS
from zhongtai.masterdata.models import FeeStandard, ReceiptKind, Unit
from zhongtai.masterdata.selectors import fee_standards_for

MAX_PORTAL_LINES = 50
SEARCH_LIMIT = 20
# The form's one-time token becomes the busNo: a double click or a resent form issues once.
TOKEN_RE = re.compile(r"^[0-9a-f]{32}\Z")


def new_form_token() -> str:
    return uuid.uuid4().hex


def bus_no_of(token: str) -> str:
    return f"WEB{token}"


# --- The fee items a unit may charge on a kind ---------------------------------------


@dataclass(frozen=True)
class CatalogueItem:
    code: str
    name: str
    unit_of_measure: str
    initials: str  # pinyin initials of the name, lower case: 证书工本费 -> zsgbf
    mode: str  # fixed / range / "" (no standard in force)
    amount: Decimal | None
    min_amount: Decimal | None
    max_amount: Decimal | None

    @property
    def default_standard(self) -> Decimal | None:
        if self.mode == FeeStandard.Mode.FIXED:
            return self.amount
        return None

    @property
    def standard_text(self) -> str:
        if self.mode == FeeStandard.Mode.FIXED:
            return f"{self.amount:.2f}"
        if self.mode == FeeStandard.Mode.RANGE:
            return f"{self.min_amount:.2f}–{self.max_amount:.2f}"
        return "无有效标准"


@functools.lru_cache(maxsize=4096)
def pinyin_initials(name: str) -> str:
    """Initials of each character's pinyin (non-Chinese characters kept): 诊查费 -> zcf."""
    return "".join(part[:1] for part in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")).lower()


def catalogue_for(*, unit: Unit, kind: ReceiptKind) -> list[CatalogueItem]:
    """The unit's allowed fee items usable on ``kind`` today, with the standard in force."""
    today = timezone.localdate()
    items = [
        item
        for item in unit.allowed_fee_items.prefetch_related("kinds").order_by("code")
        if item.is_valid_on(today) and (not item.kinds.all() or kind in item.kinds.all())
    ]
    standards = fee_standards_for(fee_item_ids=[i.pk for i in items], region_code=unit.region.code, day=today)
    result = []
    for item in items:
        standard = standards.get(item.pk)
        result.append(
            CatalogueItem(
                code=item.code,
                name=item.name,
                unit_of_measure=item.unit_of_measure,
                initials=pinyin_initials(item.name),
                mode=standard.mode if standard else "",
                amount=standard.amount if standard else None,
                min_amount=standard.min_amount if standard else None,
                max_amount=standard.max_amount if standard else None,
            )
        )
    return result


def catalogue_search(catalogue: list[CatalogueItem], query: str, limit: int = SEARCH_LIMIT) -> list[CatalogueItem]:
    """Match by code prefix, by pinyin initials, or by part of the name; best matches first."""
    q = query.strip().lower()
    if not q:
        return catalogue[:limit]
    ranked: list[tuple[int, CatalogueItem]] = []
    for item in catalogue:
        if item.code.lower() == q:
            rank = 0
        elif item.code.lower().startswith(q):
            rank = 1
        elif item.initials.startswith(q):
            rank = 2
        elif q in item.name.lower():
            rank = 3
        elif q in item.initials:
            rank = 4
        else:
            continue
        ranked.append((rank, item))
    ranked.sort(key=lambda pair: (pair[0], pair[1].code))
    return [item for _, item in ranked[:limit]]


# --- The form ------------------------------------------------------------------------


@dataclass
class FormLine:
    """One row of the item table as typed, with what the server computed for it."""

    index: int
    item_code: str
    quantity_text: str
    standard_text: str
    remark: str
    catalogue: CatalogueItem | None = None
    amount: Decimal | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class PortalForm:
    """The issuing form as typed, the request built from it and the result of the rule check."""

    values: dict[str, str]
    lines: list[FormLine]
    kind: ReceiptKind | None
    total: Decimal
    request: dict[str, Any]
    field_errors: dict[str, str] = field(default_factory=dict)  # form field name -> message
    general_errors: list[str] = field(default_factory=list)
    data: IssueInput | None = None
    checked: CheckedReceipt | None = None

    @property
    def total_in_capitals(self) -> str:
        return amount_in_capitals(self.total) if self.total > 0 else ""

    @property
    def ok(self) -> bool:
        return self.checked is not None and not self.problems

    @property
    def problems(self) -> list[str]:
        """Every problem in reading order, for the summary: form, fields, then lines."""
        found = list(self.general_errors) + list(self.field_errors.values())
        for line in self.lines:
            found.extend(f"第 {line.index + 1} 行：{message}" for message in line.errors)
        return found

    @property
    def has_lines(self) -> bool:
        return any(line.item_code for line in self.lines)


TOP_FIELDS = ("kind", "point", "payer_type", "payer_name", "payer_code", "payer_phone", "payer_email")
TOP_FIELDS += ("pay_mode", "remark", "token")
# Request paths reported by the parser and the rules -> form field names.
_PATH_TO_FIELD = {
    "kindCode": "kind",
    "issuingPointCode": "point",
    "payer.type": "payer_type",
    "payer.name": "payer_name",
    "payer.code": "payer_code",
    "payer.phone": "payer_phone",
    "payer.email": "payer_email",
    "payMode": "pay_mode",
    "remark": "remark",
}
_LINE_PATH = re.compile(r"^items\[(\d+)\](?:\.(\w+))?$")


def ext_field_names(kind: ReceiptKind | None) -> list[str]:
    """The kind-specific fields the form shows: those the kind requires."""
    if kind is None:
        return []
    return [name for name in kind.required_fields if name in KIND_FIELDS]


def payer_requirements(kind: ReceiptKind | None) -> set[str]:
    """Payer fields the kind makes mandatory (``payer.code`` -> ``payer_code``)."""
    if kind is None:
        return set()
    return {name.replace(".", "_") for name in kind.required_fields if name in PAYER_FIELDS}


def _decimal(text: str) -> Decimal | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        return None
    return value


def _decimal_json(value: Decimal | None, text: str) -> Any:
    # The parser wants numbers as JSON numbers or strings; an unparsable entry goes through as typed,
    # so that the parser reports it in its own words.
    return format(value, "f") if value is not None else text.strip()


def form_read(*, post: QueryDict, unit: Unit, kinds: dict[str, ReceiptKind], issued_by: str) -> PortalForm:
    """Read the posted form, build the standard request and check it against every rule."""
    values = {name: post.get(name, "").strip() for name in TOP_FIELDS}
    kind = kinds.get(values["kind"])
    for name in ext_field_names(kind):
        values[f"ext_{name}"] = post.get(f"ext_{name}", "").strip()
    catalogue = {item.code: item for item in catalogue_for(unit=unit, kind=kind)} if kind else {}
    lines = _read_lines(post, catalogue)
    total = sum((line.amount or Decimal("0.00") for line in lines), Decimal("0.00"))
    token = values["token"] if TOKEN_RE.match(values["token"]) else ""
    request: dict[str, Any] = {
        "busNo": bus_no_of(token) if token else None,
        "kindCode": values["kind"],
        "issuingPointCode": values["point"],
        "payer": {
            "type": 2 if values["payer_type"] == "2" else 1,
            "name": values["payer_name"],
            "code": values["payer_code"],
            "phone": values["payer_phone"],
            "email": values["payer_email"],
        },
        "items": [
            {
                "itemCode": line.item_code,
                "quantity": _decimal_json(_decimal(line.quantity_text), line.quantity_text),
                "standard": _decimal_json(_decimal(line.standard_text), line.standard_text),
                "amount": format(line.amount, "f") if line.amount is not None else "",
                "remark": line.remark,
            }
            for line in lines
            if line.item_code
        ],
        "totalAmount": format(total, "f"),
        "payMode": values["pay_mode"],
        "handlingPerson": issued_by[:40],
        "remark": values["remark"],
        "ext": {name: values[f"ext_{name}"] for name in ext_field_names(kind) if values[f"ext_{name}"]},
    }
    form = PortalForm(values=values, lines=lines, kind=kind, total=total, request=request)
    _check(form, unit=unit, token=token)
    return form


def _read_lines(post: QueryDict, catalogue: dict[str, CatalogueItem]) -> list[FormLine]:
    codes = post.getlist("item_code")[:MAX_PORTAL_LINES]
    quantities = post.getlist("item_qty")
    standards = post.getlist("item_std")
    remarks = post.getlist("item_remark")
    lines = []
    for index, code in enumerate(codes):
        code = code.strip()
        quantity_text = quantities[index].strip() if index < len(quantities) else ""
        standard_text = standards[index].strip() if index < len(standards) else ""
        line = FormLine(
            index=index,
            item_code=code,
            quantity_text=quantity_text or ("1" if code else ""),
            standard_text=standard_text,
            remark=(remarks[index].strip() if index < len(remarks) else "")[:200],
            catalogue=catalogue.get(code),
        )
        if line.catalogue is not None and not line.standard_text and line.catalogue.default_standard is not None:
            line.standard_text = f"{line.catalogue.default_standard:.2f}"
        quantity, standard = _decimal(line.quantity_text), _decimal(line.standard_text)
        if code and quantity is not None and standard is not None:
            line.amount = round_to_fen(quantity * standard)
        lines.append(line)
    return lines


def _check(form: PortalForm, *, unit: Unit, token: str) -> None:
    if not token:
        form.general_errors.append("表单已过期，请刷新页面后重新填写。")
    if not form.has_lines:
        form.general_errors.append("请至少添加一个收费项目。")
        return
    for name in payer_requirements(form.kind):
        if not form.values.get(name):
            form.field_errors[name] = "本票据种类须填写此项。"
    data, errors = parse_issue_input(form.request, require_bus_no=False)
    _place(form, errors.fields)
    if data is None:
        return
    form.data = data
    ctx = context_load(unit=unit, item_codes={item.item_code for item in data.items})
    outcome = receipt_check(ctx, data)
    if isinstance(outcome, list):
        _place(form, {v.path: v.message for v in outcome})
        return
    if not form.field_errors and not form.general_errors:
        form.checked = outcome


def _place(form: PortalForm, problems: dict[str, str]) -> None:
    """Put each problem next to the field or the line it is about."""
    visible_lines = [line for line in form.lines if line.item_code]
    for path, message in problems.items():
        if path in _PATH_TO_FIELD:
            form.field_errors.setdefault(_PATH_TO_FIELD[path], message)
        elif path.startswith("ext."):
            form.field_errors.setdefault(f"ext_{path[4:]}", message)
        elif (match := _LINE_PATH.match(path)) and int(match.group(1)) < len(visible_lines):
            visible_lines[int(match.group(1))].errors.append(message)
        else:
            form.general_errors.append(message)
