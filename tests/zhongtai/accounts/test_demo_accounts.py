"""The demo's logins: published TOTP secrets, ``demo_totp`` (demo secrets only), upgrading an old demo."""

from __future__ import annotations

import datetime
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from tests.support.factories import IssuingPointFactory, RegionFactory, UnitFactory
from tests.zhongtai.accounts.conftest import create, post_password, signed_in_user_id, with_totp
from zhongtai.accounts import totp
from zhongtai.accounts.models import Profile
from zhongtai.masterdata import demo_data as demo
from zhongtai.masterdata.management.commands.load_demo import _users_load
from zhongtai.masterdata.models import Region, Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_scopes(province: Region, changsha: Region, furong: Region) -> tuple[dict[str, Region], dict[str, Unit]]:
    """Just the regions and units the demo logins hang on."""
    tianxin = RegionFactory(code="430103", name="天心区", level=Region.Level.COUNTY, parent=changsha)
    police = UnitFactory(code="430102003", name="长沙市公安局芙蓉分局", region=furong, connection_mode="networked")
    IssuingPointFactory(unit=police, code="HZ01", name="户政出入境服务窗口")
    court = UnitFactory(code="430103001", name="长沙市天心区人民法院", region=tianxin, connection_mode="networked")
    regions = {r.code: r for r in (province, changsha, furong, tianxin)}
    return regions, {u.code: u for u in (police, court)}


def demo_totp(username: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("demo_totp", username, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_every_bureau_demo_login_has_its_own_published_secret() -> None:
    secrets = {u.username: u.totp_secret for u in demo.DEMO_USERS if u.role in ("province_admin", "bureau_staff")}
    assert set(secrets) == {"admin", "hunan", "changsha", "furong"}
    assert len(set(secrets.values())) == 4
    assert all(len(totp.secret_from_base32(s)) == 20 for s in secrets.values())


def test_the_demo_users_are_loaded_and_a_demo_code_signs_in(
    client: Client, demo_scopes: tuple[dict[str, Region], dict[str, Unit]]
) -> None:
    # given the demo logins loaded
    regions, units = demo_scopes
    created: Counter[str] = Counter()
    _users_load(regions, units, created)
    assert created["user"] == len(demo.DEMO_USERS)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.profile.role == "province_admin"
    # when changsha signs in with the password and the code demo_totp prints
    assert post_password(client, "changsha", demo.DEMO_PASSWORD)["Location"] == "/accounts/login/verify/"
    code = demo_totp("changsha")
    assert len(code) == 6 and code.isdigit()
    client.post("/accounts/login/verify/", {"code": code})
    # then they are in
    assert signed_in_user_id(client) == str(get_user_model().objects.get(username="changsha").pk)


def test_loading_again_adds_nothing_and_changes_nothing(demo_scopes: tuple[dict[str, Region], dict[str, Unit]]) -> None:
    regions, units = demo_scopes
    _users_load(regions, units, Counter())
    profile = Profile.objects.get(user__username="cashier")
    profile.display_name = "改过的名字"
    profile.save()
    again: Counter[str] = Counter()
    _users_load(regions, units, again)
    assert again["user"] == 0
    assert Profile.objects.get(user__username="cashier").display_name == "改过的名字"


def test_an_old_demo_s_users_get_their_roles_and_second_factor(
    demo_scopes: tuple[dict[str, Region], dict[str, Unit]],
) -> None:
    # given a demo loaded before roles existed: a bare superuser and a bare staff user
    user_model = get_user_model()
    user_model.objects.create_superuser("admin", "", demo.DEMO_PASSWORD)
    user_model.objects.create_user("changsha", password=demo.DEMO_PASSWORD, is_staff=True)
    # when the demo is loaded again
    regions, units = demo_scopes
    _users_load(regions, units, Counter())
    # then they have their profiles, groups and published second factor
    changsha = Profile.objects.get(user__username="changsha")
    assert (changsha.role, changsha.region.code, changsha.totp_enabled) == ("bureau_staff", "430100", True)
    assert changsha.user.groups.filter(name="财政部门工作人员").exists()
    assert Profile.objects.get(user__username="admin").totp_enabled


def test_demo_totp_refuses_an_account_whose_secret_is_not_the_published_one(changsha: Region) -> None:
    # given a real account that happens to be called "changsha", with its own secret
    with_totp(create("changsha", "bureau_staff", region=changsha), secret=totp.secret_generate())
    # when its code is asked for / then the command refuses
    with pytest.raises(CommandError, match="不是使用公开演示密钥的演示账号"):
        demo_totp("changsha")


def test_demo_totp_refuses_names_that_are_not_demo_logins(city_user: Any) -> None:
    with pytest.raises(CommandError, match="不是使用公开演示密钥的演示账号"):
        demo_totp("cs_staff")


def test_demo_totp_says_when_the_demo_is_not_loaded(db: Any) -> None:
    with pytest.raises(CommandError, match="load_demo"):
        demo_totp("furong")


def test_demo_totp_prints_the_code_of_the_published_secret(furong: Region) -> None:
    published = totp.secret_from_base32(next(u.totp_secret for u in demo.DEMO_USERS if u.username == "furong"))
    with_totp(create("furong", "bureau_staff", region=furong), secret=published)
    code = demo_totp("furong")
    now = timezone.now()
    assert code in {totp.totp(published, now), totp.totp(published, now - datetime.timedelta(seconds=30))}


def test_demo_logins_prints_each_role_scope_and_secret(demo_scopes: tuple[dict[str, Region], dict[str, Unit]]) -> None:
    regions, units = demo_scopes
    _users_load(regions, units, Counter())
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    for user in demo.DEMO_USERS:
        assert user.username in text
    assert "430102003 长沙市公安局芙蓉分局" in text and "430100 长沙市" in text
    assert "单位管理员" in text and "收费员" in text and "审计员" in text
    secrets = [user.totp_secret for user in demo.DEMO_USERS if user.totp_secret]
    assert all(secret in text for secret in secrets)
    assert text.count("动态口令密钥 TOTP secret") == len(secrets) == 4
    assert "/accounts/login/" in text and "demo_totp" in text


def test_demo_totp_refuses_production_settings(furong: Region) -> None:
    published = totp.secret_from_base32(next(u.totp_secret for u in demo.DEMO_USERS if u.username == "furong"))
    with_totp(create("furong", "bureau_staff", region=furong), secret=published)
    with override_settings(SETTINGS_MODULE="config.settings.production"), pytest.raises(CommandError, match="生产环境"):
        demo_totp("furong")
