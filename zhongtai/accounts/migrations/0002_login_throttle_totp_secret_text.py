"""Lockout moves to its own table (LoginThrottle); the sealed TOTP secret becomes text.

``secret_encrypt`` yields text (a Fernet token), so the column is text. No code ever wrote
the old binary column, so it is dropped and added again rather than cast (a cast of bytea
to text on PostgreSQL would give the hex form, not the token).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RemoveField(model_name="profile", name="failed_logins"),
        migrations.RemoveField(model_name="profile", name="locked_until"),
        migrations.RemoveField(model_name="profile", name="totp_secret_sealed"),
        migrations.AddField(
            model_name="profile",
            name="totp_secret_sealed",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="动态口令密钥（加密）"),
        ),
        migrations.CreateModel(
            name="LoginThrottle",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("username_key", models.CharField(max_length=150, unique=True, verbose_name="登录名（规范化）")),
                ("failures", models.PositiveIntegerField(default=0, verbose_name="连续失败次数")),
                ("last_failure_at", models.DateTimeField(blank=True, null=True, verbose_name="最近失败时间")),
                ("locked_until", models.DateTimeField(blank=True, null=True, verbose_name="锁定至")),
            ],
            options={
                "verbose_name": "登录失败记录",
                "verbose_name_plural": "登录失败记录",
                "indexes": [models.Index(fields=["last_failure_at"], name="login_throttle_last_failure")],
            },
        ),
    ]
