"""``manage.py demo_totp <username>``: the current TOTP code of a demo bureau user.

It works only for a user whose stored secret is the secret published for that demo login in
``zhongtai.masterdata.demo_data``: for every other account it refuses, so it is no way to
read a real account's codes (the published secrets protect nothing in the first place).
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zhongtai.accounts import totp
from zhongtai.accounts.services import profile_of, totp_secret_of
from zhongtai.masterdata import demo_data as demo

PRODUCTION_SETTINGS = "config.settings.production"


class Command(BaseCommand):
    help = "打印演示账号当前的动态口令（仅限使用公开演示密钥的账号）。Print a demo user's current TOTP code."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="演示账号，如 admin、hunan、changsha、furong")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.SETTINGS_MODULE == PRODUCTION_SETTINGS:
            raise CommandError("生产环境不提供演示动态口令。demo_totp is never run with production settings.")
        username = options["username"]
        published = {spec.username: spec.totp_secret for spec in demo.DEMO_USERS if spec.totp_secret}
        refused = f"{username} 不是使用公开演示密钥的演示账号，拒绝打印动态口令。"
        if username not in published:
            raise CommandError(refused)
        user = get_user_model().objects.filter(username=username).first()
        profile = profile_of(user)
        if profile is None or not profile.totp_enabled:
            raise CommandError(f"{username} 尚未启用动态口令：请先运行 manage.py load_demo。")
        secret = totp_secret_of(profile)
        if not hmac.compare_digest(secret, totp.secret_from_base32(published[username])):
            raise CommandError(refused)
        now = timezone.now()
        self.stdout.write(totp.totp(secret, now))
        self.stderr.write(f"（{totp.seconds_left(now)} 秒后更新；每个口令只能使用一次）")
