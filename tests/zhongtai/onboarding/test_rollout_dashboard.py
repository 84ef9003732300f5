"""The rollout dashboard (推广进度): counts per child region and stage, deadlines with overdue
units highlighted, the drill-down to a region's units, and the province's deadline form."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from tests.support.factories import RegionFactory, UnitFactory
from tests.zhongtai.onboarding.conftest import login, scope
from zhongtai.audit.models import AuditEvent
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import Region, Unit
from zhongtai.onboarding.errors import OnboardingError
from zhongtai.onboarding.models import Deadline, Stage, UnitRollout
from zhongtai.onboarding.selectors import rollout_dashboard
from zhongtai.onboarding.services import deadline_set

pytestmark = pytest.mark.django_db
INTERFACE, NETWORKED = Unit.ConnectionMode.INTERFACE, Unit.ConnectionMode.NETWORKED


def ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def rollout(unit: Unit, stage: Stage) -> None:
    """Test data: the unit's rollout row as the services leave it at ``stage``."""
    row = UnitRollout(unit=unit)
    if unit.connection_mode == INTERFACE and stage != Stage.REGISTERED:
        row.applied_at = ago(60)
        if stage in (Stage.JOINT_TEST, Stage.LIVE, Stage.PAPER_STOPPED):
            row.joint_test_at = ago(50)
    if stage in (Stage.LIVE, Stage.PAPER_STOPPED):
        row.live_at = ago(30)
        row.live_basis = "go_live_approval" if unit.connection_mode == INTERFACE else "bureau_decision"
    if stage == Stage.PAPER_STOPPED:
        row.paper_stopped_at, row.paper_retired_count = ago(10), 0
    if stage != Stage.REGISTERED:
        row.save()


@pytest.fixture
def province_units(
    unit: Unit, networked_unit: Unit, other_unit: Unit, changsha: Region, furong: Region
) -> dict[str, Unit]:
    """Changsha: Furong (430102001 live, 430102002 paper stopped), Tianxin (430103001 applied, one
    cancelled unit), city level (the school, an interface unit that never applied).
    Zhuzhou: one in joint test, one interface unit that never applied, one networked.
    One live unit directly under the province."""
    province = changsha.parent
    tianxin = RegionFactory(code="430103", name="天心区", level=Region.Level.COUNTY, parent=changsha)
    zhuzhou = RegionFactory(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    units = {
        "430102001": unit,
        "430102002": networked_unit,
        "430100901": other_unit,
        "430103001": UnitFactory(code="430103001", region=tianxin, connection_mode=INTERFACE),
        "430103002": UnitFactory(code="430103002", region=tianxin, status=Unit.Status.CANCELLED),
        "430200001": UnitFactory(code="430200001", region=zhuzhou, connection_mode=INTERFACE),
        "430200002": UnitFactory(code="430200002", region=zhuzhou, connection_mode=NETWORKED),
        "430200003": UnitFactory(code="430200003", region=zhuzhou, connection_mode=INTERFACE),
        "430000001": UnitFactory(code="430000001", region=province, connection_mode=INTERFACE),
    }
    for code, stage in {
        "430102001": Stage.LIVE,
        "430102002": Stage.PAPER_STOPPED,
        "430103001": Stage.APPLIED,
        "430200001": Stage.JOINT_TEST,
        "430000001": Stage.LIVE,
    }.items():
        rollout(units[code], stage)
    today = timezone.localdate()
    Deadline.objects.create(stage=Stage.APPLIED, due_date=today - datetime.timedelta(days=1), set_by="p")
    Deadline.objects.create(stage=Stage.LIVE, due_date=today + datetime.timedelta(days=30), set_by="p")
    Deadline.objects.create(stage=Stage.LIVE, due_date=today - datetime.timedelta(days=10), region=changsha, set_by="p")
    return units


def cells(row: Any) -> dict[str, tuple[int, int, int]]:
    return {cell.stage.value: (cell.reached, cell.expected, cell.overdue) for cell in row.cells}


def test_the_province_sees_one_row_per_city_and_the_province_level(
    province_units: dict[str, Unit], province_admin: Any, django_assert_max_num_queries: Any
) -> None:
    # when the province opens the dashboard (a fixed number of queries, whatever the number of units)
    province_scope = scope(province_admin)
    with django_assert_max_num_queries(4):
        dashboard = rollout_dashboard(scope=province_scope, today=timezone.localdate())
    rows = {row.label: row for row in dashboard.rows}

    # then Changsha, Zhuzhou and the province-level units each have a row, the cancelled unit is not counted
    assert list(rows) == ["长沙市", "株洲市", "省本级"]
    assert (rows["长沙市"].registered, rows["长沙市"].interface) == (4, 3)
    # reached / expected / overdue: the province-wide "applied" deadline has passed for the school, and
    # Changsha's own live deadline for the school and 430103001
    assert cells(rows["长沙市"]) == {
        "applied": (2, 3, 1),
        "joint_test": (1, 3, 0),
        "live": (2, 4, 2),
        "paper_stopped": (1, 4, 0),
    }
    # Zhuzhou: the province-wide "applied" deadline passed with 430200003 not applied
    assert cells(rows["株洲市"]) == {
        "applied": (1, 2, 1),
        "joint_test": (1, 2, 0),
        "live": (0, 3, 0),
        "paper_stopped": (0, 3, 0),
    }
    assert cells(rows["省本级"])["live"] == (1, 1, 0)
    assert cells(dashboard.total) == {
        "applied": (4, 6, 2),
        "joint_test": (3, 6, 0),
        "live": (3, 8, 2),
        "paper_stopped": (1, 8, 0),
    }
    # and each row shows the deadline that applies to it
    live = {row.label: row.cells[2] for row in dashboard.rows}
    assert live["长沙市"].deadline.region is not None and live["长沙市"].late
    assert live["株洲市"].deadline.region is None and not live["株洲市"].deadline_passed


def test_the_page_highlights_what_is_overdue(province_units: dict[str, Unit], province_admin: Any) -> None:
    page = login(province_admin).get("/workbench/rollout/")
    html = page.content.decode()
    assert page.status_code == 200
    # Changsha applied and live, Zhuzhou applied, and the total's applied and live
    assert html.count('data-testid="overdue"') == 5
    assert "逾期 2 家" in html and "逾期 1 家" in html
    assert page.context["deadline_form"] is not None


def test_a_city_sees_its_counties_and_its_own_units(province_units: dict[str, Unit], city_staff: Any) -> None:
    dashboard = rollout_dashboard(scope=scope(city_staff), today=timezone.localdate())
    rows = {row.label: row for row in dashboard.rows}
    assert list(rows) == ["芙蓉区", "天心区", "市本级"]
    assert cells(rows["芙蓉区"])["paper_stopped"] == (1, 2, 0)
    assert cells(rows["天心区"])["applied"] == (1, 1, 0)
    assert rows["市本级"].direct and cells(rows["市本级"])["live"] == (0, 1, 1)
    assert cells(rows["市本级"])["applied"] == (0, 1, 1)
    assert dashboard.total.registered == 4
    page = login(city_staff).get("/workbench/rollout/")
    assert page.status_code == 200 and "deadline_form" not in page.context


def test_a_county_sees_itself(province_units: dict[str, Unit], county_staff: Any) -> None:
    dashboard = rollout_dashboard(scope=scope(county_staff), today=timezone.localdate())
    assert [row.label for row in dashboard.rows] == ["本级"]
    assert dashboard.total.registered == 2


def test_the_drill_down_lists_a_regions_units_with_their_stage(
    province_units: dict[str, Unit], city_staff: Any
) -> None:
    client = login(city_staff)
    page = client.get("/workbench/rollout/regions/430100/")
    units = {u.code: u.stage for u in page.context["page"].object_list}
    assert units == {
        "430100901": "registered",
        "430102001": "live",
        "430102002": "paper_stopped",
        "430103001": "applied",
    }
    assert {u.code for u in client.get("/workbench/rollout/regions/430100/?stage=live").context["page"]} == {
        "430102001"
    }
    overdue = {u.code: u for u in client.get("/workbench/rollout/regions/430100/?overdue=1").context["page"]}
    assert set(overdue) == {"430100901", "430103001"}
    assert overdue["430100901"].overdue_applied and overdue["430100901"].overdue_live
    assert not overdue["430103001"].overdue_applied and overdue["430103001"].overdue_live
    assert {u.code for u in client.get("/workbench/rollout/regions/430100/?direct=1").context["page"]} == {"430100901"}


def test_the_dashboard_is_scoped(
    province_units: dict[str, Unit], county_staff: Any, city_staff: Any, unit_admin: Any, auditor: Any
) -> None:
    assert login(county_staff).get("/workbench/rollout/regions/430100/").status_code == 404
    assert login(city_staff).get("/workbench/rollout/regions/430200/").status_code == 404
    assert login(city_staff).get("/workbench/rollout/regions/999999/").status_code == 404
    assert login(unit_admin).get("/workbench/rollout/").status_code == 403
    assert login(auditor).get("/workbench/rollout/").status_code == 200
    assert login(auditor).get("/workbench/rollout/regions/430102/").status_code == 200


def test_the_province_sets_and_moves_deadlines(province_admin: Any, changsha: Region) -> None:
    client = login(province_admin)
    due = timezone.localdate() + datetime.timedelta(days=60)

    # when the province sets the province-wide go-live deadline, then moves it
    client.post("/workbench/rollout/deadlines", {"stage": "live", "due_date": due.isoformat()})
    client.post(
        "/workbench/rollout/deadlines", {"stage": "live", "due_date": (due + datetime.timedelta(days=5)).isoformat()}
    )
    # and sets an earlier one for Changsha
    client.post("/workbench/rollout/deadlines", {"stage": "live", "due_date": due.isoformat(), "region": changsha.pk})

    # then there is one per stage and region, and every change is audited
    deadlines = {(d.region_id, d.due_date) for d in Deadline.objects.all()}
    assert deadlines == {(None, due + datetime.timedelta(days=5)), (changsha.pk, due)}
    assert AuditEvent.objects.filter(action="onboarding.deadline_set").count() == 3

    # and a deadline can be removed
    regional = Deadline.objects.get(region=changsha)
    client.post(f"/workbench/rollout/deadlines/{regional.pk}/delete")
    assert not Deadline.objects.filter(region=changsha).exists()


def test_only_the_province_sets_deadlines(city_staff: Any, auditor: Any, province_admin: Any, province: Region) -> None:
    data = {"stage": "live", "due_date": timezone.localdate().isoformat()}
    assert login(city_staff).post("/workbench/rollout/deadlines", data).status_code == 403
    assert login(auditor).post("/workbench/rollout/deadlines", data).status_code == 403
    assert not Deadline.objects.exists()
    with pytest.raises(ApplicationError) as caught:
        deadline_set(scope=scope(province_admin), stage="live", due_date=timezone.localdate(), region=province)
    assert caught.value.code == OnboardingError.INVALID_DEADLINE
    bad = login(province_admin).post("/workbench/rollout/deadlines", {"stage": "registered", "due_date": "2026-01-01"})
    assert bad.status_code == 400 and not Deadline.objects.exists()
