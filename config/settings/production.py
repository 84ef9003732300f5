"""Production: every secret must be given; nothing falls back to a default."""

from __future__ import annotations

from config.env import env_bool, env_int, env_list, env_str
from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
EREC_KEK = env_str("EREC_KEK")
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)

# Receipt files go through STORAGES["default"]. For S3-compatible object storage,
# install django-storages in the deployment image and override STORAGES in a
# deployment-specific settings module (see docs/operations.md).
