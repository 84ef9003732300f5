"""The workbench's national outbox: region-scoped, read-only, dead letters requeued by the province."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.zhongtai.national.conftest import issue
from zhongtai.audit.models import AuditEvent
from zhongtai.masterdata.models import Unit
from zhongtai.national.models import NationalEvent

CHANGELIST = "/admin/national/nationalevent/"


def _dead(unit: Unit) -> NationalEvent:
    [receipt] = issue(unit, 1, prefix=f"ADM{unit.code}", simple=True)
    NationalEvent.objects.filter(receipt=receipt).update(
        state=NationalEvent.State.DEAD, attempts=8, last_code="SIGNATURE_INVALID", last_error="签名无效"
    )
    return NationalEvent.objects.get(receipt=receipt)


def test_the_province_lists_events_filters_them_and_requeues_dead_letters(
    client: Client, province_admin: Any, unit: Unit, other_unit: Unit
) -> None:
    # given a dead letter in Furong and a pending event in Changsha
    dead = _dead(unit)
    issue(other_unit, 1, prefix="ADMOTHER", simple=True)
    client.force_login(province_admin)
    # when the province's administrator opens the outbox / then both are listed, with filters
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "?state__exact=dead" in html and "?type__exact=issued" in html
    assert "失败待人工处理" in html and "待推送" in html
    assert client.get(CHANGELIST + "?state__exact=dead").context["cl"].result_count == 1
    # when they requeue the dead letter (and a pending event, which is left alone)
    pending = NationalEvent.objects.exclude(pk=dead.pk).get()
    response = client.post(CHANGELIST, {"action": "requeue", "_selected_action": [dead.pk, pending.pk]}, follow=True)
    # then it waits again, with no attempt counted, and the requeue is audited
    assert "已重新排队 1 个事件。另有 1 个事件不是“失败待人工处理”状态" in response.content.decode()
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (NationalEvent.State.PENDING, 0)
    assert AuditEvent.objects.get(action="national_event.requeue").actor == province_admin.username


def test_a_county_bureau_sees_only_its_region_and_cannot_requeue(
    client: Client, county_staff: Any, unit: Unit, other_unit: Unit
) -> None:
    dead = _dead(unit)
    other = _dead(other_unit)
    client.force_login(county_staff)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert [event.pk for event in page.context["cl"].result_list] == [dead.pk]
    # another region's event is not found
    assert client.get(f"{CHANGELIST}{other.pk}/change/").status_code == 404
    # and bureau staff have no requeue (it needs the change permission)
    assert 'value="requeue"' not in page.content.decode()
    client.post(CHANGELIST, {"action": "requeue", "_selected_action": [dead.pk]})
    dead.refresh_from_db()
    assert dead.state == NationalEvent.State.DEAD


def test_events_cannot_be_added_changed_or_deleted(client: Client, province_admin: Any, unit: Unit) -> None:
    dead = _dead(unit)
    client.force_login(province_admin)
    assert client.get(CHANGELIST + "add/").status_code == 403
    detail = client.get(f"{CHANGELIST}{dead.pk}/change/").content.decode()
    assert 'name="_save"' not in detail
    assert client.post(f"{CHANGELIST}{dead.pk}/delete/", {"post": "yes"}).status_code == 403
    assert NationalEvent.objects.filter(pk=dead.pk).exists()
