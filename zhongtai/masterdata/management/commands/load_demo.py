"""``manage.py load_demo``: the demo province of Hunan, its accounts and demo receipts.

Idempotent: every row is keyed on its code and created only when absent, so running
the command again adds what is missing and never overwrites what someone changed.
Receipts are issued through the issuance service, like any other receipt, until the
demo holds ``--receipts`` of them.
"""

from __future__ import annotations

import datetime
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models import Count, Max
from django.utils import timezone

from issuance.jobs import jobs_create
from issuance.models import Receipt, ReceiptJob, SignStatus
from issuance.paper.demo import paper_demo_load
from issuance.payload import IssueInput, parse_issue_input
from issuance.rules import id_card_valid
from issuance.services import receipts_issue
from verification.demo import verification_demo_load
from zhongtai.accounts import totp
from zhongtai.accounts.models import Profile
from zhongtai.accounts.services import profile_create, totp_provision, user_create
from zhongtai.audit.services import Actor, audit_record
from zhongtai.core.money import FEN, round_to_fen
from zhongtai.gateway.models import ApiCredential
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata import demo_data as demo
from zhongtai.masterdata.models import (
    FeeItem,
    FeeStandard,
    FinanceBureau,
    IssuingPoint,
    ReceiptKind,
    Region,
    Unit,
)
from zhongtai.masterdata.selectors import fee_standards_for
from zhongtai.masterdata.validators import CREDIT_CODE_ALPHABET, credit_code_check_char
from zhongtai.numbering.models import NumberRange
from zhongtai.numbering.services import number_range_hand_down, number_range_reserve, receipt_code_for
from zhongtai.onboarding.demo import onboarding_demo_load
from zhongtai.signing.models import Certificate
from zhongtai.signing.selectors import certificate_current_for_bureau, certificate_current_for_unit
from zhongtai.signing.services import (
    ca_bootstrap,
    certificate_issue_for_bureau,
    certificate_issue_for_unit,
)

ACTOR = Actor.system(demo.DEMO_ACTOR)
BATCH_MAX = 500  # receipts per receipts_issue call, the API's batch limit
# A unit issues on about count/RECEIPTS_PER_DAY days of the window, so that one call
# issues several receipts and loading 2,000 receipts takes seconds, not minutes.
RECEIPTS_PER_DAY = 6
WINDOW_DAYS = 90
PRODUCTION_SETTINGS = "config.settings.production"

ModelT = TypeVar("ModelT", bound=models.Model)


class Command(BaseCommand):
    help = (
        "载入湖南省演示数据（区划、财政部门、票据种类、收费项目、单位、演示账号、演示接口凭证与演示票据），"
        "可重复执行。Load the demo province (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--receipts",
            type=int,
            default=demo.DEMO_RECEIPTS_DEFAULT,
            help=f"演示票据总数（默认 {demo.DEMO_RECEIPTS_DEFAULT}），已有演示票据时只补足差额",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["receipts"]
        if target < 0:
            raise CommandError("--receipts 不能为负数。")
        if settings.SETTINGS_MODULE == PRODUCTION_SETTINGS:
            # The demo creates a superuser with a published password: never in production.
            raise CommandError("生产环境不能载入演示数据。The demo is never loaded with production settings.")
        started = time.monotonic()
        created: Counter[str] = Counter()
        with transaction.atomic():
            regions = _regions_load(created)
            kinds = _kinds_load(created)
            items = _fee_items_load(kinds, regions, created)
            units = _units_load(regions, kinds, items, created)
            _range_unit_numbers_ensure(units[demo.DEMO_RANGE_UNIT_CODE], regions, kinds, needed=1)
            _users_load(regions, units, created)
            _credentials_load(units[demo.DEMO_API_UNIT_CODE], created)
            created.update(paper_demo_load())  # before onboarding, which retires stopped units' stock
            created.update(onboarding_demo_load())
        _pki_load(regions, created)
        issued = _receipts_load(target=target, units=units, kinds=kinds, regions=regions)
        _pipeline_backfill()
        created.update(verification_demo_load())  # reimbursing parties, their credentials, demo entries
        self._summary(created, issued, time.monotonic() - started)

    def _summary(self, created: Counter[str], issued: int, seconds: float) -> None:
        rows = (
            ("财政区划 regions", Region.objects.count(), created["region"]),
            ("财政部门 finance bureaus", FinanceBureau.objects.count(), created["bureau"]),
            ("票据种类 receipt kinds", ReceiptKind.objects.count(), created["kind"]),
            ("收费项目 fee items", FeeItem.objects.count(), created["fee_item"]),
            ("收费标准 fee standards", FeeStandard.objects.count(), created["standard"]),
            ("用票单位 units", Unit.objects.count(), created["unit"]),
            ("开票点 issuing points", IssuingPoint.objects.count(), created["point"]),
            ("号段 number ranges", NumberRange.objects.count(), None),
            ("演示账号 demo users", len(demo.DEMO_USERS), created["user"]),
            ("接口凭证 API credentials", ApiCredential.objects.count(), created["credential"]),
            ("演示票据 demo receipts", Receipt.objects.filter(source=Receipt.Source.DEMO).count(), issued),
            ("数字证书 certificates", Certificate.objects.count(), created["certificate"]),
            ("已签章票据 signed receipts", Receipt.objects.filter(sign_status=SignStatus.SIGNED).count(), None),
        )
        self.stdout.write(self.style.SUCCESS(f"演示数据已就绪 Demo province loaded（{seconds:.1f} 秒）"))
        for label, total, new in rows:
            suffix = "" if new is None else f"（本次新增 {new}）"
            self.stdout.write(f"  {label}: {total}{suffix}")
        self.stdout.write("登录地址与演示账号见 manage.py demo_logins。See manage.py demo_logins for logins.")


# --- Certificates and the signing pipeline ---------------------------------------------


def _pki_load(regions: dict[str, Region], created: Counter[str]) -> None:
    """The province's CA, a hosted signing certificate for every active unit, a seal for every bureau."""
    province = next(region for region in regions.values() if region.level == Region.Level.PROVINCE)
    actor = Actor.system(demo.DEMO_ACTOR)
    ca_bootstrap(province=province, actor=actor)
    for unit in Unit.objects.filter(status=Unit.Status.ACTIVE).select_related("region"):
        if certificate_current_for_unit(unit=unit) is None:
            certificate_issue_for_unit(unit=unit, actor=actor)
            created["certificate"] += 1
    for bureau in FinanceBureau.objects.select_related("region"):
        if certificate_current_for_bureau(bureau=bureau) is None:
            certificate_issue_for_bureau(bureau=bureau, actor=actor)
            created["certificate"] += 1


def _pipeline_backfill() -> None:
    """Sign and render demo receipts that have no pipeline job yet (from loads before signing existed)."""
    missing = Receipt.objects.filter(sign_status=SignStatus.PENDING).exclude(jobs__step=ReceiptJob.Step.SIGN)
    while batch := list(missing.order_by("id")[:500]):
        with transaction.atomic():
            jobs_create(receipts=batch, step=ReceiptJob.Step.SIGN, existing_ok=True)


# --- Master data -----------------------------------------------------------------


def _create_if_absent(
    model: type[ModelT], lookup: dict[str, Any], defaults: dict[str, Any], created: Counter[str], tally: str
) -> tuple[ModelT, bool]:
    """The row with ``lookup``; a new, validated one if there is none. Never overwrites."""
    existing = model._default_manager.filter(**lookup).first()
    if existing is not None:
        return existing, False
    obj = model(**lookup, **defaults)
    obj.full_clean()
    obj.save()
    created[tally] += 1
    return obj, True


def _regions_load(created: Counter[str]) -> dict[str, Region]:
    regions: dict[str, Region] = {}

    def add(code: str, name: str, level: int, parent: Region | None, bureau: str) -> Region:
        region, _ = _create_if_absent(
            Region, {"code": code}, {"name": name, "level": level, "parent": parent}, created, "region"
        )
        _create_if_absent(FinanceBureau, {"region": region}, {"name": bureau}, created, "bureau")
        regions[code] = region
        return region

    province = add(demo.PROVINCE_CODE, demo.PROVINCE_NAME, Region.Level.PROVINCE, None, demo.PROVINCE_BUREAU)
    for city in demo.CITIES:
        city_region = add(city.code, city.name, Region.Level.CITY, province, city.bureau_name)
        for code, name in city.counties:
            add(code, name, Region.Level.COUNTY, city_region, f"{name}财政局")
    return regions


def _kinds_load(created: Counter[str]) -> dict[str, ReceiptKind]:
    kinds: dict[str, ReceiptKind] = {}
    for spec in demo.KINDS:
        kind, _ = _create_if_absent(
            ReceiptKind,
            {"category_code": spec.category_code, "kind_code": spec.kind_code},
            {
                "code": spec.code,
                "name": spec.name,
                "specimen_code": spec.specimen_code,
                "retention_years": spec.retention_years,
                "required_fields": list(spec.required_fields),
                "is_medical": spec.is_medical,
            },
            created,
            "kind",
        )
        kinds[kind.code] = kind
    return kinds


def _standard_ensure(item: FeeItem, spec: demo.StandardSpec, regions: dict[str, Region], created: Counter[str]) -> None:
    region = regions[spec.region_code] if spec.region_code else None
    _create_if_absent(
        FeeStandard,
        {"fee_item": item, "region": region, "valid_from": spec.valid_from},
        {
            "mode": FeeStandard.Mode.FIXED if spec.is_fixed else FeeStandard.Mode.RANGE,
            "amount": Decimal(spec.amount) if spec.amount is not None else None,
            "min_amount": Decimal(spec.min_amount) if spec.min_amount is not None else None,
            "max_amount": Decimal(spec.max_amount) if spec.max_amount is not None else None,
            "approval_document": spec.approval_document,
        },
        created,
        "standard",
    )


def _fee_items_load(
    kinds: dict[str, ReceiptKind], regions: dict[str, Region], created: Counter[str]
) -> dict[str, FeeItem]:
    items: dict[str, FeeItem] = {}
    for spec in demo.FEE_ITEMS:
        item, is_new = _create_if_absent(
            FeeItem,
            {"code": spec.code},
            {
                "name": spec.name,
                "unit_of_measure": spec.unit_of_measure,
                "income_class": spec.income_class,
                "fund_nature": spec.fund_nature,
                "budget_subject": spec.budget_subject,
                "valid_from": spec.valid_from,
            },
            created,
            "fee_item",
        )
        if is_new:
            item.kinds.set([kinds[code] for code in spec.kinds])
        _standard_ensure(item, spec.standard, regions, created)
        items[item.code] = item
    for item_code, standard in demo.REGIONAL_STANDARDS:
        _standard_ensure(items[item_code], standard, regions, created)
    return items


def _gb11714_check(body: str) -> str:
    """The check character of a 9-character organisation code (GB 11714) for its first 8."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(body, weights, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def credit_code_for(spec: demo.UnitSpec) -> str:
    """A synthetic but valid unified social credit code for a demo unit.

    Characters 1-2 say who registered it (机构编制 or 民政), 3-8 the region, 9-17 an
    organisation code with its own GB 11714 check character, 18 the GB 32100 check.
    """
    digits = f"{(int(spec.code) * 7919 + 104729) % 10**8:08d}"
    body8 = "MJ" + digits[2:] if spec.registration == demo.REG_SOCIAL_GROUP else digits
    first17 = f"{spec.registration}{spec.region_code}{body8}{_gb11714_check(body8)}"
    return first17 + credit_code_check_char(first17)


def _phone_area(region_code: str) -> str:
    for city in demo.CITIES:
        if region_code[:4] == city.code[:4]:
            return city.phone_area
    return demo.PROVINCE_PHONE_AREA


def _unit_items(spec: demo.UnitSpec, items: dict[str, FeeItem]) -> list[FeeItem]:
    """The fee items of the unit's groups that fit one of the unit's kinds."""
    return [
        items[item.code] for item in demo.FEE_ITEMS if item.group in spec.groups and set(item.kinds) & set(spec.kinds)
    ]


def _units_load(
    regions: dict[str, Region], kinds: dict[str, ReceiptKind], items: dict[str, FeeItem], created: Counter[str]
) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for spec in demo.UNITS:
        region = regions[spec.region_code]
        rng = random.Random(spec.code)
        # Agencies collect into their bureau's non-tax revenue collection account.
        payee_name = f"{region.bureau.name}非税收入汇缴结算户" if spec.unit_type == demo.AGENCY else spec.name
        unit, is_new = _create_if_absent(
            Unit,
            {"code": spec.code},
            {
                "name": spec.name,
                "credit_code": credit_code_for(spec),
                "unit_type": spec.unit_type,
                "connection_mode": spec.connection_mode,
                "region": region,
                "valid_from": spec.valid_from,
                "numbering_mode": spec.numbering_mode,
                "payee_name": payee_name,
                "payee_account": f"{rng.randint(1, 9)}{rng.randrange(10**18):018d}",
                "payee_bank": spec.bank,
                "contact_person": _person_name(rng),
                "contact_phone": f"{_phone_area(spec.region_code)}-8{rng.randrange(10**7):07d}",
            },
            created,
            "unit",
        )
        if is_new:
            unit.allowed_kinds.set([kinds[code] for code in spec.kinds])
            unit.allowed_fee_items.set(_unit_items(spec, items))
        for point in spec.points:
            _create_if_absent(IssuingPoint, {"unit": unit, "code": point.code}, {"name": point.name}, created, "point")
        units[unit.code] = unit
    return units


def _range_for(holder: dict[str, Any], receipt_code: str, count: int) -> NumberRange | None:
    for number_range in NumberRange.objects.filter(receipt_code=receipt_code, **holder).order_by("start_number"):
        if number_range.remaining >= count:
            return number_range
    return None


def _range_unit_numbers_ensure(
    unit: Unit, regions: dict[str, Region], kinds: dict[str, ReceiptKind], *, needed: int
) -> None:
    """Give the range-numbered unit at least ``needed`` numbers of this year, province → city → unit."""
    if unit.numbering_mode != Unit.NumberingMode.RANGE:
        return
    year = timezone.localdate().year
    province = regions[demo.PROVINCE_CODE]
    city = regions[unit.region.code[:4] + "00"]
    for kind in unit.allowed_kinds.order_by("code"):
        code = receipt_code_for(kind=kind, year=year)
        held = list(NumberRange.objects.filter(unit=unit, receipt_code=code))
        remaining = sum(r.remaining for r in held)
        if held and remaining >= needed:
            continue
        unit_count = max(demo.RANGE_UNIT_BLOCK, needed - remaining)
        city_range = _range_for({"region": city}, code, unit_count)
        if city_range is None:
            city_count = max(demo.RANGE_CITY_BLOCK, unit_count)
            province_range = _range_for({"region": province}, code, city_count)
            if province_range is None:
                province_range = number_range_reserve(
                    kind=kind, year=year, count=max(demo.RANGE_PROVINCE_BLOCK, city_count), region=province, actor=ACTOR
                )
            city_range = number_range_hand_down(
                parent_id=province_range.pk, count=city_count, actor=ACTOR, to_region=city
            )
        number_range_hand_down(parent_id=city_range.pk, count=unit_count, actor=ACTOR, to_unit=unit)


def _users_load(regions: dict[str, Region], units: dict[str, Unit], created: Counter[str]) -> None:
    """Demo logins with their roles, and the published demo TOTP secret for the bureau users.

    A missing user is created; an existing one keeps everything it has and only gets what it
    lacks (a profile, the second factor), so a demo loaded before roles existed is upgraded.
    """
    user_model = get_user_model()
    for spec in demo.DEMO_USERS:
        region = regions[spec.region_code] if spec.region_code else None
        unit = units[spec.unit_code] if spec.unit_code else None
        point = unit.issuing_points.get(code=spec.point_code) if unit is not None and spec.point_code else None
        scope = {"region": region, "unit": unit, "issuing_point": point}
        user = user_model.objects.filter(username=spec.username).first()
        if user is None:
            user = user_create(
                username=spec.username,
                password=demo.DEMO_PASSWORD,
                role=spec.role,
                display_name=spec.display_name,
                actor=ACTOR,
                **scope,
            )
            created["user"] += 1
        elif not Profile.objects.filter(user=user).exists():
            profile_create(user=user, role=spec.role, display_name=spec.display_name, actor=ACTOR, **scope)
        if spec.is_superuser and not user.is_superuser:
            user_model.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
            audit_record(
                actor=ACTOR, action="user.superuser_grant", object_type="user", object_id=spec.username, data={}
            )
        profile = Profile.objects.get(user=user)
        if spec.totp_secret and not profile.totp_enabled:
            totp_provision(user=user, secret=totp.secret_from_base32(spec.totp_secret), actor=ACTOR, now=timezone.now())


def _credentials_load(unit: Unit, created: Counter[str]) -> None:
    if ApiCredential.objects.filter(app_id=demo.DEMO_API_APP_ID).exists():
        return
    credential_create(
        unit=unit,
        actor=ACTOR,
        label=demo.DEMO_API_LABEL,
        app_id=demo.DEMO_API_APP_ID,
        secret=demo.DEMO_API_SECRET,
    )
    created["credential"] += 1


# --- Demo receipts ---------------------------------------------------------------

_ITEM_SPECS = {spec.code: spec for spec in demo.FEE_ITEMS}
_UNIT_SPECS = {spec.code: spec for spec in demo.UNITS}
_COUNTY_CODES = tuple(code for city in demo.CITIES for code, _ in city.counties)
_CITY_BY_PREFIX = {city.code[:4]: city for city in demo.CITIES}


@dataclass
class UnitPlan:
    """What the demo needs to write receipts for one unit."""

    unit: Unit
    spec: demo.UnitSpec
    items_by_kind: dict[str, list[FeeItem]]
    standards: dict[int, FeeStandard]
    points: list[demo.PointSpec]
    cashiers: tuple[str, str]
    checker: str
    bus_seq: int = 0
    share: int = 0
    days: Counter[datetime.date] = field(default_factory=Counter)

    @property
    def kinds(self) -> list[str]:
        return sorted(code for code, items in self.items_by_kind.items() if items)


@dataclass
class Line:
    item: FeeItem
    quantity: Decimal
    standard: Decimal

    @property
    def amount(self) -> Decimal:
        return round_to_fen(self.quantity * self.standard)


# What a kind's builder drafts: the lines, the kind-specific fields and the payer.
Drafted = tuple[list[Line], dict[str, Any], dict[str, Any]]


def _receipts_load(
    *, target: int, units: dict[str, Unit], kinds: dict[str, ReceiptKind], regions: dict[str, Region]
) -> int:
    """Issue demo receipts until the demo holds ``target``; returns how many were issued."""
    existing = Receipt.objects.filter(source=Receipt.Source.DEMO).count()
    missing = target - existing
    if missing <= 0:
        return 0
    today = timezone.localdate()
    rng = random.Random(f"{demo.DEMO_ACTOR}:{existing}:{target}")
    plans = _unit_plans(units, today)
    _apportion(plans, missing)
    with transaction.atomic():
        for plan in plans:
            if plan.spec.numbering_mode == Unit.NumberingMode.RANGE and plan.share:
                _range_unit_numbers_ensure(plan.unit, regions, kinds, needed=plan.share)
    days = _window(today)
    schedule: dict[datetime.date, list[tuple[UnitPlan, int]]] = defaultdict(list)
    for plan in plans:
        if not plan.share:
            continue
        active = sorted(rng.sample(days, min(len(days), max(1, math.ceil(plan.share / RECEIPTS_PER_DAY)))))
        per_day = Counter(rng.choice(active) for _ in range(plan.share))
        for day in sorted(per_day):
            schedule[day].append((plan, per_day[day]))
    builder = ReceiptBuilder(rng)
    issued = 0
    for day in sorted(schedule):
        batches = [
            (plan, min(BATCH_MAX, count - start))
            for plan, count in schedule[day]
            for start in range(0, count, BATCH_MAX)
        ]
        # One transaction per day: the day's receipts and their issue time land together,
        # so an interrupted load never leaves receipts stamped "now" among older ones.
        with transaction.atomic():
            for slot, (plan, count) in enumerate(batches):
                inputs = [builder.build(plan, day) for _ in range(count)]
                ids = _issue(plan, inputs)
                if day < today:
                    Receipt.objects.filter(pk__in=ids).update(issued_at=_stamp(day, slot, len(batches)), issue_date=day)
                issued += len(ids)
    return issued


def _unit_plans(units: dict[str, Unit], today: datetime.date) -> list[UnitPlan]:
    plans = []
    existing = dict(
        Receipt.objects.filter(source=Receipt.Source.DEMO)
        .values_list("unit_id")
        .annotate(n=Count("id"))
        .values_list("unit_id", "n")
    )
    for code in sorted(units):
        unit = units[code]
        unit.refresh_from_db()
        if unit.status != Unit.Status.ACTIVE or not unit.is_valid_on(today):
            continue
        allowed = [item for item in unit.allowed_fee_items.prefetch_related("kinds") if item.is_valid_on(today)]
        kind_codes = set(unit.allowed_kinds.filter(active=True).values_list("code", flat=True))
        items_by_kind: dict[str, list[FeeItem]] = {}
        for kind_code in sorted(kind_codes):
            items_by_kind[kind_code] = [
                item for item in allowed if not item.kinds.all() or kind_code in {k.code for k in item.kinds.all()}
            ]
        standards = fee_standards_for(fee_item_ids=[i.pk for i in allowed], region_code=unit.region.code, day=today)
        for kind_code, items in items_by_kind.items():
            items_by_kind[kind_code] = [item for item in items if item.pk in standards and item.code in _ITEM_SPECS]
        point_codes = set(unit.issuing_points.filter(active=True).values_list("code", flat=True))
        spec = _UNIT_SPECS[code]
        rng = random.Random(f"staff:{code}")
        plans.append(
            UnitPlan(
                unit=unit,
                spec=spec,
                items_by_kind=items_by_kind,
                standards=standards,
                points=[p for p in spec.points if p.code in point_codes],
                cashiers=(_person_name(rng), _person_name(rng)),
                checker=_person_name(rng),
                bus_seq=existing.get(unit.pk, 0),
            )
        )
    return [plan for plan in plans if plan.kinds]


def _apportion(plans: list[UnitPlan], total: int) -> None:
    """Split ``total`` over the units by weight (largest remainder): deterministic."""
    weights = [
        demo.RECEIPT_WEIGHTS.get((p.spec.unit_type, p.spec.connection_mode), demo.RECEIPT_WEIGHT_DEFAULT) for p in plans
    ]
    weight_sum = sum(weights)
    if not weight_sum:
        raise CommandError("没有可开具演示票据的单位。")
    exact = [total * w / weight_sum for w in weights]
    for plan, value in zip(plans, exact, strict=True):
        plan.share = math.floor(value)
    leftover = total - sum(p.share for p in plans)
    order = sorted(range(len(plans)), key=lambda i: (-(exact[i] - math.floor(exact[i])), i))
    for index in order[:leftover]:
        plans[index].share += 1


def _window(today: datetime.date) -> list[datetime.date]:
    """Issue days: the last ~90 days of this year, after every receipt already issued.

    Numbers follow time per receipt code, and the code carries the year, so new demo
    receipts never go before an existing receipt nor into last year.
    """
    start = max(today - datetime.timedelta(days=WINDOW_DAYS - 1), datetime.date(today.year, 1, 1))
    latest = Receipt.objects.aggregate(latest=Max("issued_at"))["latest"]
    if latest is not None:
        start = max(start, timezone.localdate(latest) + datetime.timedelta(days=1))
    if start > today:
        return [today]
    return [start + datetime.timedelta(days=n) for n in range((today - start).days + 1)]


def _stamp(day: datetime.date, slot: int, slots: int) -> datetime.datetime:
    """Issue time of the ``slot``-th batch of a past day: spread over 08:00-18:00, in order."""
    minutes = 600 * slot // max(slots, 1)
    local = datetime.datetime.combine(day, datetime.time(8, 0)) + datetime.timedelta(minutes=minutes)
    return timezone.make_aware(local)


def _issue(plan: UnitPlan, inputs: list[IssueInput]) -> list[int]:
    outcomes = receipts_issue(unit=plan.unit, inputs=inputs, actor=ACTOR, source=Receipt.Source.DEMO)
    errors = [o.error for o in outcomes if o.error is not None]
    if errors:
        first = errors[0]
        raise CommandError(f"演示票据开具失败（{plan.unit.code}）：{first.code} {first.message} {first.extra}")
    return [o.receipt.pk for o in outcomes if o.receipt is not None]


# --- Synthetic payers and receipt contents ----------------------------------------


def _person_name(rng: random.Random) -> str:
    return rng.choice(demo.SURNAMES) + rng.choice(demo.GIVEN_NAMES)


def _id_number(rng: random.Random, *, born_after: int = 1945, born_before: int = 2006) -> str:
    """A synthetic resident ID number whose check digit passes ``issuance.rules.id_card_valid``."""
    birth = datetime.date(born_after, 1, 1) + datetime.timedelta(
        days=rng.randrange((datetime.date(born_before, 12, 31) - datetime.date(born_after, 1, 1)).days)
    )
    first17 = f"{rng.choice(_COUNTY_CODES)}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
    return next(first17 + ch for ch in "0123456789X" if id_card_valid(first17 + ch))


def _company_credit_code(rng: random.Random, region_code: str) -> str:
    """A synthetic enterprise credit code (9 = market regulator, 1 = company) registered in ``region_code``."""
    body = "MA4" + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(6))
    first17 = f"91{region_code}{body}"
    return first17 + credit_code_check_char(first17)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"


def _money(value: Decimal) -> str:
    return format(value.quantize(FEN) if value == value.quantize(FEN) else value.normalize(), "f")


def _weighted(rng: random.Random, choices: Iterable[tuple[str, int]]) -> str:
    options = list(choices)
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


class ReceiptBuilder:
    """Writes plausible issuance requests for a unit, each passing the issuance rules."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.kind_builders: dict[str, Callable[[UnitPlan, datetime.date], Drafted]] = {
            demo.KIND_OUTPATIENT: self._outpatient,
            demo.KIND_INPATIENT: self._inpatient,
            demo.KIND_NONTAX: self._nontax,
            demo.KIND_COURT: self._court,
            demo.KIND_FINE: self._fine,
            demo.KIND_TRANSFER: self._transfer,
            demo.KIND_DONATION: self._donation,
            demo.KIND_MEMBERSHIP: self._membership,
            demo.KIND_SOCIAL_INSURANCE: self._social_insurance,
            demo.KIND_HOUSING_FUND: self._housing_fund,
        }

    def build(self, plan: UnitPlan, day: datetime.date) -> IssueInput:
        rng = self.rng
        kind = self._pick_kind(plan)
        lines, ext, payer = self.kind_builders[kind](plan, day)
        total = sum((line.amount for line in lines), Decimal("0.00"))
        if kind in demo.MEDICAL_KINDS:
            ext.update(self._medical_split(total, ext["medicalInsuranceType"], inpatient=kind == demo.KIND_INPATIENT))
        points = [p for p in plan.points if not p.kinds or kind in p.kinds]
        payload: dict[str, Any] = {
            "busDate": day.isoformat(),
            "kindCode": kind,
            "payer": payer,
            "items": [
                {
                    "itemCode": line.item.code,
                    "itemName": line.item.name,
                    "quantity": format(line.quantity.normalize(), "f"),
                    "standard": _money(line.standard),
                    "amount": _money(line.amount),
                }
                for line in lines
            ],
            "totalAmount": _money(total),
            "payMode": rng.choice(demo.HOSPITAL_PAY_MODES if plan.spec.unit_type == demo.HOSPITAL else demo.PAY_MODES),
            "handlingPerson": rng.choice(plan.cashiers),
            "checker": plan.checker,
            "ext": ext,
        }
        if points:
            payload["issuingPointCode"] = rng.choice(points).code
        if plan.spec.connection_mode == demo.INTERFACE:
            plan.bus_seq += 1
            payload["busNo"] = f"DEMO{day:%Y%m%d}{plan.bus_seq:06d}"
        data, errors = parse_issue_input(payload, require_bus_no=False)
        if data is None:
            raise CommandError(f"演示票据数据格式错误（{plan.unit.code}）：{errors.fields}")
        return data

    def _pick_kind(self, plan: UnitPlan) -> str:
        kinds = plan.kinds
        if demo.KIND_OUTPATIENT in kinds and demo.KIND_INPATIENT in kinds:
            return _weighted(self.rng, ((demo.KIND_OUTPATIENT, 85), (demo.KIND_INPATIENT, 15)))
        return self.rng.choice(kinds)

    # Lines ------------------------------------------------------------------------

    def _line(self, plan: UnitPlan, item: FeeItem, *, quantity: Decimal | None = None, inpatient: bool = False) -> Line:
        spec = _ITEM_SPECS[item.code]
        if quantity is None:
            quantity = Decimal(self.rng.randint(*spec.quantity))
        return Line(item, quantity, self._price(spec, plan.standards[item.pk], inpatient=inpatient))

    def _price(self, spec: demo.FeeItemSpec, standard: FeeStandard, *, inpatient: bool) -> Decimal:
        if standard.mode == FeeStandard.Mode.FIXED:
            assert standard.amount is not None
            return standard.amount
        low, high = standard.min_amount, standard.max_amount
        assert low is not None and high is not None
        samples = [Decimal(s) for s in spec.samples if low <= Decimal(s) <= high]
        if samples:
            return self.rng.choice(samples)
        typical = (spec.typical_inpatient if inpatient else None) or spec.typical
        lo, hi = (Decimal(typical[0]), Decimal(typical[1])) if typical else (low, high)
        lo, hi = max(lo, low), min(hi, high)
        if lo > hi:
            lo, hi = low, high
        fen = self.rng.randint(int(lo * 100), int(hi * 100))
        return (Decimal(fen) / 100).quantize(FEN)

    def _items(self, plan: UnitPlan, kind: str, codes: Iterable[str] | None = None) -> list[FeeItem]:
        items = plan.items_by_kind.get(kind, [])
        if codes is None:
            return items
        wanted = list(codes)
        by_code = {item.code: item for item in items}
        return [by_code[code] for code in wanted if code in by_code]

    # Payers -----------------------------------------------------------------------

    def _person(self, *, with_code: bool) -> dict[str, Any]:
        payer: dict[str, Any] = {"type": 1, "name": _person_name(self.rng), "phone": _phone(self.rng)}
        if with_code:
            payer["code"] = _id_number(self.rng)
        return payer

    def _city(self, plan: UnitPlan) -> demo.CitySpec:
        """The unit's city; a province-level unit deals with the whole province."""
        return _CITY_BY_PREFIX.get(plan.unit.region.code[:4]) or self.rng.choice(demo.CITIES)

    def _organisation(self, plan: UnitPlan) -> dict[str, Any]:
        city = self._city(plan)
        county_code, _ = self.rng.choice(city.counties)
        name = f"{city.short_name}{self.rng.choice(demo.COMPANY_WORDS)}{self.rng.choice(demo.COMPANY_TRADES)}"
        return {"type": 2, "name": name, "code": _company_credit_code(self.rng, county_code)}

    def _payer(self, plan: UnitPlan, *, organisation_share: float, code_required: bool) -> dict[str, Any]:
        if self.rng.random() < organisation_share:
            return self._organisation(plan)
        return self._person(with_code=code_required or self.rng.random() < 0.3)

    # Kinds ------------------------------------------------------------------------

    def _insurance(self) -> str:
        return _weighted(self.rng, demo.INSURANCE_TYPES)

    def _institution_type(self, plan: UnitPlan) -> str:
        return "二级综合医院" if plan.unit.region.level == Region.Level.COUNTY else "三级综合医院"

    def _outpatient(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        rng = self.rng
        kind = demo.KIND_OUTPATIENT
        lines = [self._line(plan, item) for item in self._items(plan, kind, [demo.OUTPATIENT_CONSULT_ITEM])]
        extras = self._items(plan, kind, demo.OUTPATIENT_EXTRA_ITEMS)
        count = min(len(extras), _weighted_int(rng, ((0, 15), (1, 35), (2, 30), (3, 15), (4, 5))))
        lines += [self._line(plan, item) for item in rng.sample(extras, count)]
        if not lines:
            lines = [self._line(plan, rng.choice(self._items(plan, kind)))]
        ext = {
            "visitNumber": f"MZ{day:%Y%m%d}{rng.randint(1, 9999):04d}",
            "department": rng.choice(demo.OUTPATIENT_DEPARTMENTS),
            "medicalInsuranceType": self._insurance(),
            "medicalInstitutionType": self._institution_type(plan),
            "patientNumber": f"{rng.randrange(10**8):08d}",
            "visitDate": day.isoformat(),
        }
        return lines, ext, self._person(with_code=rng.random() < 0.4)

    def _inpatient(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        rng = self.rng
        kind = demo.KIND_INPATIENT
        stay = rng.randint(2, 15)
        admission = day - datetime.timedelta(days=stay)
        lines = []
        for item in self._items(plan, kind, demo.INPATIENT_CORE_ITEMS):
            quantity = Decimal(stay) if item.code in demo.PER_DAY_ITEMS else None
            lines.append(self._line(plan, item, quantity=quantity, inpatient=True))
        optional = self._items(plan, kind, demo.INPATIENT_OPTIONAL_ITEMS)
        lines += [
            self._line(plan, item, inpatient=True)
            for item in rng.sample(optional, min(len(optional), rng.randint(0, 3)))
        ]
        if rng.random() < 0.35:
            lines += [
                self._line(plan, item, inpatient=True) for item in self._items(plan, kind, demo.INPATIENT_SURGERY_ITEMS)
            ]
        if not lines:
            lines = [self._line(plan, rng.choice(self._items(plan, kind)), inpatient=True)]
        ext = {
            "visitNumber": f"ZY{admission:%Y%m%d}{rng.randint(1, 999):03d}",
            "department": rng.choice(demo.INPATIENT_DEPARTMENTS),
            "medicalInsuranceType": self._insurance(),
            "medicalInstitutionType": self._institution_type(plan),
            "admissionDate": admission.isoformat(),
            "dischargeDate": day.isoformat(),
            "hospitalDays": stay,
        }
        return lines, ext, self._person(with_code=True)

    def _medical_split(self, total: Decimal, insurance: str, *, inpatient: bool) -> dict[str, str]:
        """统筹 + 其他医保 + 个人账户 + 个人现金 = total, to the fen."""
        rng = self.rng
        fund = other = account = Decimal("0.00")
        if insurance != "自费":
            employee = insurance == "职工基本医疗保险"
            if inpatient:
                ratio = rng.uniform(0.75, 0.88) if employee else rng.uniform(0.6, 0.75)
            else:
                ratio = rng.uniform(0.5, 0.7) if employee else rng.uniform(0.4, 0.55)
            fund = round_to_fen(total * Decimal(str(round(ratio, 4))))
            if inpatient and total > 5000 and rng.random() < 0.4:
                # 大病保险 or medical assistance pays part of what is left.
                other = min(total - fund, round_to_fen((total - fund) * Decimal("0.3")))
            if employee:
                rest = total - fund - other
                account = rest if rng.random() < 0.5 else round_to_fen(rest * Decimal(str(round(rng.random(), 2))))
        cash = total - fund - other - account
        return {
            "fundPay": _money(fund),
            "otherFundPay": _money(other),
            "personalAccountPay": _money(account),
            "personalCashPay": _money(cash),
        }

    def _nontax(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        rng = self.rng
        items = self._items(plan, demo.KIND_NONTAX)
        count = min(len(items), _weighted_int(rng, ((1, 70), (2, 22), (3, 8))))
        lines = [self._line(plan, item) for item in sorted(rng.sample(items, count), key=lambda i: i.code)]
        ext: dict[str, Any] = {}
        groups = set(plan.spec.groups)
        if plan.spec.unit_type == demo.SCHOOL and groups & {"high_school", "college", "university"}:
            term = "秋季学期" if day.month >= 8 else "春季学期"
            ext = {
                "studentNumber": f"{day.year % 100:02d}{rng.randrange(10**6):06d}",
                "schoolTerm": f"{day.year}年{term}",
            }
        organisation_share = 0.5 if "urban" in groups else 0.2 if "realestate" in groups else 0.0
        return lines, ext, self._payer(plan, organisation_share=organisation_share, code_required=False)

    def _single(self, plan: UnitPlan, kind: str) -> list[Line]:
        return [self._line(plan, self.rng.choice(self._items(plan, kind)))]

    def _court(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        lines = self._single(plan, demo.KIND_COURT)
        region = plan.unit.region.code
        court = region[2:4] if region.endswith("00") else region[2:6]
        case_type = demo.COURT_CASE_TYPES.get(lines[0].item.code, "民初")
        ext = {"caseNumber": f"（{day.year}）湘{court}{case_type}{self.rng.randint(1, 12000)}号"}
        return lines, ext, self._payer(plan, organisation_share=0.3, code_required=True)

    def _fine(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        rng = self.rng
        lines = self._single(plan, demo.KIND_FINE)
        code = lines[0].item.code
        region = plan.unit.region
        serial = rng.randint(1, 99999)
        if code == "FM001":
            # Summary-procedure traffic decisions carry a 16-digit document number.
            decision = f"{region.code}{day:%y}{rng.randrange(10**8):08d}"
        elif code == "FM009":
            court = region.code[2:4] if region.code.endswith("00") else region.code[2:6]
            decision = f"（{day.year}）湘{court}司惩{rng.randint(1, 300)}号"
        else:
            short = region.name.removesuffix("市").removesuffix("区").removesuffix("县")
            decision = f"{short}市监罚决〔{day.year}〕{serial}号"
            if "urban_fine" in plan.spec.groups:
                decision = f"{short}城管罚决〔{day.year}〕{serial}号"
        organisation_share = 0.0 if code == "FM001" else 0.6
        return (
            lines,
            {"decisionNumber": decision},
            self._payer(plan, organisation_share=organisation_share, code_required=False),
        )

    def _transfer(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        lines = self._single(plan, demo.KIND_TRANSFER)
        return lines, {}, self._organisation(plan)

    def _donation(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        lines = self._single(plan, demo.KIND_DONATION)
        ext = {"donationPurpose": self.rng.choice(demo.DONATION_PURPOSES)}
        organisation_share = 1.0 if lines[0].item.code == "JZ003" else 0.3
        return lines, ext, self._payer(plan, organisation_share=organisation_share, code_required=True)

    def _membership(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        lines = self._single(plan, demo.KIND_MEMBERSHIP)
        personal = lines[0].item.code == "HF005"
        payer = self._person(with_code=False) if personal else self._organisation(plan)
        return lines, {"membershipPeriod": f"{day.year}年度"}, payer

    def _social_insurance(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        return self._single(plan, demo.KIND_SOCIAL_INSURANCE), {}, self._person(with_code=True)

    def _housing_fund(self, plan: UnitPlan, day: datetime.date) -> Drafted:
        rng = self.rng
        item = rng.choice(self._items(plan, demo.KIND_HOUSING_FUND))
        area = Decimal(rng.randint(5500, 16000)) / 100
        city = self._city(plan)
        county = plan.unit.region.name if plan.unit.region.level == Region.Level.COUNTY else ""
        district = county or rng.choice(city.counties)[1]
        address = (
            f"{city.name}{district}{rng.choice(demo.ROADS)}{rng.randint(1, 399)}号"
            f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(2, 33)}{rng.randint(1, 4):02d}室"
        )
        return (
            [self._line(plan, item, quantity=area)],
            {"houseAddress": address},
            self._person(with_code=rng.random() < 0.5),
        )


def _weighted_int(rng: random.Random, choices: Iterable[tuple[int, int]]) -> int:
    options = list(choices)
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]
