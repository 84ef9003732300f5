from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "zhongtai.accounts"
    label = "accounts"
    verbose_name = "用户与权限"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from zhongtai.accounts.roles import sync_after_migrate
        from zhongtai.accounts.sessions import record_sign_in_time

        # Every login() records its time for the absolute session limit (test clients too).
        user_logged_in.connect(record_sign_in_time, dispatch_uid="erec_record_sign_in_time")
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="erec_role_groups_sync")
