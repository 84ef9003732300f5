"""Production: every secret must be given; nothing falls back to a default."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_required
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, EREC_SMS_PROVIDER

DEBUG = False
SECRET_KEY = env_required("DJANGO_SECRET_KEY")
EREC_KEK = env_required("EREC_KEK")
DATABASE_URL = env_required("DATABASE_URL")
REDIS_URL = env_required("REDIS_URL")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
# Printed into every layout file's QR code: it must be the public address, never a default.
EREC_PUBLIC_BASE_URL = env_required("EREC_PUBLIC_BASE_URL").rstrip("/")
# The SMS gateway's address and shared secret have no default.
if EREC_SMS_PROVIDER == "http":
    EREC_SMS_URL = env_required("EREC_SMS_URL")
    EREC_SMS_SECRET = env_required("EREC_SMS_SECRET")
# Callbacks go to https:// addresses on public networks only, unless explicitly allowed.
EREC_WEBHOOK_ALLOW_HTTP = env_bool("EREC_WEBHOOK_ALLOW_HTTP", False)
EREC_WEBHOOK_ALLOW_PRIVATE = env_bool("EREC_WEBHOOK_ALLOW_PRIVATE", False)
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production runs on PostgreSQL: DATABASE_URL must be a postgres:// URL.")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name the host names the platform answers to.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)

# Receipt files go through STORAGES["default"]. For S3-compatible object storage,
# install django-storages in the deployment image and override STORAGES in a
# deployment-specific settings module (see docs/operations.md).
