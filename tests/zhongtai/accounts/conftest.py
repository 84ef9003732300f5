"""Accounts test helpers: users made through the real services, and sign-in through the real pages."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from zhongtai.accounts import totp
from zhongtai.accounts.services import totp_provision, user_create
from zhongtai.audit.services import Actor

PASSWORD = "Test@2026pass"
ACTOR = Actor.system("tests")
# A fixed secret for tests (the RFC 6238 SHA-1 seed), so codes can be computed here.
SECRET = b"12345678901234567890"


def create(username: str, role: str, **scope: Any) -> Any:
    return user_create(username=username, password=PASSWORD, role=role, display_name=username, actor=ACTOR, **scope)


def with_totp(user: Any, secret: bytes = SECRET) -> Any:
    totp_provision(user=user, secret=secret, actor=ACTOR, now=timezone.now())
    return user


def code_at(at: datetime.datetime, secret: bytes = SECRET) -> str:
    return totp.totp(secret, at)


def post_password(client: Client, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password, **extra})


def sign_in(client: Client, username: str, *, secret: bytes | None = None, password: str = PASSWORD) -> Any:
    """The whole journey through the pages: password, then the code when the user has TOTP."""
    response = post_password(client, username, password)
    if secret is not None:
        assert response.status_code == 302 and response["Location"] == "/accounts/login/verify/", response
        response = client.post("/accounts/login/verify/", {"code": totp.totp(secret, timezone.now())})
    return response


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.fixture
def city_user(changsha: Any) -> Any:
    """Changsha bureau staff, created by the service (is_staff, group) and with TOTP bound."""
    return with_totp(create("cs_staff", "bureau_staff", region=changsha))


@pytest.fixture
def county_user(furong: Any) -> Any:
    return with_totp(create("fr_staff", "bureau_staff", region=furong))


@pytest.fixture
def province_user(province: Any) -> Any:
    return with_totp(create("hn_admin", "province_admin", region=province))
