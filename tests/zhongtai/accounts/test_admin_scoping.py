"""The bureaus' workbench (the Django admin): who gets in, and what each bureau sees and changes."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission as ModelPermission
from django.test import Client

from tests.support.factories import FeeItemFactory, FeeStandardFactory, RegionFactory, UnitFactory
from tests.zhongtai.accounts.conftest import create, with_totp
from zhongtai.accounts.models import Profile, Role
from zhongtai.accounts.roles import ROLE_GROUP_NAMES, permission_codes
from zhongtai.audit.models import AuditEvent
from zhongtai.audit.services import Actor
from zhongtai.gateway.services import credential_create
from zhongtai.masterdata.models import FeeStandard, Region, Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhuzhou(province: Region) -> Region:
    return RegionFactory(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)


@pytest.fixture
def zhuzhou_unit(zhuzhou: Region) -> Unit:
    return UnitFactory(code="430200001", name="株洲市第一人民医院", region=zhuzhou)


def as_user(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


# --- who gets in ----------------------------------------------------------------------------


def test_the_admin_login_page_sends_visitors_to_our_sign_in(client: Client, db: Any) -> None:
    response = client.get("/admin/masterdata/unit/", follow=True)
    assert [url for url, _ in response.redirect_chain] == [
        "/admin/login/?next=/admin/masterdata/unit/",
        "/accounts/login/?next=/admin/masterdata/unit/",
    ]
    assert 'name="next" value="/admin/masterdata/unit/"' in response.content.decode()


@pytest.mark.parametrize("persona", ["unit_admin", "cashier", "auditor"])
def test_unit_users_and_auditors_get_nothing_even_with_is_staff(
    client: Client, persona: str, request: pytest.FixtureRequest
) -> None:
    # given a unit user or an auditor made staff by mistake, with every admin permission at that
    user = request.getfixturevalue(persona)
    get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
    user.user_permissions.set(ModelPermission.objects.filter(content_type__app_label="masterdata"))
    as_user(client, user)
    # when they open the admin / then they are refused, not shown a login loop
    for url in ("/admin/", "/admin/masterdata/unit/", "/admin/login/"):
        response = client.get(url, follow=True)
        assert response.status_code == 403, url


def test_bureau_staff_reach_the_workbench_and_see_the_master_data(client: Client, changsha: Region) -> None:
    as_user(client, create("cs", "bureau_staff", region=changsha))
    page = client.get("/admin/").content.decode()
    assert "财政部门工作台" in page
    for model in ("unit", "feeitem", "feestandard", "region"):
        assert f"/admin/masterdata/{model}/" in page


def test_admin_logout_and_password_change_go_to_the_accounts_pages(client: Client, changsha: Region) -> None:
    as_user(client, create("cs", "bureau_staff", region=changsha))
    assert client.get("/admin/password_change/")["Location"] == "/accounts/security/"
    response = client.post("/admin/logout/")
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


# --- regions and units ---------------------------------------------------------------------


def test_changsha_staff_cannot_see_or_open_a_zhuzhou_unit(
    client: Client, changsha: Region, networked_unit: Unit, zhuzhou_unit: Unit
) -> None:
    as_user(client, create("cs", "bureau_staff", region=changsha))
    listing = client.get("/admin/masterdata/unit/").content.decode()
    assert networked_unit.name in listing and zhuzhou_unit.name not in listing
    assert client.get(f"/admin/masterdata/unit/{zhuzhou_unit.pk}/change/").status_code == 404
    assert client.get(f"/admin/masterdata/unit/{zhuzhou_unit.pk}/history/").status_code == 404
    assert client.get(f"/admin/masterdata/unit/{networked_unit.pk}/change/").status_code == 200


def test_county_staff_do_not_see_their_city_s_own_units(
    client: Client, furong: Region, networked_unit: Unit, other_unit: Unit
) -> None:
    as_user(client, create("fr", "bureau_staff", region=furong))
    listing = client.get("/admin/masterdata/unit/").content.decode()
    assert networked_unit.name in listing and other_unit.name not in listing


def test_the_province_sees_every_unit(
    client: Client, province: Region, networked_unit: Unit, zhuzhou_unit: Unit
) -> None:
    as_user(client, create("hn", "province_admin", region=province))
    listing = client.get("/admin/masterdata/unit/").content.decode()
    assert networked_unit.name in listing and zhuzhou_unit.name in listing


def test_region_choices_are_the_bureau_s_own(client: Client, changsha: Region, furong: Region, zhuzhou: Region) -> None:
    as_user(client, create("cs", "bureau_staff", region=changsha))
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "masterdata", "model_name": "unit", "field_name": "region", "term": ""},
    )
    codes = {item["text"] for item in response.json()["results"]}
    assert any("430102" in text for text in codes) and not any("430200" in text for text in codes)


def test_a_unit_cannot_be_moved_or_created_outside_the_region(
    client: Client, changsha: Region, networked_unit: Unit, zhuzhou: Region
) -> None:
    as_user(client, create("cs", "bureau_staff", region=changsha))
    response = client.post(
        "/admin/masterdata/unit/add/",
        {
            "code": "430200777",
            "name": "越权单位",
            "credit_code": "12430200MB00000001",
            "unit_type": "agency",
            "connection_mode": "networked",
            "region": zhuzhou.pk,
            "valid_from": "2026-01-01",
            "status": "active",
            "numbering_mode": "auto",
            "issuing_points-TOTAL_FORMS": "0",
            "issuing_points-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert not Unit.objects.filter(code="430200777").exists()


def test_a_change_in_the_region_is_saved_and_audited(client: Client, changsha: Region, networked_unit: Unit) -> None:
    as_user(client, create("cs", "bureau_staff", region=changsha))
    data = {
        field: getattr(networked_unit, field)
        for field in ("code", "name", "credit_code", "unit_type", "connection_mode", "status", "numbering_mode")
    }
    data.update(
        {
            "region": networked_unit.region.pk,
            "valid_from": networked_unit.valid_from.isoformat(),
            "contact_person": "王主任",
            "allowed_kinds": [k.pk for k in networked_unit.allowed_kinds.all()],
            "allowed_fee_items": [i.pk for i in networked_unit.allowed_fee_items.all()],
            "issuing_points-TOTAL_FORMS": "0",
            "issuing_points-INITIAL_FORMS": "0",
        }
    )
    response = client.post(f"/admin/masterdata/unit/{networked_unit.pk}/change/", data)
    assert response.status_code == 302
    networked_unit.refresh_from_db()
    assert networked_unit.contact_person == "王主任"
    event = AuditEvent.objects.get(action="admin.change", object_type="masterdata.unit")
    assert (event.actor, event.region_code, event.object_id) == ("cs", "430102", str(networked_unit.pk))
    assert "contact_person" in event.data["fields"]


def test_a_city_manages_regions_below_it_but_not_its_own(client: Client, changsha: Region, furong: Region) -> None:
    as_user(client, create("cs", "bureau_staff", region=changsha))
    own = client.get(f"/admin/masterdata/region/{changsha.pk}/change/").content.decode()
    below = client.get(f"/admin/masterdata/region/{furong.pk}/change/").content.decode()
    assert 'name="_save"' not in own and 'name="_save"' in below
    assert client.post(f"/admin/masterdata/region/{changsha.pk}/change/", {"name": "x"}).status_code == 403


# --- province-wide master data ------------------------------------------------------------------


def test_county_staff_see_but_cannot_change_a_province_wide_fee_item(
    client: Client, furong: Region, fee_fixed: Any
) -> None:
    as_user(client, create("fr", "bureau_staff", region=furong))
    assert fee_fixed.name in client.get("/admin/masterdata/feeitem/").content.decode()
    page = client.get(f"/admin/masterdata/feeitem/{fee_fixed.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    response = client.post(f"/admin/masterdata/feeitem/{fee_fixed.pk}/change/", {"code": "F0001", "name": "改名"})
    assert response.status_code == 403
    fee_fixed.refresh_from_db()
    assert fee_fixed.name == "证书工本费"
    assert client.get("/admin/masterdata/feeitem/add/").status_code == 403
    assert client.get("/admin/masterdata/receiptkind/add/").status_code == 403


def test_the_province_changes_province_wide_master_data(client: Client, province: Region, fee_fixed: Any) -> None:
    as_user(client, create("hn", "province_admin", region=province))
    page = client.get(f"/admin/masterdata/feeitem/{fee_fixed.pk}/change/").content.decode()
    assert 'name="_save"' in page
    assert client.get("/admin/masterdata/feeitem/add/").status_code == 200


def test_fee_standards_province_wide_are_read_only_below_the_province_and_regional_ones_are_scoped(
    client: Client, furong: Region, zhuzhou: Region, fee_fixed: Any
) -> None:
    # given the province-wide standard of an item, one of Furong and one of Zhuzhou
    province_wide = FeeStandard.objects.get(fee_item=fee_fixed, region__isnull=True)
    item = FeeItemFactory(code="F0100", name="区县项目")
    own = FeeStandardFactory(fee_item=item, region=furong, amount=Decimal("8.00"))
    theirs = FeeStandardFactory(fee_item=item, region=zhuzhou, amount=Decimal("9.00"))
    as_user(client, create("fr", "bureau_staff", region=furong))
    # then Furong sees the province-wide one (read-only) and its own (editable), not Zhuzhou's
    assert (
        'name="_save"' not in client.get(f"/admin/masterdata/feestandard/{province_wide.pk}/change/").content.decode()
    )
    assert 'name="_save"' in client.get(f"/admin/masterdata/feestandard/{own.pk}/change/").content.decode()
    assert client.get(f"/admin/masterdata/feestandard/{theirs.pk}/change/").status_code == 404
    # and cannot add a province-wide standard
    response = client.post(
        "/admin/masterdata/feestandard/add/",
        {"fee_item": item.pk, "region": "", "mode": "fixed", "amount": "5.00", "valid_from": "2026-01-01"},
    )
    assert response.status_code == 200 and "全省统一的数据只能由省级财政部门维护" in response.content.decode()
    assert not FeeStandard.objects.filter(fee_item=item, region__isnull=True).exists()
    # but can add its own
    response = client.post(
        "/admin/masterdata/feestandard/add/",
        {
            "fee_item": item.pk,
            "region": furong.pk,
            "mode": "fixed",
            "amount": "7.00",
            "valid_from": datetime.date(2026, 2, 1).isoformat(),
        },
    )
    assert response.status_code == 302
    assert FeeStandard.objects.filter(fee_item=item, region=furong, amount=Decimal("7.00")).exists()


# --- other models by region -------------------------------------------------------------------


def test_credentials_and_audit_rows_are_scoped_by_region(
    client: Client, changsha: Region, unit: Unit, zhuzhou: Region
) -> None:
    far_unit = UnitFactory(code="430200002", name="株洲接口医院", region=zhuzhou)
    mine = credential_create(unit=unit, actor=Actor.system("tests"))
    theirs = credential_create(unit=far_unit, actor=Actor.system("tests"))
    as_user(client, create("cs", "bureau_staff", region=changsha))
    credentials = client.get("/admin/gateway/apicredential/").content.decode()
    assert mine.credential.app_id in credentials and theirs.credential.app_id not in credentials
    audit = client.get("/admin/audit/auditevent/").content.decode()
    assert mine.credential.app_id in audit and theirs.credential.app_id not in audit


# --- users ------------------------------------------------------------------------------------


def test_users_of_another_region_are_not_found(client: Client, changsha: Region, zhuzhou: Region, cashier: Any) -> None:
    zz = create("zz", "bureau_staff", region=zhuzhou)
    as_user(client, create("cs", "bureau_staff", region=changsha))
    listing = client.get("/admin/accounts/profile/").content.decode()
    assert "cashier" in listing and ">zz<" not in listing
    assert client.get(f"/admin/accounts/profile/{zz.profile.pk}/change/").status_code == 404


def test_a_bureau_creates_a_unit_administrator_for_its_unit(
    client: Client, changsha: Region, networked_unit: Unit
) -> None:
    as_user(client, create("cs", "bureau_staff", region=changsha))
    response = client.post(
        "/admin/accounts/profile/add/",
        {
            "username": "new_admin",
            "password1": "Unit@2026admin",
            "password2": "Unit@2026admin",
            "role": "unit_admin",
            "display_name": "新单位管理员",
            "unit": networked_unit.pk,
            "phone": "",
        },
    )
    assert response.status_code == 302
    profile = Profile.objects.get(user__username="new_admin")
    assert (profile.role, profile.unit, profile.user.is_staff) == ("unit_admin", networked_unit, False)
    assert profile.user.check_password("Unit@2026admin")
    assert AuditEvent.objects.get(action="user.create", object_id="new_admin").actor == "cs"


def test_only_a_province_administrator_makes_province_administrators(client: Client, province: Region) -> None:
    as_user(client, create("hn_staff", "bureau_staff", region=province))
    response = client.post(
        "/admin/accounts/profile/add/",
        {
            "username": "boss",
            "password1": "Boss@2026admin",
            "password2": "Boss@2026admin",
            "role": "province_admin",
            "display_name": "越权",
            "region": province.pk,
        },
    )
    assert response.status_code == 200 and "只有省级管理员可以设置省级管理员角色" in response.content.decode()
    assert not get_user_model().objects.filter(username="boss").exists()


def test_nobody_edits_their_own_profile_in_the_admin(client: Client, changsha: Region) -> None:
    me = create("cs", "bureau_staff", region=changsha)
    as_user(client, me)
    response = client.post(f"/admin/accounts/profile/{me.profile.pk}/change/", {"role": "bureau_staff"})
    assert response.status_code == 403


def test_a_bureau_resets_a_lost_authenticator(client: Client, changsha: Region, county_user: Any) -> None:
    as_user(client, create("cs", "bureau_staff", region=changsha))
    client.post(
        "/admin/accounts/profile/",
        {"action": "reset_totp", "_selected_action": [county_user.profile.pk]},
    )
    county_user.profile.refresh_from_db()
    assert not county_user.profile.totp_enabled
    assert AuditEvent.objects.get(action="user.totp_reset", object_id="fr_staff").actor == "cs"


# --- role groups ------------------------------------------------------------------------------


def test_every_permission_the_roles_name_exists_and_none_deletes() -> None:
    for role in ROLE_GROUP_NAMES:
        codes = permission_codes(role)
        found = {
            (p.content_type.app_label, p.codename)
            for p in ModelPermission.objects.select_related("content_type").filter(
                codename__in=[codename for _, codename in codes]
            )
        }
        assert codes <= found, codes - found
        assert not any(codename.startswith("delete_") for _, codename in codes)


def test_bureau_roles_get_their_group_and_staff_unit_roles_neither(changsha: Region, networked_unit: Unit) -> None:
    staff = create("cs", "bureau_staff", region=changsha)
    cashier = create("cs_cashier", "cashier", unit=networked_unit)
    assert staff.is_staff and list(staff.groups.values_list("name", flat=True)) == ["财政部门工作人员"]
    assert staff.has_perm("masterdata.change_unit") and not staff.has_perm("masterdata.delete_unit")
    assert not cashier.is_staff and not cashier.groups.exists()
    assert Role.BUREAU_STAFF in ROLE_GROUP_NAMES


def test_province_staff_cannot_touch_a_province_administrator(client: Client, province: Region) -> None:
    boss = with_totp(create("boss", "province_admin", region=province))
    as_user(client, create("hn_staff", "bureau_staff", region=province))
    assert client.post(f"/admin/accounts/profile/{boss.profile.pk}/change/", {"role": "cashier"}).status_code == 403
    client.post("/admin/accounts/profile/", {"action": "reset_totp", "_selected_action": [boss.profile.pk]})
    boss.profile.refresh_from_db()
    assert boss.profile.totp_enabled and boss.profile.role == "province_admin"
