"""Sandbox credentials (联调测试凭证): issued apart, shown in the admin, and visible to Django middleware."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.test import Client

from tests.support.api import SignedClient
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.gateway.models import ApiCredential
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.models import Unit

READ_URL = "/api/v1/receipts?busDate=2026-01-01"
SEEN: list[Any] = []


class CredentialSeen:
    """A Django middleware as the onboarding app writes one: it reads ``request.api_credential``."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        SEEN.append(getattr(request, "api_credential", None))
        return response


@pytest.fixture
def seen(settings: Any) -> list[Any]:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.CredentialSeen"]
    SEEN.clear()
    return SEEN


def test_a_sandbox_credential_is_created_and_audited_as_such(unit: Unit) -> None:
    issued = credential_create(unit=unit, actor=Actor.user("admin"), label="HIS 联调", sandbox=True)
    assert issued.credential.sandbox is True
    assert "联调测试" in str(issued.credential)
    event = AuditEvent.objects.get(action="credential.create", object_id=issued.credential.app_id)
    assert event.data == {"scope": "issue", "label": "HIS 联调", "sandbox": True}


def test_credentials_are_production_ones_by_default(unit: Unit) -> None:
    assert credential_create(unit=unit, actor=Actor.user("admin")).credential.sandbox is False


def test_the_command_issues_sandbox_credentials_with_sandbox(unit: Unit) -> None:
    out = io.StringIO()
    call_command("issue_credentials", "--unit", unit.code, "--sandbox", "--scope", "read", stdout=out)
    app_id = re.search(r"^app_id:\s+(\S+)$", out.getvalue(), re.MULTILINE)
    assert app_id, out.getvalue()
    credential = ApiCredential.objects.get(app_id=app_id.group(1))
    assert (credential.sandbox, credential.scope) == (True, "read")
    assert "sandbox: yes" in out.getvalue()


def test_the_command_issues_production_credentials_without_it(unit: Unit) -> None:
    out = io.StringIO()
    call_command("issue_credentials", "--unit", unit.code, stdout=out)
    assert ApiCredential.objects.get(unit=unit).sandbox is False
    assert "sandbox" not in out.getvalue()


def test_the_admin_lists_and_filters_sandbox_credentials(unit: Unit) -> None:
    production = credential_create(unit=unit, actor=Actor.user("admin"), label="正式").credential
    sandbox = credential_create(unit=unit, actor=Actor.user("admin"), label="联调", sandbox=True).credential
    User.objects.create_superuser("province", "p@example.org", "pw-Admin-2026")
    client = Client()
    client.force_login(User.objects.get(username="province"))
    page = client.get("/admin/gateway/apicredential/?sandbox__exact=1")
    assert page.status_code == 200
    content = page.content.decode()
    assert sandbox.app_id in content and "联调测试凭证" in content
    assert production.app_id not in content
    detail = client.get(f"/admin/gateway/apicredential/{sandbox.pk}/change/").content.decode()
    assert "联调测试凭证" in detail


def test_middleware_sees_the_credential_of_an_authenticated_request(unit: Unit, seen: list[Any]) -> None:
    issued = credential_create(unit=unit, actor=Actor.system("tests"), sandbox=True)
    client = SignedClient(issued.credential.app_id, issued.secret)
    assert client.get(READ_URL).status_code == 200
    assert seen == [issued.credential]
    assert seen[0].sandbox is True


def test_middleware_sees_no_credential_when_authentication_fails(unit: Unit, seen: list[Any]) -> None:
    issued = credential_create(unit=unit, actor=Actor.system("tests"))
    assert SignedClient(issued.credential.app_id, "wrong-secret").get(READ_URL).status_code == 401
    assert Client().get(READ_URL).status_code == 401
    assert seen == [None, None]
