"""A unit administrator manages the unit's cashiers (accounts:unit-users), and nobody else's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.zhongtai.accounts.conftest import create, post_password
from zhongtai.accounts.models import LoginThrottle, Profile
from zhongtai.accounts.services import login_failure_record
from zhongtai.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW_CASHIER = {
    "username": "window3",
    "display_name": "三号窗口收费员",
    "phone": "13800000003",
    "password1": "Window@2026three",
    "password2": "Window@2026three",
}


@pytest.fixture
def admin_client(client: Client, unit_admin: Any) -> Client:
    client.force_login(unit_admin)
    return client


def test_the_page_lists_the_unit_s_users_only(admin_client: Client, cashier: Any, other_cashier: Any) -> None:
    response = admin_client.get("/accounts/unit-users/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="unit-user-cashier"' in page and 'data-testid="unit-user-unitadmin"' in page
    assert "cashier_b" not in page


def test_a_cashier_is_created_at_a_chosen_issuing_point(admin_client: Client, networked_unit: Any) -> None:
    point = networked_unit.issuing_points.get(code="CK02")
    response = admin_client.post("/accounts/unit-users/", {**NEW_CASHIER, "issuing_point": point.pk})
    assert response["Location"] == "/accounts/unit-users/"
    profile = Profile.objects.select_related("user").get(user__username="window3")
    assert (profile.role, profile.unit, profile.issuing_point) == ("cashier", networked_unit, point)
    assert not profile.user.is_staff and profile.user.check_password("Window@2026three")
    event = AuditEvent.objects.get(action="user.create", object_id="window3")
    assert (event.actor, event.unit_code) == ("unitadmin", networked_unit.code)
    # and the new cashier can sign in
    admin_client.post("/accounts/logout/")
    assert post_password(admin_client, "window3", "Window@2026three")["Location"] == "/portal/"


def test_another_unit_s_issuing_point_cannot_be_chosen(admin_client: Client, unit: Any) -> None:
    foreign_point = unit.issuing_points.get(code="MZ01")
    response = admin_client.post("/accounts/unit-users/", {**NEW_CASHIER, "issuing_point": foreign_point.pk})
    assert response.status_code == 400
    assert not Profile.objects.filter(user__username="window3").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"username": "CASHIER"}, "该用户名已被使用"),
        ({"password1": "123", "password2": "123"}, "密码"),
        ({"password2": "Other@2026pass"}, "两次输入的密码不一致"),
    ],
)
def test_bad_input_is_answered_on_the_form(
    admin_client: Client, cashier: Any, change: dict[str, str], message: str
) -> None:
    response = admin_client.post("/accounts/unit-users/", {**NEW_CASHIER, **change})
    assert response.status_code == 400 and message in response.content.decode()


def test_a_cashier_is_deactivated_and_their_session_ends(client: Client, unit_admin: Any, cashier: Any) -> None:
    # given the cashier signed in on another browser
    cashier_browser = Client()
    cashier_browser.force_login(cashier)
    client.force_login(unit_admin)
    # when the administrator deactivates them
    response = client.post(f"/accounts/unit-users/{cashier.profile.pk}/active/", {"active": "0"})
    # then the account is off, the cashier's session is over, and it is audited
    assert response["Location"] == "/accounts/unit-users/"
    cashier.refresh_from_db()
    assert not cashier.is_active
    assert cashier_browser.get("/portal/").status_code == 302
    assert AuditEvent.objects.filter(action="user.deactivate", object_id="cashier").exists()
    # and reactivation brings the account back
    client.post(f"/accounts/unit-users/{cashier.profile.pk}/active/", {"active": "1"})
    cashier.refresh_from_db()
    assert cashier.is_active


def test_a_cashier_s_password_is_reset_and_the_lock_lifted(admin_client: Client, cashier: Any) -> None:
    for _ in range(5):
        login_failure_record(username="cashier", reason="password", now=timezone.now())
    response = admin_client.post(
        f"/accounts/unit-users/{cashier.profile.pk}/password/",
        {"new_password1": "Reset@2026pass", "new_password2": "Reset@2026pass"},
    )
    assert response["Location"] == "/accounts/unit-users/"
    cashier.refresh_from_db()
    assert cashier.check_password("Reset@2026pass")
    assert not LoginThrottle.objects.filter(username_key="cashier").exists()
    assert AuditEvent.objects.get(action="user.password_reset", object_id="cashier").actor == "unitadmin"


def test_another_unit_s_cashier_is_not_found(admin_client: Client, other_cashier: Any) -> None:
    pk = other_cashier.profile.pk
    assert admin_client.post(f"/accounts/unit-users/{pk}/active/", {"active": "0"}).status_code == 404
    assert admin_client.get(f"/accounts/unit-users/{pk}/password/").status_code == 404
    other_cashier.refresh_from_db()
    assert other_cashier.is_active


def test_the_administrator_cannot_act_on_themselves_or_other_administrators(
    admin_client: Client, unit_admin: Any, networked_unit: Any
) -> None:
    second = create("unitadmin2", "unit_admin", unit=networked_unit)
    for target in (unit_admin, second):
        assert (
            admin_client.post(f"/accounts/unit-users/{target.profile.pk}/active/", {"active": "0"}).status_code == 404
        )


@pytest.mark.parametrize("persona", ["cashier", "auditor", "city_staff"])
def test_other_roles_are_forbidden(client: Client, persona: str, request: pytest.FixtureRequest) -> None:
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/accounts/unit-users/").status_code == 403


def test_visitors_are_sent_to_sign_in(client: Client, db: Any) -> None:
    response = client.get("/accounts/unit-users/")
    assert response["Location"] == "/accounts/login/?next=/accounts/unit-users/"


def test_the_active_switch_is_post_only(admin_client: Client, cashier: Any) -> None:
    assert admin_client.get(f"/accounts/unit-users/{cashier.profile.pk}/active/").status_code == 405


def test_the_security_page_links_the_unit_administrator_here(admin_client: Client) -> None:
    assert "/accounts/unit-users/" in admin_client.get("/accounts/security/").content.decode()
