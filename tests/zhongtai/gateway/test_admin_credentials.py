"""Bureau staff issue and revoke interface credentials in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from zhongtai.gateway.crypto import secret_decrypt
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata.models import Unit


@pytest.fixture
def admin_client_logged_in(db: Any) -> Client:
    User.objects.create_superuser("province", "p@example.org", "pw-Admin-2026")
    client = Client()
    client.login(username="province", password="pw-Admin-2026")
    return client


def test_admin_action_issues_credentials_and_shows_the_secret_once(
    admin_client_logged_in: Client, unit: Unit, other_unit: Unit
) -> None:
    # given an interface unit selected in the unit list / when the action runs
    response = admin_client_logged_in.post(
        "/admin/masterdata/unit/", {"action": "issue_credentials", "_selected_action": [unit.pk]}
    )
    # then the page shows the new app id and its secret, which is stored only encrypted
    assert response.status_code == 200
    credential = ApiCredential.objects.get(unit=unit)
    secret = secret_decrypt(credential.secret_encrypted)
    page = response.content.decode()
    assert credential.app_id in page and secret in page
    assert "no-store" in response["Cache-Control"]
    assert secret not in credential.secret_encrypted


def test_admin_action_refuses_a_networked_unit(admin_client_logged_in: Client, unit: Unit) -> None:
    Unit.objects.filter(pk=unit.pk).update(connection_mode=Unit.ConnectionMode.NETWORKED)
    response = admin_client_logged_in.post(
        "/admin/masterdata/unit/", {"action": "issue_credentials", "_selected_action": [unit.pk]}, follow=True
    )
    assert "只有接口单位" in response.content.decode()
    assert not ApiCredential.objects.exists()


def test_admin_action_revokes_credentials(admin_client_logged_in: Client, api: Any) -> None:
    credential = ApiCredential.objects.get(app_id=api.app_id)
    admin_client_logged_in.post(
        "/admin/gateway/apicredential/", {"action": "revoke", "_selected_action": [credential.pk]}
    )
    credential.refresh_from_db()
    assert credential.status == ApiCredential.Status.REVOKED
    assert api.get("/api/v1/receipts?busDate=2026-01-01").json()["code"] == "AUTH_CREDENTIAL_REVOKED"
