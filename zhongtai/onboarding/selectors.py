"""Reads of the onboarding workflow, every one through the user's scope.

The rollout dashboard is computed with grouped aggregate queries: one query counts the
units of every child region per stage, with the units past a deadline counted by
filtered aggregates; nothing loops over units in Python.
"""

from __future__ import annotations

import datetime
import functools
import operator
from dataclasses import dataclass, field

from django.db.models import BooleanField, Case, CharField, Count, ExpressionWrapper, Q, QuerySet, Value, When
from django.http import Http404

from zhongtai.accounts.scoping import Permission, Scope
from zhongtai.masterdata.models import Region, Unit
from zhongtai.onboarding.models import (
    DEADLINE_STAGES,
    INTERFACE_ONLY_STAGES,
    Application,
    CheckItem,
    CheckRecord,
    Deadline,
    Stage,
    UnitRollout,
)

# The rollout field that says a unit reached a stage.
STAGE_FIELD = {
    Stage.APPLIED: "rollout__applied_at",
    Stage.JOINT_TEST: "rollout__joint_test_at",
    Stage.LIVE: "rollout__live_at",
    Stage.PAPER_STOPPED: "rollout__paper_stopped_at",
}


# --- Applications -------------------------------------------------------------------------


def application_get_or_404(*, scope: Scope, pk: int | str) -> Application:
    """The application if the user's scope covers its unit; another unit's or region's is a 404."""
    application = (
        scope.filter_by_unit(Application.objects.select_related("unit", "unit__region")).filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if application is None:
        raise Http404("申请不存在。")
    return application


def _awaiting_condition(scope: Scope) -> Q | None:
    """Applications waiting for this user's decision (see zhongtai.onboarding.rules)."""
    if scope.read_only or not scope.is_bureau:
        return None
    parts = []
    if scope.can(Permission.CONFIRM_APPLICATION):
        level = (
            Q(unit__region__level=Region.Level.PROVINCE)
            if scope.is_province
            else ~Q(unit__region__level=Region.Level.PROVINCE)
        )
        parts.append(Q(status=Application.Status.SUBMITTED) & level & ~Q(filed_by=scope.username))
    if scope.can(Permission.APPROVE_APPLICATION) and scope.is_province:
        parts.append(
            Q(status=Application.Status.CONFIRMED)
            & ~Q(kind=Application.Kind.PAPER_STOP)
            & ~Q(confirmed_by=scope.username)
        )
    return functools.reduce(operator.or_, parts) if parts else None


def _applications(scope: Scope) -> QuerySet[Application]:
    return scope.filter_by_unit(Application.objects.select_related("unit", "unit__region"))


def applications_awaiting(*, scope: Scope) -> QuerySet[Application]:
    condition = _awaiting_condition(scope)
    if condition is None:
        return Application.objects.none()
    return _applications(scope).filter(condition).order_by("submitted_at", "id")


def application_list(
    *, scope: Scope, kind: str = "", status: str = "", query: str = "", exclude_awaiting: bool = False
) -> QuerySet[Application]:
    """Applications in scope, newest first, filtered by kind, status and unit code or name."""
    applications = _applications(scope)
    if exclude_awaiting and (condition := _awaiting_condition(scope)) is not None:
        applications = applications.exclude(condition)
    if kind in Application.Kind.values:
        applications = applications.filter(kind=kind)
    if status in Application.Status.values:
        applications = applications.filter(status=status)
    if query := query.strip():
        applications = applications.filter(Q(unit__code__startswith=query) | Q(unit__name__contains=query))
    return applications.order_by("-submitted_at", "-id")


def applications_of_unit(*, scope: Scope, unit: Unit) -> dict[str, Application]:
    """The unit's applications by kind (at most one each)."""
    return {
        a.kind: a for a in _applications(scope).filter(unit=unit).select_related("handover", "handover__credential")
    }


# --- Checklist -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistRow:
    item: CheckItem
    record: CheckRecord | None

    @property
    def passed(self) -> bool:
        return self.record is not None


def checklist_for(*, unit: Unit) -> list[ChecklistRow]:
    records = {r.item: r for r in CheckRecord.objects.filter(unit=unit)}
    return [ChecklistRow(item=item, record=records.get(item.value)) for item in CheckItem]


def checklist_missing(*, unit: Unit) -> list[str]:
    """The checklist items the unit has not passed yet, in checklist order."""
    passed = set(CheckRecord.objects.filter(unit=unit).values_list("item", flat=True))
    return [item.value for item in CheckItem if item.value not in passed]


def unit_rollout(*, unit: Unit) -> UnitRollout | None:
    return UnitRollout.objects.filter(pk=unit.pk).first()


# --- Deadlines -------------------------------------------------------------------------------


def deadlines_all() -> list[Deadline]:
    return list(Deadline.objects.select_related("region").order_by("stage", "region__code"))


def _deadline_region_contains(outer: Deadline, inner: Deadline) -> bool:
    """``inner`` is more specific than ``outer`` and lies inside it."""
    if inner.region is None or inner.pk == outer.pk:
        return False
    return outer.region is None or (outer.region.contains(inner.region) and outer.region.pk != inner.region.pk)


def deadline_for_region(deadlines: list[Deadline], stage: str, region: Region) -> Deadline | None:
    """The deadline of ``stage`` that applies to ``region``: its own, else its nearest ancestor's."""
    applicable = [d for d in deadlines if d.stage == stage and (d.region is None or d.region.contains(region))]
    return max(applicable, key=lambda d: len(d.region.code_prefix) if d.region else 0, default=None)


def _overdue_condition(deadlines: list[Deadline], stage: str, today: datetime.date) -> Q | None:
    """Units whose applicable deadline for ``stage`` has passed and that have not reached it.

    A unit's applicable deadline is the most specific one whose region contains it, so a
    passed deadline covers its region minus the regions inside it with their own deadline.
    """
    same = [d for d in deadlines if d.stage == stage]
    parts = []
    for deadline in same:
        if deadline.due_date >= today:
            continue
        covered = (
            Q(pk__isnull=False) if deadline.region is None else Q(region__code__startswith=deadline.region.code_prefix)
        )
        for inner in same:
            if _deadline_region_contains(deadline, inner):
                assert inner.region is not None
                covered &= ~Q(region__code__startswith=inner.region.code_prefix)
        parts.append(covered)
    if not parts:
        return None
    condition = functools.reduce(operator.or_, parts) & Q(**{f"{STAGE_FIELD[Stage(stage)]}__isnull": True})
    if stage in INTERFACE_ONLY_STAGES:
        condition &= Q(connection_mode=Unit.ConnectionMode.INTERFACE)
    return condition


# --- Rollout dashboard ---------------------------------------------------------------------


@dataclass
class StageCell:
    stage: Stage
    reached: int
    expected: int
    overdue: int
    deadline: Deadline | None
    today: datetime.date

    @property
    def deadline_passed(self) -> bool:
        return self.deadline is not None and self.deadline.due_date < self.today

    @property
    def late(self) -> bool:
        """Past a deadline with units still short of it (highlighted)."""
        return self.overdue > 0


@dataclass
class DashboardRow:
    region: Region
    label: str
    direct: bool  # the units directly at the viewer's own region (本级)
    registered: int = 0
    interface: int = 0
    cells: list[StageCell] = field(default_factory=list)


@dataclass
class Dashboard:
    region: Region
    rows: list[DashboardRow]
    total: DashboardRow
    deadlines: list[Deadline]
    today: datetime.date
    stages: tuple[Stage, ...] = DEADLINE_STAGES


def scope_region(scope: Scope) -> Region:
    """The region a bureau user (or regional auditor) works for."""
    if scope.region_prefix is None:
        raise Http404("仅财政部门用户可以查看推广进度。")
    return Region.objects.get(code=scope.region_prefix.ljust(6, "0"))


def _stage_counts() -> dict[str, Count]:
    counts = {
        "registered": Count("pk"),
        "interface": Count("pk", filter=Q(connection_mode=Unit.ConnectionMode.INTERFACE)),
    }
    for stage, path in STAGE_FIELD.items():
        counts[f"reached_{stage.value}"] = Count("pk", filter=Q(**{f"{path}__isnull": False}))
    return counts


def rollout_dashboard(*, scope: Scope, today: datetime.date) -> Dashboard:
    """One row per child region of the user's region (plus its own units, 本级) and a total."""
    region = scope_region(scope)
    children = list(Region.objects.filter(parent=region).order_by("code"))
    deadlines = deadlines_all()
    group = Case(
        *[When(region__code__startswith=child.code_prefix, then=Value(child.code)) for child in children],
        default=Value(region.code),
        output_field=CharField(),
    )
    aggregates = _stage_counts()
    for stage in DEADLINE_STAGES:
        condition = _overdue_condition(deadlines, stage, today)
        if condition is not None:
            aggregates[f"overdue_{stage.value}"] = Count("pk", filter=condition)
    figures = {
        row["group"]: row
        for row in scope.units()
        .exclude(status=Unit.Status.CANCELLED)
        .annotate(group=group)
        .values("group")
        .annotate(**aggregates)
        .order_by()
    }
    own_label = {Region.Level.PROVINCE: "省本级", Region.Level.CITY: "市本级", Region.Level.COUNTY: "本级"}[
        region.level
    ]
    rows = [
        _row(
            region=child,
            label=child.name,
            direct=False,
            figures=figures.get(child.code),
            deadlines=deadlines,
            today=today,
        )
        for child in children
    ]
    if region.code in figures or not children:
        rows.append(
            _row(
                region=region,
                label=own_label,
                direct=True,
                figures=figures.get(region.code),
                deadlines=deadlines,
                today=today,
            )
        )
    total = _total(region, rows, deadlines, today)
    return Dashboard(region=region, rows=rows, total=total, deadlines=deadlines, today=today)


def _expected(stage: Stage, registered: int, interface: int) -> int:
    return interface if stage in INTERFACE_ONLY_STAGES else registered


def _row(
    *,
    region: Region,
    label: str,
    direct: bool,
    figures: dict[str, int] | None,
    deadlines: list[Deadline],
    today: datetime.date,
) -> DashboardRow:
    figures = figures or {}
    row = DashboardRow(
        region=region,
        label=label,
        direct=direct,
        registered=figures.get("registered", 0),
        interface=figures.get("interface", 0),
    )
    for stage in DEADLINE_STAGES:
        row.cells.append(
            StageCell(
                stage=stage,
                reached=figures.get(f"reached_{stage.value}", 0),
                expected=_expected(stage, row.registered, row.interface),
                overdue=figures.get(f"overdue_{stage.value}", 0),
                deadline=deadline_for_region(deadlines, stage, region),
                today=today,
            )
        )
    return row


def _total(region: Region, rows: list[DashboardRow], deadlines: list[Deadline], today: datetime.date) -> DashboardRow:
    total = DashboardRow(region=region, label="合计", direct=False)
    total.registered = sum(r.registered for r in rows)
    total.interface = sum(r.interface for r in rows)
    for index, stage in enumerate(DEADLINE_STAGES):
        total.cells.append(
            StageCell(
                stage=stage,
                reached=sum(r.cells[index].reached for r in rows),
                expected=_expected(stage, total.registered, total.interface),
                overdue=sum(r.cells[index].overdue for r in rows),
                deadline=deadline_for_region(deadlines, stage, region),
                today=today,
            )
        )
    return total


# --- Drill-down ----------------------------------------------------------------------------------


def region_in_scope_or_404(*, scope: Scope, code: str) -> Region:
    region = scope.regions().filter(code=code).first() if scope.is_bureau else None
    if region is None:
        raise Http404("区划不存在。")
    return region


STAGE_OF_UNIT = Case(
    When(rollout__paper_stopped_at__isnull=False, then=Value(Stage.PAPER_STOPPED.value)),
    When(rollout__live_at__isnull=False, then=Value(Stage.LIVE.value)),
    When(rollout__joint_test_at__isnull=False, then=Value(Stage.JOINT_TEST.value)),
    When(rollout__applied_at__isnull=False, then=Value(Stage.APPLIED.value)),
    default=Value(Stage.REGISTERED.value),
    output_field=CharField(),
)


def rollout_units(
    *,
    scope: Scope,
    region: Region,
    today: datetime.date,
    direct_only: bool = False,
    stage: str = "",
    overdue: bool = False,
) -> QuerySet[Unit]:
    """The units of a region (or only those directly at it) with their stage and overdue stages."""
    units = scope.units().exclude(status=Unit.Status.CANCELLED)
    units = units.filter(region=region) if direct_only else units.filter(region__code__startswith=region.code_prefix)
    deadlines = deadlines_all()
    flags = {}
    for deadline_stage in DEADLINE_STAGES:
        condition = _overdue_condition(deadlines, deadline_stage, today)
        flags[f"overdue_{deadline_stage.value}"] = ExpressionWrapper(
            condition if condition is not None else Q(pk__isnull=True), output_field=BooleanField()
        )
    units = units.select_related("region", "rollout").annotate(stage=STAGE_OF_UNIT, **flags)
    if stage in Stage.values:
        units = units.filter(stage=stage)
    if overdue:
        units = units.filter(functools.reduce(operator.or_, [Q(**{name: True}) for name in flags]))
    return units.order_by("region__code", "code")
