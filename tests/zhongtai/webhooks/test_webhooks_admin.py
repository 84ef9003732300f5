"""The workbench: red-offset alerts by region, 确认已处理 with a note, callback addresses, requeueing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from issuance.models import Receipt
from tests.support.api import SignedClient
from tests.support.factories import RegionFactory
from tests.zhongtai.accounts.test_admin_new_apps import as_bureau
from tests.zhongtai.webhooks.conftest import Receiver, enter, red_offset, register
from zhongtai.audit.models import AuditEvent
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata.models import Region
from zhongtai.webhooks.models import DeliveryStatus, RedOffsetAlert, WebhookDelivery, WebhookEndpoint

ALERTS = "/admin/webhooks/redoffsetalert/"
ENDPOINTS = "/admin/webhooks/webhookendpoint/"
DELIVERIES = "/admin/webhooks/webhookdelivery/"


@pytest.fixture
def zhuzhou_staff(make_user: Any, province: Region) -> Any:
    zhuzhou = RegionFactory(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    return make_user("zhuzhou_staff", "bureau_staff", region=zhuzhou)


@pytest.fixture
def alert(receipt: Receipt, api: SignedClient, insurance_api: SignedClient) -> RedOffsetAlert:
    """An open alert: a Furong hospital's receipt, reimbursed, then red-offset."""
    enter(insurance_api, receipt, "55.50")
    assert red_offset(api, receipt).status_code == 201
    return RedOffsetAlert.objects.get()


def test_alert_is_seen_by_its_region_and_above_only(
    alert: RedOffsetAlert,
    client: Client,
    county_staff: Any,
    city_staff: Any,
    province_admin: Any,
    zhuzhou_staff: Any,
) -> None:
    change = f"{ALERTS}{alert.pk}/change/"
    for user in (county_staff, city_staff, province_admin):
        as_bureau(client, user)
        listing = client.get(ALERTS)
        assert listing.status_code == 200
        assert listing.context["cl"].result_count == 1, user.username
        assert client.get(change).status_code == 200
    as_bureau(client, zhuzhou_staff)
    assert client.get(ALERTS).context["cl"].result_count == 0
    assert client.get(change).status_code == 404


def test_acknowledge_asks_for_a_note_then_closes_and_audits(
    alert: RedOffsetAlert, client: Client, city_staff: Any
) -> None:
    as_bureau(client, city_staff)
    form = {"action": "acknowledge", "_selected_action": [str(alert.pk)]}
    # the action first shows the form asking for the note
    page = client.post(ALERTS, form)
    assert page.status_code == 200 and "处理说明" in page.content.decode()
    # an empty note is refused, the alert stays open
    empty = client.post(ALERTS, {**form, "apply": "1", "note": "  "})
    assert empty.status_code == 200
    alert.refresh_from_db()
    assert alert.state == RedOffsetAlert.State.OPEN
    # a note closes it
    done = client.post(ALERTS, {**form, "apply": "1", "note": "已通知医保局追回 55.50 元"}, follow=True)
    assert done.status_code == 200
    alert.refresh_from_db()
    assert alert.state == RedOffsetAlert.State.ACKNOWLEDGED
    assert (alert.acknowledged_by, alert.note) == ("changsha_staff", "已通知医保局追回 55.50 元")
    audit = AuditEvent.objects.get(action="red_offset_alert.acknowledge")
    assert audit.actor == "changsha_staff" and audit.region_code == "430102"
    # a second acknowledgement is refused and changes nothing
    client.post(ALERTS, {**form, "apply": "1", "note": "again"})
    alert.refresh_from_db()
    assert alert.note == "已通知医保局追回 55.50 元"
    assert AuditEvent.objects.filter(action="red_offset_alert.acknowledge").count() == 1


def test_alerts_cannot_be_added_edited_or_deleted(alert: RedOffsetAlert, client: Client, province_admin: Any) -> None:
    as_bureau(client, province_admin)
    assert client.get(f"{ALERTS}add/").status_code == 403
    assert client.get(f"{ALERTS}{alert.pk}/delete/").status_code == 403
    client.post(f"{ALERTS}{alert.pk}/change/", {"state": "acknowledged", "note": "x"})
    alert.refresh_from_db()
    assert alert.state == RedOffsetAlert.State.OPEN


def test_dashboard_shows_the_open_alert_count_to_the_bureau(
    alert: RedOffsetAlert, client: Client, city_staff: Any, zhuzhou_staff: Any, cashier: Any
) -> None:
    as_bureau(client, city_staff)
    page = client.get("/portal/")
    assert page.context["red_offset_alerts"] == 1
    assert f'href="{ALERTS}?state__exact=open"' in page.content.decode()
    as_bureau(client, zhuzhou_staff)
    assert client.get("/portal/").context["red_offset_alerts"] == 0
    client.force_login(cashier)
    assert client.get("/portal/").context["red_offset_alerts"] is None


def test_staff_register_their_units_address_and_see_the_secret_once(
    client: Client, county_staff: Any, api: SignedClient, receiver: Receiver
) -> None:
    credential = ApiCredential.objects.get(app_id=api.app_id)
    as_bureau(client, county_staff)
    page = client.post(f"{ENDPOINTS}add/", {"api_credential": credential.pk, "url": receiver.url})
    assert page.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    secret = page.context["outcomes"][0].secret
    assert secret.startswith("whsec_") and secret in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert endpoint.unit_id == credential.unit_id and endpoint.events == ["batch.completed"]
    assert AuditEvent.objects.get(action="webhook.register").actor == "furong_staff"
    # the change page does not show it again
    assert secret not in client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    # the API caller sees the address the bureau registered
    assert api.get("/api/v1/webhook").json()["url"] == receiver.url


def test_staff_address_is_checked_like_the_apis(client: Client, county_staff: Any, api: SignedClient) -> None:
    credential = ApiCredential.objects.get(app_id=api.app_id)
    as_bureau(client, county_staff)
    page = client.post(f"{ENDPOINTS}add/", {"api_credential": credential.pk, "url": "ftp://x.example/"})
    assert page.status_code == 200 and "https://" in page.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_party_addresses_are_the_provinces(
    client: Client, city_staff: Any, province_admin: Any, insurance_api: SignedClient
) -> None:
    register(insurance_api, "https://hooks.example.com/erec")
    endpoint = WebhookEndpoint.objects.get()
    as_bureau(client, city_staff)
    assert client.get(ENDPOINTS).context["cl"].result_count == 0
    assert client.get(f"{ENDPOINTS}{endpoint.pk}/change/").status_code == 404
    as_bureau(client, province_admin)
    assert client.get(ENDPOINTS).context["cl"].result_count == 1
    # rotating shows the new secret once and audits it
    page = client.post(ENDPOINTS, {"action": "rotate_secret", "_selected_action": [str(endpoint.pk)]})
    assert page.status_code == 200
    assert page.context["outcomes"][0].secret
    assert AuditEvent.objects.filter(action="webhook.update", data__secretRotated=True).count() == 1


def test_staff_requeue_a_dead_delivery(
    alert: RedOffsetAlert,
    client: Client,
    province_admin: Any,
    insurance_api: SignedClient,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A delivery to a party (province-wide): the province requeues it from the list, audited."""
    register(insurance_api, receiver.url)
    endpoint = WebhookEndpoint.objects.get()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type="receipt.red_offset",
        event_key="receipt:test",
        body='{"id":"x"}',
        status=DeliveryStatus.DEAD,
        attempts=8,
        next_attempt_at=alert.created_at,
        last_error="回调地址返回 HTTP 500。",
    )
    as_bureau(client, province_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(DELIVERIES, {"action": "requeue", "_selected_action": [str(delivery.pk)]})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and len(receiver.calls) == 1
    assert AuditEvent.objects.get(action="webhook.requeue").actor == "province_admin"
