"""The admin shows the outgoing-message log read-only, with recipients masked."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from issuance.models import Receipt
from tests.zhongtai.messaging.conftest import PHONE
from zhongtai.messaging.models import OutgoingMessage


def test_the_admin_lists_messages_masked_and_read_only(client: Client, signed_receipt: Receipt, send: Any) -> None:
    # given a sent message and the province's operator
    message = send(receipt=signed_receipt, channel="sms", recipient=PHONE)
    client.force_login(User.objects.create_superuser("province", "p@example.org", "pw-Admin-2026"))
    # when they open the log / then it lists the message with the number masked, filterable
    changelist = reverse("admin:messaging_outgoingmessage_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    html = page.content.decode()
    assert "138****8000" in html and PHONE not in html
    assert "?status__exact=sent" in html and "?channel__exact=sms" in html
    assert client.get(changelist + "?status__exact=failed").content.decode().count("138****8000") == 0
    # and a message's page shows it without the full number and without a save button
    detail = client.get(reverse("admin:messaging_outgoingmessage_change", args=[message.pk])).content.decode()
    assert "138****8000" in detail and PHONE not in detail
    assert 'name="_save"' not in detail
    # and nothing can be added, changed or deleted
    assert client.get(reverse("admin:messaging_outgoingmessage_add")).status_code == 403
    response = client.post(reverse("admin:messaging_outgoingmessage_delete", args=[message.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert OutgoingMessage.objects.filter(pk=message.pk).exists()
