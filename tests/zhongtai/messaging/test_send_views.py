"""Portal: send a receipt to its payer (receipt-send) and the outgoing-message log (message-list)."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from issuance.models import Receipt
from tests.zhongtai.messaging.conftest import EMAIL, PHONE, Answer, Gateway, issue_for
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.messaging.models import MessageStatus, OutgoingMessage

HTMX = {"HX-Request": "true"}


def _send_url(receipt: Receipt) -> str:
    return reverse("portal:receipt-send", args=[receipt.receipt_code, receipt.number_text])


def _detail_url(receipt: Receipt) -> str:
    return reverse("portal:receipt-detail", args=[receipt.receipt_code, receipt.number_text])


def _post(client: Client, receipt: Receipt, capture: Any, headers: dict[str, str] | None = None, **data: str) -> Any:
    with capture(execute=True):
        return client.post(_send_url(receipt), data, headers=headers or {})


# --- receipt-send ----------------------------------------------------------------------------


# Committed for real: the in-process worker runs when the request's transaction commits.
@pytest.mark.django_db(transaction=True)
def test_a_cashier_sends_a_receipt_and_returns_to_the_receipt_page(
    client: Client, cashier: User, signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    # given the cashier on the receipt's page
    client.force_login(cashier)
    # when they send it by SMS with a plain form post
    response = _post(client, signed_receipt, django_capture_on_commit_callbacks, channel="sms", recipient=PHONE)
    # then they are sent back to the receipt page, which says what happened
    assert response.status_code == 302 and response["Location"] == _detail_url(signed_receipt)
    page = client.get(response["Location"]).content.decode()
    assert "短信已记录" in page and "交款人不会收到" in page and "138****8000" in page
    # and the message went out under the cashier's name
    message = OutgoingMessage.objects.get()
    assert (message.status, message.created_by, message.recipient) == ("sent", "cashier", PHONE)
    assert AuditEvent.objects.filter(action="message.queue", actor="cashier", object_id=str(message.pk)).exists()


def test_a_plain_post_goes_back_to_a_local_next_page_only(
    client: Client, cashier: User, signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(cashier)
    capture = django_capture_on_commit_callbacks
    local = _post(client, signed_receipt, capture, channel="sms", recipient=PHONE, next="/portal/receipts/")
    assert local["Location"] == "/portal/receipts/"
    foreign = _post(client, signed_receipt, capture, channel="sms", recipient=PHONE, next="https://evil.example/")
    assert foreign["Location"] == _detail_url(signed_receipt)


# Committed for real: the in-process worker runs when the request's transaction commits.
@pytest.mark.django_db(transaction=True)
def test_htmx_gets_the_form_back_with_the_result(
    client: Client, unit_admin: User, signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    # given a unit administrator / when they send by email through htmx
    client.force_login(unit_admin)
    response = _post(
        client,
        signed_receipt,
        django_capture_on_commit_callbacks,
        headers=HTMX,
        channel="email",
        recipient=EMAIL,
        next=_detail_url(signed_receipt),
    )
    # then the answer is the form fragment (no page around it), with the outcome in it
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'data-testid="send-form"' in html
    assert 'data-testid="send-result"' in html and "邮件已记录" in html and "z***@example.com" in html
    assert f'hx-post="{_send_url(signed_receipt)}"' in html
    assert f'value="{_detail_url(signed_receipt)}"' in html  # next keeps pointing at the page
    assert 'value="email" data-recipient="zhangsan@example.com" checked' in html
    assert OutgoingMessage.objects.get().channel == "email"


@pytest.mark.django_db(transaction=True)
def test_htmx_tells_a_gateway_outage_from_a_refusal_and_a_success(
    client: Client, cashier: User, signed_receipt: Receipt, gateway: Gateway, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(cashier)

    def outcome() -> str:
        response = _post(
            client, signed_receipt, django_capture_on_commit_callbacks, headers=HTMX, channel="sms", recipient=PHONE
        )
        return re.search(r'data-testid="send-result">(.*?)</li>', response.content.decode()).group(1)

    gateway.script(Answer(503, b"busy"))
    assert outcome().startswith(
        "短信暂未发送成功（138****8000），已留在发送队列等待重试：短信网关暂时不可用（HTTP 503）"
    )
    gateway.script(Answer(400, b"blacklisted"))
    assert outcome().startswith("短信发送失败（138****8000）：短信网关拒绝发送（HTTP 400）：blacklisted")
    gateway.script(Answer(200))
    assert outcome() == "已通过短信发送至 138****8000。"


def test_htmx_shows_a_refusal_in_the_form_and_queues_nothing(
    client: Client, cashier: User, signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(cashier)
    response = _post(
        client, signed_receipt, django_capture_on_commit_callbacks, headers=HTMX, channel="sms", recipient="12345"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="send-errors"' in html and "请输入正确的手机号码" in html
    assert 'value="12345"' in html  # what was typed stays, to be corrected
    assert not OutgoingMessage.objects.exists()


def test_missing_fields_are_refused_with_a_message(
    client: Client, cashier: User, signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(cashier)
    response = _post(client, signed_receipt, django_capture_on_commit_callbacks, headers=HTMX, recipient=PHONE)
    assert "请选择发送方式" in response.content.decode()
    response = _post(client, signed_receipt, django_capture_on_commit_callbacks, channel="sms", recipient="")
    assert response.status_code == 302
    assert "请填写接收人" in client.get(response["Location"]).content.decode()
    assert not OutgoingMessage.objects.exists()


def test_the_daily_limit_is_shown_to_the_cashier(
    client: Client, cashier: User, signed_receipt: Receipt, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EREC_MESSAGES_PER_RECEIPT_PER_DAY = 1
    client.force_login(cashier)
    _post(client, signed_receipt, django_capture_on_commit_callbacks, headers=HTMX, channel="sms", recipient=PHONE)
    response = _post(
        client, signed_receipt, django_capture_on_commit_callbacks, headers=HTMX, channel="sms", recipient=PHONE
    )
    assert "已达每日上限（1 次）" in response.content.decode()
    assert OutgoingMessage.objects.count() == 1


def test_another_units_cashier_gets_404(
    client: Client, other_cashier: User, signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(other_cashier)
    response = _post(client, signed_receipt, django_capture_on_commit_callbacks, channel="sms", recipient=PHONE)
    assert response.status_code == 404
    assert not OutgoingMessage.objects.exists()


def test_an_auditor_gets_403(
    client: Client, auditor: User, signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    # given a read-only auditor of the region, who may see the receipt
    client.force_login(auditor)
    assert client.get(_detail_url(signed_receipt)).status_code == 200
    # when they try to send it / then it is forbidden
    response = _post(client, signed_receipt, django_capture_on_commit_callbacks, channel="sms", recipient=PHONE)
    assert response.status_code == 403
    assert not OutgoingMessage.objects.exists()


def test_bureau_staff_may_not_send_either(
    client: Client, city_staff: User, signed_receipt: Receipt, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(city_staff)
    response = _post(client, signed_receipt, django_capture_on_commit_callbacks, channel="sms", recipient=PHONE)
    assert response.status_code == 403


def test_the_send_url_takes_only_post(client: Client, cashier: User, signed_receipt: Receipt) -> None:
    client.force_login(cashier)
    assert client.get(_send_url(signed_receipt)).status_code == 405


def test_an_unknown_receipt_is_404(client: Client, cashier: User, db: Any) -> None:
    client.force_login(cashier)
    assert client.post("/portal/receipts/43010126/0000000999/send/", {"channel": "sms"}).status_code == 404
    assert client.post("/portal/receipts/43010126/abc/send/", {"channel": "sms"}).status_code == 404


def test_the_receipt_page_offers_the_form_prefilled_with_the_payers_phone(
    client: Client, cashier: User, signed_receipt: Receipt
) -> None:
    client.force_login(cashier)
    html = client.get(_detail_url(signed_receipt)).content.decode()
    assert 'data-testid="send-form"' in html
    assert f'name="recipient" value="{PHONE}"' in html
    assert 'value="sms" data-recipient="13800138000" checked' in html
    assert "仅记录（未接入短信网关）" in html


def test_a_payer_with_only_an_email_gets_the_email_channel_prefilled(
    client: Client, cashier: User, networked_unit: Any, networked_pki: Any, django_capture_on_commit_callbacks: Any
) -> None:
    receipt = issue_for(networked_unit, django_capture_on_commit_callbacks, bus_no="MAILONLY", phone="")
    client.force_login(cashier)
    html = client.get(_detail_url(receipt)).content.decode()
    assert f'name="recipient" value="{EMAIL}"' in html
    assert 'value="email" data-recipient="zhangsan@example.com" checked' in html


# --- message-list --------------------------------------------------------------------------------


@pytest.fixture
def messages_of_two_units(
    signed_receipt: Receipt, send: Any, unit: Any, other_unit: Any, pki: Any, django_capture_on_commit_callbacks: Any
) -> dict[str, OutgoingMessage]:
    """Our unit: an SMS (sent) and an email (failed). Another unit's hospital: an SMS."""
    from zhongtai.signing.services import certificate_issue_for_unit

    sms = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    email = send(receipt=signed_receipt, channel="email", recipient=EMAIL)
    OutgoingMessage.objects.filter(pk=email.pk).update(
        status=MessageStatus.FAILED, sent_at=None, last_error="邮件服务器拒绝：550 mailbox unavailable"
    )
    # the interface hospital (unit 430102001) is in the same district but is another unit
    certificate_issue_for_unit(unit=unit, actor=Actor.system("tests"))
    hospital_receipt = issue_for(
        unit, django_capture_on_commit_callbacks, bus_no="HOSP1", point="MZ01", phone="13911112222"
    )
    foreign = send(receipt=Receipt.objects.get(pk=hospital_receipt.pk), channel="sms", recipient="13911112222")
    return {"sms": sms, "email": email, "foreign": foreign}


def _rows(client: Client, query: str = "") -> str:
    response = client.get(reverse("portal:message-list") + query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_log_shows_the_units_messages_masked(
    client: Client, cashier: User, messages_of_two_units: dict[str, OutgoingMessage]
) -> None:
    client.force_login(cashier)
    html = _rows(client)
    # our two messages, masked; nothing of the other unit
    assert "138****8000" in html and "z***@example.com" in html
    assert PHONE not in html and EMAIL not in html
    assert "139****2222" not in html
    assert "共 2 条" in html
    # the console provider is labelled so nobody thinks an SMS went out
    assert "仅记录（未接入短信网关）" in html
    assert "550 mailbox unavailable" in html


def test_the_log_filters_by_status_channel_and_date(
    client: Client, cashier: User, messages_of_two_units: dict[str, OutgoingMessage]
) -> None:
    client.force_login(cashier)
    assert "共 1 条" in _rows(client, "?status=failed") and "z***@example.com" in _rows(client, "?status=failed")
    sms_only = _rows(client, "?channel=sms")
    assert "138****8000" in sms_only and "z***@example.com" not in sms_only
    today = timezone.localdate()
    assert "共 2 条" in _rows(client, f"?date_from={today:%Y-%m-%d}&date_to={today:%Y-%m-%d}")
    tomorrow = today + datetime.timedelta(days=1)
    assert "暂无发送记录" in _rows(client, f"?date_from={tomorrow:%Y-%m-%d}")
    assert "暂无发送记录" in _rows(client, f"?date_to={today - datetime.timedelta(days=1):%Y-%m-%d}")


def test_a_bad_filter_is_shown_not_applied(
    client: Client, cashier: User, messages_of_two_units: dict[str, OutgoingMessage]
) -> None:
    client.force_login(cashier)
    html = _rows(client, "?status=lost&date_from=yesterday")
    assert "共 2 条" in html and "field-error" in html


def test_the_city_bureau_sees_both_units_and_the_other_unit_only_its_own(
    client: Client,
    city_staff: User,
    other_cashier: User,
    auditor: User,
    messages_of_two_units: dict[str, OutgoingMessage],
    make_user: Any,
    unit: Any,
) -> None:
    client.force_login(city_staff)
    html = _rows(client)
    assert "共 3 条" in html and "139****2222" in html and "长沙市芙蓉区人民医院" in html
    client.force_login(auditor)
    assert "共 3 条" in _rows(client)
    client.force_login(other_cashier)
    assert "暂无发送记录" in _rows(client)
    client.force_login(make_user("hospital_cashier", "cashier", unit=unit))
    html = _rows(client)
    assert "共 1 条" in html and "139****2222" in html and "138****8000" not in html


def test_a_cashier_limited_to_an_issuing_point_sees_that_points_messages(
    client: Client, make_user: Any, networked_unit: Any, messages_of_two_units: dict[str, OutgoingMessage]
) -> None:
    point_one, point_two = networked_unit.issuing_points.order_by("code")
    client.force_login(make_user("window1", "cashier", unit=networked_unit, issuing_point=point_one))
    assert "共 2 条" in _rows(client)
    client.force_login(make_user("window2", "cashier", unit=networked_unit, issuing_point=point_two))
    assert "暂无发送记录" in _rows(client)


def test_the_log_is_paginated(client: Client, cashier: User, signed_receipt: Receipt, send: Any, settings: Any) -> None:
    settings.EREC_MESSAGES_PER_RECEIPT_PER_DAY = 60
    for _ in range(52):
        send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    client.force_login(cashier)
    first = _rows(client, "?channel=sms")
    assert "第 1 / 2 页" in first and "?channel=sms&amp;page=2" in first
    second = _rows(client, "?channel=sms&page=2")
    assert "第 2 / 2 页" in second and second.count("138****8000") == 2


def test_the_log_needs_a_signed_in_user_with_a_role(client: Client, make_user: Any, db: Any) -> None:
    user = User.objects.create_user("norole", password="x-Pass-2026")
    client.force_login(user)
    assert client.get(reverse("portal:message-list")).status_code == 403
    assert client.post(reverse("portal:message-list")).status_code == 405
