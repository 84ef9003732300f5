"""``manage.py demo_logins``: where the demo runs and how to log in to it."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from verification.demo import verification_demo_logins
from zhongtai.accounts.models import Role
from zhongtai.gateway.models import ApiCredential
from zhongtai.masterdata import demo_data as demo
from zhongtai.masterdata.models import Region, Unit

# A server bound to every interface is reached locally through the loopback address.
_WILDCARD_HOSTS = {"0.0.0.0", "::", "[::]"}


def base_url() -> str:
    host = os.environ.get("HOST") or "127.0.0.1"
    port = os.environ.get("PORT") or "8000"
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _where(user: demo.DemoUser) -> str:
    """The demo user's unit or region, by name when the demo is loaded."""
    if user.unit_code:
        unit = Unit.objects.filter(code=user.unit_code).first()
        return f"{user.unit_code} {unit.name}" if unit else user.unit_code
    region = Region.objects.filter(code=user.region_code).first()
    return f"{user.region_code} {region.name}" if region else user.region_code


class Command(BaseCommand):
    help = "打印演示环境的访问地址、演示账号与演示接口凭证。Print the demo addresses, logins and API credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        url = base_url()
        missing = "  ← 尚未创建，请先运行 manage.py load_demo（not loaded yet）"
        usernames = set(
            get_user_model()
            .objects.filter(username__in=[u.username for u in demo.DEMO_USERS])
            .values_list("username", flat=True)
        )
        credential_present = ApiCredential.objects.filter(
            app_id=demo.DEMO_API_APP_ID, status=ApiCredential.Status.ACTIVE
        ).exists()
        unit = Unit.objects.filter(code=demo.DEMO_API_UNIT_CODE).first()
        unit_name = unit.name if unit else "长沙市芙蓉区人民医院"
        rule = "=" * 72
        lines = [
            rule,
            "财政电子票据管理系统 · 演示环境 Demo",
            rule,
            "访问地址 Addresses",
            f"  首页 Home                     {url}/",
            f"  登录 Sign in                  {url}/accounts/login/",
            f"  管理后台 Admin                {url}/admin/",
            f"  接口文档 API docs             {url}/api/docs/",
            f"  接口描述 OpenAPI schema       {url}/api/schema/",
            "",
            f"演示账号 Demo logins（密码 password: {demo.DEMO_PASSWORD}，仅供演示 demo only）",
        ]
        for user in demo.DEMO_USERS:
            note = "" if user.username in usernames else missing
            lines.append(f"  {user.username:<10} {Role(user.role).label} · {_where(user)} · {user.note}{note}")
            if user.totp_secret:
                lines.append(f"  {'':<10} 动态口令密钥 TOTP secret {user.totp_secret}")
        from zhongtai.onboarding.demo import NEW_UNIT, NEW_UNIT_ADMIN

        lines.append(
            f"  {NEW_UNIT_ADMIN:<10} 单位管理员 · {NEW_UNIT.code} {NEW_UNIT.name} · "
            "接口单位，尚未申请接入（演示从对接申请到生产凭证的全流程）"
        )
        lines.append("  财政部门账号须输入动态口令：把上面的密钥加入验证器 App，")
        lines.append("  或运行 manage.py demo_totp <用户名> 打印当前口令（仅对演示密钥有效 demo secrets only）。")
        lines += [
            "",
            "演示接口凭证 Demo API credentials（仅供演示 demo only）" + ("" if credential_present else missing),
            f"  单位 Unit      {demo.DEMO_API_UNIT_CODE} {unit_name}（接口单位 interface unit）",
            f"  AppId          {demo.DEMO_API_APP_ID}",
            f"  Secret         {demo.DEMO_API_SECRET}",
            f"  接口地址 API   {url}/api/v1/  例如 e.g. GET /api/v1/receipts?busDate=YYYY-MM-DD",
            "  请求须按接口文档签名（X-App-Id、X-Timestamp、X-Nonce、X-Signature）。",
            *verification_demo_logins(url),
            rule,
        ]
        self.stdout.write("\n".join(lines))
