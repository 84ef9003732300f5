"""Registering callback addresses through the signed API: validation, the secret shown once, scopes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from tests.support.api import SignedClient
from tests.support.parties import client_for
from tests.support.processes import PRODUCTION_ENV, python_run
from tests.zhongtai.webhooks.conftest import register
from verification.models import PartyCredential, ReimbursingParty
from zhongtai.audit.models import AuditEvent
from zhongtai.gateway.crypto import secret_decrypt
from zhongtai.webhooks.models import WebhookEndpoint

PARTY = "/api/v1/public/webhook"
UNIT = "/api/v1/webhook"


def test_party_registers_and_sees_the_secret_once(insurance_api: SignedClient) -> None:
    # given a party without a callback address
    assert insurance_api.get(PARTY).json()["code"] == "WEBHOOK_NOT_FOUND"
    # when it registers one
    response = insurance_api.request("PUT", PARTY, {"url": "https://hooks.example.com/erec"})
    # then the answer carries the new secret, once
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["events"] == ["receipt.red_offset"] and body["enabled"] is True and body["sandbox"] is False
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] not in endpoint.secret_encrypted
    assert secret_decrypt(endpoint.secret_encrypted) == body["secret"]
    # and neither GET nor a later change shows it again
    shown = insurance_api.get(PARTY).json()
    assert "secret" not in shown and shown["url"] == "https://hooks.example.com/erec"
    changed = insurance_api.request("PUT", PARTY, {"url": "https://hooks.example.com/v2"})
    assert changed.status_code == 200 and "secret" not in changed.json()
    assert secret_decrypt(WebhookEndpoint.objects.get().secret_encrypted) == body["secret"]
    assert list(
        AuditEvent.objects.filter(object_type="webhook_endpoint").order_by("pk").values_list("action", flat=True)
    ) == [
        "webhook.register",
        "webhook.update",
    ]


def test_rotating_gives_a_new_secret(insurance_api: SignedClient) -> None:
    first = register(insurance_api, "https://hooks.example.com/erec")["secret"]
    rotated = register(insurance_api, "https://hooks.example.com/erec", rotateSecret=True)
    assert rotated["secret"] != first
    assert secret_decrypt(WebhookEndpoint.objects.get().secret_encrypted) == rotated["secret"]


def test_delete_turns_the_address_off_and_put_turns_it_on(insurance_api: SignedClient) -> None:
    assert insurance_api.request("DELETE", PARTY).json()["code"] == "WEBHOOK_NOT_FOUND"
    register(insurance_api, "https://hooks.example.com/erec")
    response = insurance_api.request("DELETE", PARTY)
    assert response.status_code == 200 and response.json()["enabled"] is False
    assert WebhookEndpoint.objects.get().status == WebhookEndpoint.Status.DISABLED
    assert AuditEvent.objects.filter(action="webhook.disable").count() == 1
    assert register(insurance_api, "https://hooks.example.com/erec")["enabled"] is True


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/erec", "https://"),
        ("https://user:pw@hooks.example.com/erec", "用户名或密码"),
        ("https:///erec", "主机名"),
        ("https://hooks.example.com/erec#frag", "片段"),
        ("https://hooks.example.com/a b", "空白"),
        ("https://hooks.example.com:99999/erec", "格式"),
        ("", "请填写"),
        ("https://hooks.example.com/" + "a" * 500, "500"),
    ],
)
def test_bad_addresses_are_refused(insurance_api: SignedClient, url: str, reason: str) -> None:
    response = insurance_api.request("PUT", PARTY, {"url": url})
    assert response.status_code == 422
    assert response.json()["code"] == "WEBHOOK_URL_INVALID"
    assert reason in response.json()["message"]
    assert not WebhookEndpoint.objects.exists()


@override_settings(DEBUG=False, EREC_WEBHOOK_ALLOW_HTTP=False, EREC_WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/erec", "https://"),
        ("https://127.0.0.1/erec", "内网"),
        ("https://10.1.2.3/erec", "内网"),
        ("https://[::1]/erec", "内网"),
        ("https://169.254.169.254/latest", "内网"),
        ("https://localhost/erec", "内网"),
    ],
)
def test_production_rules_refuse_http_and_private_addresses(insurance_api: SignedClient, url: str, reason: str) -> None:
    response = insurance_api.request("PUT", PARTY, {"url": url})
    assert response.status_code == 422, response.json()
    assert reason in response.json()["message"]


@override_settings(DEBUG=False, EREC_WEBHOOK_ALLOW_HTTP=False, EREC_WEBHOOK_ALLOW_PRIVATE=False)
def test_production_rules_accept_a_public_https_address(insurance_api: SignedClient) -> None:
    # A public IP literal: nothing to resolve, so the test needs no DNS.
    assert register(insurance_api, "https://1.1.1.1/erec")["url"] == "https://1.1.1.1/erec"


def test_production_settings_default_to_https_and_public_addresses() -> None:
    """config/settings/production.py itself, started in a child process as in tests/config."""
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from zhongtai.webhooks.addresses import webhook_url_check\n"
        "print(settings.EREC_WEBHOOK_ALLOW_HTTP, settings.EREC_WEBHOOK_ALLOW_PRIVATE)\n"
        "for url in ('http://hooks.example.com/x', 'https://192.168.1.5/x'):\n"
        "    try:\n"
        "        webhook_url_check(url)\n"
        "    except Exception as exc:\n"
        "        print(exc.code)\n"
    )
    result = python_run(script, {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.production"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "WEBHOOK_URL_INVALID", "WEBHOOK_URL_INVALID"]


def test_party_may_not_subscribe_to_unit_events(insurance_api: SignedClient) -> None:
    response = insurance_api.request(
        "PUT", PARTY, {"url": "https://hooks.example.com/erec", "events": ["batch.completed"]}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "WEBHOOK_EVENTS_INVALID"
    assert response.json()["extra"]["allowed"] == ["receipt.red_offset"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "https://hooks.example.com/erec", "secret": "mine"}, "secret"),
        ({"url": "https://hooks.example.com/erec", "rotateSecret": "yes"}, "rotateSecret"),
        ({"url": 42}, "url"),
        ({"events": ["receipt.red_offset"]}, "url"),
        ({"url": "https://hooks.example.com/erec", "events": "receipt.red_offset"}, "events"),
    ],
)
def test_malformed_input_is_invalid_input(insurance_api: SignedClient, payload: dict[str, Any], field: str) -> None:
    response = insurance_api.request("PUT", PARTY, payload)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
    assert field in response.json()["extra"]["fields"]


def test_read_only_credential_may_look_but_not_register(insurance: ReimbursingParty) -> None:
    read_only = client_for(insurance, PartyCredential.Scope.READ)
    response = read_only.request("PUT", PARTY, {"url": "https://hooks.example.com/erec"})
    assert response.status_code == 403
    assert read_only.get(PARTY).status_code == 404


def test_each_credential_has_its_own_address(insurance: ReimbursingParty, insurance_api: SignedClient) -> None:
    register(insurance_api, "https://hooks.example.com/one")
    second = client_for(insurance)
    assert second.get(PARTY).status_code == 404
    register(second, "https://hooks.example.com/two")
    assert sorted(WebhookEndpoint.objects.values_list("url", flat=True)) == [
        "https://hooks.example.com/one",
        "https://hooks.example.com/two",
    ]


def test_unsigned_and_wrong_kind_of_credential_are_refused(
    insurance_api: SignedClient, api: SignedClient, client: Any
) -> None:
    assert client.get(PARTY).status_code == 401
    assert client.get(UNIT).status_code == 401
    # A party's credential does not open the units' API, nor a unit's the parties'.
    assert insurance_api.get(UNIT).status_code == 401
    assert api.get(PARTY).status_code == 401


def test_wrong_method_is_refused(insurance_api: SignedClient) -> None:
    response = insurance_api.post(PARTY, {"url": "https://hooks.example.com/erec"})
    assert response.status_code == 405


def test_interface_unit_registers_for_batch_results(api: SignedClient) -> None:
    response = api.request("PUT", UNIT, {"url": "https://his.example.com/erec"})
    assert response.status_code == 201
    assert response.json()["events"] == ["batch.completed"] and response.json()["secret"]
    endpoint = WebhookEndpoint.objects.select_related("unit").get()
    assert endpoint.unit.code == "430102001" and endpoint.party_id is None
    assert AuditEvent.objects.get(action="webhook.register").region_code == "430102"
    refused = api.request("PUT", UNIT, {"url": "https://his.example.com/erec", "events": ["receipt.red_offset"]})
    assert refused.json()["code"] == "WEBHOOK_EVENTS_INVALID"


def test_read_only_unit_credential_may_not_register(read_only_api: SignedClient) -> None:
    assert read_only_api.request("PUT", UNIT, {"url": "https://his.example.com/erec"}).status_code == 403
