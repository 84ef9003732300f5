"""The demo province's onboarding (演示数据：单位接入与推广), for ``manage.py load_demo``.

``onboarding_demo_load()`` is idempotent: every row is keyed (application per unit and
kind, checklist item per unit, rollout row per unit, deadline per stage and region) and
written only when absent, with bulk inserts. It gives the demo:

* a new interface unit that has not applied yet, 430102004 长沙市芙蓉区妇幼保健院, with
  its unit administrator ``fuyou`` (password as every demo login), so that the whole
  workflow, from the connection application to production credentials, can be run in
  the browser;
* realistic states for the other demo units: most interface units live with production
  credentials (430102001 holds the published demo credential), a few in joint test with
  the checklist partly done, one connection application waiting for Changsha's
  confirmation, one go-live and one connection application waiting for the province,
  one rejected; networked units live by their bureau's decision, some with paper
  receipts stopped;
* province-wide deadlines (one already past) and an earlier one for Changsha, so that the
  rollout dashboard has something true to highlight.

The timeline is relative to the day of the first load. Secrets of the demo credentials
made here are random and already "handed over": nobody can see them; only the published
demo credential of 430102001 is usable.
"""

from __future__ import annotations

import datetime
import random
import secrets
from collections import Counter
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from issuance.paper.services import paper_outstanding_count, paper_stock_retire_unused
from zhongtai.accounts.models import Role
from zhongtai.accounts.services import user_create
from zhongtai.audit.services import Actor, audit_record
from zhongtai.gateway.crypto import secret_encrypt
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata import demo_data as demo
from zhongtai.masterdata.models import FeeItem, IssuingPoint, ReceiptKind, Region, Unit
from zhongtai.onboarding.models import (
    Application,
    CheckItem,
    CheckRecord,
    CredentialHandover,
    Deadline,
    Stage,
    UnitRollout,
)

ACTOR = Actor.system(demo.DEMO_ACTOR)
NEW_UNIT = demo._hospital("430102004", "长沙市芙蓉区妇幼保健院", "中国建设银行长沙芙蓉支行")
NEW_UNIT_ADMIN = "fuyou"
NEW_UNIT_ADMIN_NAME = "芙蓉区妇幼保健院信息科"
PROVINCE_APPROVER = "admin"


class Plan:
    """Where a demo interface unit stands (in order of the workflow)."""

    CONNECTION_SUBMITTED = "connection_submitted"
    CONNECTION_REJECTED = "connection_rejected"
    CONNECTION_CONFIRMED = "connection_confirmed"
    JOINT_TEST = "joint_test"
    GO_LIVE_CONFIRMED = "go_live_confirmed"
    LIVE = "live"
    PAPER_STOPPED = "paper_stopped"


# Interface units by code; those not named here have not applied yet.
INTERFACE_PLANS: dict[str, tuple[str, tuple[str, ...]]] = {
    # code: (plan, checklist items passed when in joint test)
    "430000001": (Plan.PAPER_STOPPED, ()),
    "430000005": (Plan.LIVE, ()),
    "430000006": (Plan.JOINT_TEST, ("issued", "fetched", "batch_issued", "reconciled")),
    "430100001": (Plan.PAPER_STOPPED, ()),
    demo.DEMO_API_UNIT_CODE: (Plan.LIVE, ()),
    "430181001": (Plan.CONNECTION_SUBMITTED, ()),  # waits for 长沙市 / 浏阳市 to confirm
    "430200001": (Plan.LIVE, ()),
    "430300001": (Plan.GO_LIVE_CONFIRMED, ()),  # waits for the province
    "430300002": (Plan.JOINT_TEST, ("issued", "fetched")),
    "430400001": (Plan.LIVE, ()),
    "430500001": (Plan.LIVE, ()),
    "430600001": (Plan.LIVE, ()),
    "430700001": (Plan.LIVE, ()),
    "430800001": (Plan.CONNECTION_CONFIRMED, ()),  # waits for the province
    "431000001": (Plan.LIVE, ()),
    "431200001": (Plan.LIVE, ()),
    "431300002": (Plan.JOINT_TEST, ()),
    "433100001": (Plan.CONNECTION_REJECTED, ()),
}
# Networked units live by their bureau's decision; some of them stopped paper receipts.
NETWORKED_LIVE = frozenset(
    {
        "430000002",
        "430000003",
        "430000004",
        "430100002",
        "430100003",
        "430100004",
        "430100005",
        "430100006",
        "430102002",
        "430102003",
        "430103001",
        "430181002",
        "430200002",
        "430400002",
        "430700002",
        "431000002",
    }
)
# 430102003 stays on paper: its demo unit administrator ``unitadmin`` can file the stop himself.
NETWORKED_PAPER_STOPPED = frozenset({"430000002", "430100003", "430102002", "430200002", "430400002"})

REJECTION_REASON = "技术联系电话与开发商备案信息不一致，请核实后重新提交。"


def _deadline_specs() -> list[tuple[str, int, str | None]]:
    """(stage, days from the first load, region code or None for the province)."""
    return [
        (Stage.APPLIED, -30, None),
        (Stage.JOINT_TEST, 30, None),
        (Stage.LIVE, 90, None),
        (Stage.PAPER_STOPPED, 180, None),
        (Stage.LIVE, -7, "430100"),  # 长沙市, the pilot city, was due earlier
    ]


@dataclass
class _Rows:
    applications: list[Application]
    handovers: list[tuple[Application, ApiCredential]]
    checks: list[CheckRecord]
    rollouts: list[UnitRollout]


def onboarding_demo_load() -> Counter[str]:
    """Load the demo's onboarding states (idempotent); returns what was created."""
    created: Counter[str] = Counter()
    with transaction.atomic():
        unit = _new_unit_ensure(created)
        _new_unit_admin_ensure(unit, created)
        _states_load(created)
        _deadlines_load(created)
        created = +created  # only what was created
        if created:
            audit_record(
                actor=ACTOR,
                action="onboarding.demo_load",
                object_type="demo",
                object_id="onboarding",
                data=dict(created),
            )
    return created


# --- The unit that has not applied yet ----------------------------------------------------


def _new_unit_ensure(created: Counter[str]) -> Unit:
    existing = Unit.objects.filter(code=NEW_UNIT.code).first()
    if existing is not None:
        return existing
    # Imported here: the command module imports this one.
    from zhongtai.masterdata.management.commands.load_demo import credit_code_for

    region = Region.objects.get(code=NEW_UNIT.region_code)
    rng = random.Random(NEW_UNIT.code)
    unit = Unit(
        code=NEW_UNIT.code,
        name=NEW_UNIT.name,
        credit_code=credit_code_for(NEW_UNIT),
        unit_type=NEW_UNIT.unit_type,
        connection_mode=NEW_UNIT.connection_mode,
        region=region,
        valid_from=NEW_UNIT.valid_from,
        payee_name=NEW_UNIT.name,
        payee_account=f"{rng.randint(1, 9)}{rng.randrange(10**18):018d}",
        payee_bank=NEW_UNIT.bank,
        contact_person=rng.choice(demo.SURNAMES) + rng.choice(demo.GIVEN_NAMES),
        contact_phone=f"0731-8{rng.randrange(10**7):07d}",
    )
    unit.full_clean()
    unit.save()
    unit.allowed_kinds.set(ReceiptKind.objects.filter(code__in=NEW_UNIT.kinds))
    wanted = [
        spec.code for spec in demo.FEE_ITEMS if spec.group in NEW_UNIT.groups and set(spec.kinds) & set(NEW_UNIT.kinds)
    ]
    unit.allowed_fee_items.set(FeeItem.objects.filter(code__in=wanted))
    IssuingPoint.objects.bulk_create([IssuingPoint(unit=unit, code=p.code, name=p.name) for p in NEW_UNIT.points])
    created["unit"] += 1
    return unit


def _new_unit_admin_ensure(unit: Unit, created: Counter[str]) -> None:
    if get_user_model().objects.filter(username=NEW_UNIT_ADMIN).exists():
        return
    user_create(
        username=NEW_UNIT_ADMIN,
        password=demo.DEMO_PASSWORD,
        role=Role.UNIT_ADMIN,
        display_name=NEW_UNIT_ADMIN_NAME,
        unit=unit,
        actor=ACTOR,
    )
    created["user"] += 1


# --- The other units' states ---------------------------------------------------------------


def _bureau_username(unit: Unit) -> str:
    """Who confirmed for the unit: the city bureau's demo login (province-level units: the province)."""
    if unit.region.level == Region.Level.PROVINCE:
        return "hunan"
    return "changsha" if unit.region.code.startswith("4301") else f"czj{unit.region.code[:4]}00"


def _states_load(created: Counter[str]) -> None:
    units = {
        u.code: u for u in Unit.objects.filter(code__in=set(INTERFACE_PLANS) | NETWORKED_LIVE).select_related("region")
    }
    have = set(Application.objects.filter(unit__in=units.values()).values_list("unit__code", flat=True))
    have |= set(UnitRollout.objects.filter(unit__in=units.values()).values_list("unit__code", flat=True))
    now = timezone.now()
    rows = _Rows(applications=[], handovers=[], checks=[], rollouts=[])
    for code in sorted(set(units) - have):
        unit = units[code]
        rng = random.Random(f"onboarding:{code}")
        start = now - datetime.timedelta(days=rng.randint(100, 160), hours=rng.randint(0, 8))
        if code in INTERFACE_PLANS:
            plan, items = INTERFACE_PLANS[code]
            _interface_unit(rows, unit, plan, items, start, rng)
        else:
            _networked_unit(rows, unit, start, rng)
    if not rows.rollouts:
        return
    # Paper stops retire what is left of the unit's paper stock, as the confirmation does.
    for application in rows.applications:
        if application.kind == Application.Kind.PAPER_STOP:
            application.paper_retired_count = paper_stock_retire_unused(
                unit=application.unit, actor=ACTOR, reason="停用纸质票据核销清理（演示数据）"
            )
    retired = {a.unit_id: a.paper_retired_count for a in rows.applications if a.kind == Application.Kind.PAPER_STOP}
    for rollout in rows.rollouts:
        if rollout.paper_stopped_at is not None:
            rollout.paper_retired_count = retired.get(rollout.unit_id, 0)
    Application.objects.bulk_create(rows.applications)
    _credentials_load(rows, now)
    CheckRecord.objects.bulk_create(rows.checks)
    UnitRollout.objects.bulk_create(rows.rollouts)
    created["application"] += len(rows.applications)
    created["check"] += len(rows.checks)
    created["rollout"] += len(rows.rollouts)
    created["handover"] += len(rows.handovers)


def _at(start: datetime.datetime, days: int, rng: random.Random) -> datetime.datetime:
    return start + datetime.timedelta(days=days, hours=rng.randint(1, 7), minutes=rng.randint(0, 59))


_VENDORS = (
    "东软集团股份有限公司",
    "卫宁健康科技集团股份有限公司",
    "创业慧康科技股份有限公司",
    "万达信息股份有限公司",
    "湖南创星科技股份有限公司",
)


def _connection(unit: Unit, rng: random.Random, submitted: datetime.datetime) -> Application:
    hospital = unit.unit_type == Unit.UnitType.HOSPITAL
    return Application(
        unit=unit,
        kind=Application.Kind.CONNECTION,
        filed_by=f"{unit.code}-admin",
        submitted_at=submitted,
        system_name="医院信息系统（HIS）" if hospital else "统一缴费平台",
        system_vendor=rng.choice(_VENDORS) if hospital else "正方软件股份有限公司",
        tech_contact=rng.choice(demo.SURNAMES) + rng.choice(demo.GIVEN_NAMES),
        tech_phone=f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
        expected_daily_volume=rng.choice((800, 1500, 3000, 6000, 12000)) if hospital else rng.choice((50, 200, 600)),
        planned_date=(submitted + datetime.timedelta(days=60)).date(),
        key_custody=Application.KeyCustody.UNIT_HELD if rng.random() < 0.3 else Application.KeyCustody.HOSTED,
    )


def _interface_unit(
    rows: _Rows, unit: Unit, plan: str, items: tuple[str, ...], start: datetime.datetime, rng: random.Random
) -> None:
    bureau = _bureau_username(unit)
    approver = PROVINCE_APPROVER
    rollout = UnitRollout(unit=unit, applied_at=start)
    rows.rollouts.append(rollout)
    connection = _connection(unit, rng, start)
    rows.applications.append(connection)
    if plan == Plan.CONNECTION_SUBMITTED:
        connection.submitted_at = rollout.applied_at = timezone.now() - datetime.timedelta(days=2, hours=3)
        return
    connection.status = Application.Status.CONFIRMED
    connection.confirmed_at, connection.confirmed_by = _at(start, 2, rng), bureau
    if plan == Plan.CONNECTION_REJECTED:
        connection.status = Application.Status.REJECTED
        connection.confirmed_at, connection.confirmed_by = None, ""
        connection.rejected_at, connection.rejected_by = _at(start, 3, rng), bureau
        connection.rejection_reason = REJECTION_REASON
        return
    if plan == Plan.CONNECTION_CONFIRMED:
        connection.submitted_at = rollout.applied_at = timezone.now() - datetime.timedelta(days=6)
        connection.confirmed_at = timezone.now() - datetime.timedelta(days=1, hours=5)
        return
    connection.status = Application.Status.APPROVED
    connection.approved_at, connection.approved_by = _at(start, 6, rng), approver
    rollout.joint_test_at = connection.approved_at
    rows.handovers.append((connection, _credential(unit, sandbox=True, at=connection.approved_at)))
    passed = list(items) if plan == Plan.JOINT_TEST else [item.value for item in CheckItem]
    for offset, item in enumerate(passed):
        first = _at(start, 8 + 2 * offset, rng)
        rows.checks.append(
            CheckRecord(
                unit=unit,
                item=item,
                first_passed_at=first,
                last_passed_at=first + datetime.timedelta(days=rng.randint(1, 12)),
                count=rng.randint(3, 240),
                last_app_id="",
            )
        )
    if plan == Plan.JOINT_TEST:
        return
    go_live = Application(
        unit=unit,
        kind=Application.Kind.GO_LIVE,
        filed_by=f"{unit.code}-admin",
        submitted_at=_at(start, 30, rng),
        planned_date=(start + datetime.timedelta(days=45)).date(),
        status=Application.Status.CONFIRMED,
        confirmed_at=_at(start, 32, rng),
        confirmed_by=bureau,
    )
    rows.applications.append(go_live)
    if plan == Plan.GO_LIVE_CONFIRMED:
        go_live.submitted_at = timezone.now() - datetime.timedelta(days=4)
        go_live.planned_date = timezone.localdate() + datetime.timedelta(days=14)
        go_live.confirmed_at = timezone.now() - datetime.timedelta(days=2)
        return
    go_live.status = Application.Status.APPROVED
    go_live.approved_at, go_live.approved_by = _at(start, 35, rng), approver
    rollout.live_at, rollout.live_basis, rollout.live_by = go_live.approved_at, "go_live_approval", approver
    existing = ApiCredential.objects.filter(app_id=demo.DEMO_API_APP_ID, unit=unit).first()
    rows.handovers.append((go_live, existing or _credential(unit, sandbox=False, at=go_live.approved_at)))
    if plan == Plan.PAPER_STOPPED:
        _paper_stop(rows, unit, rollout, start, rng, bureau)


def _networked_unit(rows: _Rows, unit: Unit, start: datetime.datetime, rng: random.Random) -> None:
    bureau = _bureau_username(unit)
    live_at = _at(start, 20, rng)
    rollout = UnitRollout(unit=unit, live_at=live_at, live_basis="bureau_decision", live_by=bureau)
    rows.rollouts.append(rollout)
    if unit.code in NETWORKED_PAPER_STOPPED:
        _paper_stop(rows, unit, rollout, start, rng, bureau)


def _paper_stop(
    rows: _Rows, unit: Unit, rollout: UnitRollout, start: datetime.datetime, rng: random.Random, bureau: str
) -> None:
    if paper_outstanding_count(unit=unit):
        return  # a live paper copy must be recovered first: this demo unit keeps paper for now
    confirmed = _at(start, 60, rng)
    rows.applications.append(
        Application(
            unit=unit,
            kind=Application.Kind.PAPER_STOP,
            filed_by=f"{unit.code}-admin",
            submitted_at=_at(start, 55, rng),
            planned_date=confirmed.date(),
            status=Application.Status.CONFIRMED,
            confirmed_at=confirmed,
            confirmed_by=bureau,
            paper_retired_count=0,
        )
    )
    rollout.paper_stopped_at = confirmed
    rollout.paper_retired_count = 0


def _credential(unit: Unit, *, sandbox: bool, at: datetime.datetime) -> ApiCredential:
    """A credential whose secret was handed over long ago: random, so nobody can use it."""
    return ApiCredential(
        unit=unit,
        app_id=f"ak{secrets.token_hex(10)}",
        secret_encrypted=secret_encrypt(secrets.token_urlsafe(32)),
        label=f"{'联调测试' if sandbox else '生产'}凭证（演示数据）",
        scope=ApiCredential.Scope.ISSUE,
        sandbox=sandbox,
        created_by=PROVINCE_APPROVER,
    )


def _credentials_load(rows: _Rows, now: datetime.datetime) -> None:
    ApiCredential.objects.bulk_create([c for _, c in rows.handovers if c.pk is None])
    CredentialHandover.objects.bulk_create(
        [
            CredentialHandover(
                application=application,
                credential=credential,
                sandbox=credential.sandbox,
                secret_encrypted="",
                revealed_at=application.approved_at + datetime.timedelta(hours=2),
                revealed_by=f"{application.unit.code}-admin",
            )
            for application, credential in rows.handovers
        ]
    )


# --- Deadlines -------------------------------------------------------------------------------------


def _deadlines_load(created: Counter[str]) -> None:
    today = timezone.localdate()
    regions = {r.code: r for r in Region.objects.filter(code__in=["430100"])}
    existing = {(d.stage, d.region.code if d.region else None) for d in Deadline.objects.select_related("region")}
    new = [
        Deadline(
            stage=stage,
            due_date=today + datetime.timedelta(days=days),
            region=regions.get(region_code) if region_code else None,
            set_by=PROVINCE_APPROVER,
        )
        for stage, days, region_code in _deadline_specs()
        if (stage, region_code) not in existing and (region_code is None or region_code in regions)
    ]
    Deadline.objects.bulk_create(new)
    created["deadline"] += len(new)
