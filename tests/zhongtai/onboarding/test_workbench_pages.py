"""Every workbench page: who gets it, who gets 403 or 404, and what the home page lists."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.zhongtai.onboarding.conftest import connection_details, login, scope
from zhongtai.masterdata.models import Unit
from zhongtai.onboarding.models import Application
from zhongtai.onboarding.services import application_file, application_reject

pytestmark = pytest.mark.django_db


def pages(application: Application, unit: Unit) -> list[str]:
    return [
        "/workbench/",
        f"/workbench/applications/{application.pk}/",
        f"/workbench/units/{unit.pk}/",
        "/workbench/rollout/",
        f"/workbench/rollout/regions/{unit.region.code}/",
        "/workbench/import/",
        "/workbench/import/template.xlsx",
        "/workbench/checklist/",
        "/workbench/connection/new",
        "/workbench/go-live/new",
        f"/workbench/paper-stop/new?unit={unit.pk}",
    ]


def statuses(client: Client, urls: list[str]) -> dict[str, int]:
    return {url: client.get(url).status_code for url in urls}


def test_visitors_are_sent_to_sign_in(filed_connection: Application, unit: Unit) -> None:
    for url, status in statuses(Client(), pages(filed_connection, unit)).items():
        assert status == 302, url


def test_what_each_role_may_open(
    filed_connection: Application,
    unit: Unit,
    hospital_admin: Any,
    city_staff: Any,
    auditor: Any,
    zhuzhou_staff: Any,
    unit_admin: Any,
) -> None:
    urls = pages(filed_connection, unit)
    home, detail, unit_page, rollout, region, imports, template, checklist, connection, go_live, paper = urls
    # the unit's administrator: its own things; the bureau pages are not theirs
    assert statuses(login(hospital_admin), urls) == {
        home: 200,
        detail: 200,
        unit_page: 200,
        rollout: 403,
        region: 403,
        imports: 403,
        template: 403,
        checklist: 200,
        connection: 200,  # its application exists: the form is shown, filing it again is refused
        go_live: 200,
        paper: 200,
    }
    # Changsha's staff: the bureau pages and the unit's pages; not the unit's own forms
    assert statuses(login(city_staff), urls) == {
        home: 200,
        detail: 200,
        unit_page: 200,
        rollout: 200,
        region: 200,
        imports: 200,
        template: 200,
        checklist: 404,
        connection: 403,
        go_live: 403,
        paper: 200,  # a bureau may start a paper stop; filing it is refused while the unit is not live
    }
    # Changsha's read-only auditor: sees what Changsha sees, changes nothing
    assert statuses(login(auditor), urls) == {
        home: 200,
        detail: 200,
        unit_page: 200,
        rollout: 200,
        region: 200,
        imports: 403,
        template: 403,
        checklist: 404,
        connection: 403,
        go_live: 403,
        paper: 403,
    }
    # another region's staff and another unit's administrator find nothing of this unit
    for user in (zhuzhou_staff, unit_admin):
        found = statuses(login(user), [detail, unit_page])
        assert found == {detail: 404, unit_page: 404}, user
    assert login(zhuzhou_staff).get(region).status_code == 404


def test_the_bureau_home_lists_what_waits_then_the_rest_filterable(
    filed_connection: Application, city_staff: Any, make_user: Any, other_unit: Unit
) -> None:
    # given a second application of the school (an interface unit at city level), already rejected
    school_admin = make_user("school_admin", "unit_admin", unit=other_unit)
    school = application_file(
        scope=scope(school_admin), unit=other_unit, kind=Application.Kind.CONNECTION, details=connection_details()
    )
    application_reject(scope=scope(city_staff), application=school, reason="请补充材料")
    client = login(city_staff)

    # when Changsha opens its home page
    page = client.get("/workbench/")

    # then the hospital's application waits for it, and the school's is among the rest
    assert list(page.context["awaiting"]) == [filed_connection]
    assert list(page.context["page"].object_list) == [school]
    assert list(client.get("/workbench/?status=rejected").context["page"].object_list) == [school]
    assert list(client.get("/workbench/?status=approved").context["page"].object_list) == []
    assert list(client.get("/workbench/?q=430100901").context["page"].object_list) == [school]
    assert list(client.get("/workbench/?kind=go_live").context["page"].object_list) == []


def test_the_unit_home_offers_the_next_step(hospital_admin: Any, unit_admin: Any) -> None:
    page = login(hospital_admin).get("/workbench/")
    html = page.content.decode()
    assert "提交对接申请" in html and "联调测试检查项" in html
    # a networked unit has no connection to apply for, and no checklist
    networked = login(unit_admin).get("/workbench/").content.decode()
    assert "提交对接申请" not in networked and "联调测试检查项" not in networked


def test_the_navigation_links_the_workbench(hospital_admin: Any, city_staff: Any) -> None:
    assert {"接入与上线"} <= {item["label"] for item in login(hospital_admin).get("/workbench/").context["nav"]}
    labels = {item["label"] for item in login(city_staff).get("/workbench/").context["nav"]}
    assert {"接入与上线", "推广进度"} <= labels
