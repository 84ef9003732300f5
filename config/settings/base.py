"""Settings for every environment, driven by environment variables.

Embedded default (no environment at all): SQLite in ``var/`` with IMMEDIATE
transactions, Celery tasks executed in-process, files in ``var/media``.
With ``DATABASE_URL`` and ``REDIS_URL`` set: PostgreSQL, Redis and real workers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_opt, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("EREC_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
# The embedded default runs without any secret configured; production.py insists on one.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "embedded-default-insecure-key-change-me-in-production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "zhongtai.audit",
    "zhongtai.accounts",
    "zhongtai.masterdata",
    "zhongtai.numbering",
    "zhongtai.gateway",
    "zhongtai.signing",
    "issuance",
    "settlement",
    "qianduan",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "qianduan.navigation.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_opt("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "ereceipt.sqlite3"),
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue
            # instead of failing half-way with "database is locked".
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
):
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:// URL.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ------------------------------------------------------------
REDIS_URL = env_opt("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "erec",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "erec_cache",
        }
    }

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without a broker, tasks run in the calling process (embedded default).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", REDIS_URL is None)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE = {
    "warn-expiring-certificates": {
        "task": "zhongtai.signing.tasks.certificates_expiry_warn_task",
        "schedule": 24 * 3600.0,
    },
    "publish-crl": {
        "task": "zhongtai.signing.tasks.crl_publish_task",
        "schedule": 24 * 3600.0,
    },
    "sweep-receipt-jobs": {
        "task": "issuance.tasks.receipt_jobs_sweep_task",
        "schedule": 30.0,
    },
    "purge-used-nonces": {
        "task": "zhongtai.gateway.tasks.nonce_purge_task",
        "schedule": 300.0,
    },
}

# --- Auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:dashboard"

# --- I18N ---------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Files --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- REST framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["zhongtai.gateway.authentication.HmacSignatureAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["zhongtai.gateway.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "zhongtai.core.exception_handler.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "财政电子票据管理系统 API (Fiscal e-receipt platform)",
    "DESCRIPTION": (
        "Standard REST interface of the provincial fiscal e-receipt platform. "
        "Every request is signed with HMAC-SHA256; see docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Platform -------------------------------------------------------------------
# Two-digit province code that starts every receipt code (Hunan: 43).
EREC_PROVINCE_CODE = env_str("EREC_PROVINCE_CODE", "43")
if not (len(EREC_PROVINCE_CODE) == 2 and EREC_PROVINCE_CODE.isdigit()):
    raise ImproperlyConfigured("EREC_PROVINCE_CODE must be two digits.")
# Key-encryption key for secrets at rest (API secrets; later signing keys).
# The embedded default derives one from SECRET_KEY; production requires its own.
EREC_KEK = env_str("EREC_KEK", hashlib.sha256(("kek:" + SECRET_KEY).encode()).hexdigest())
EREC_API_CLOCK_SKEW_SECONDS = env_int("EREC_API_CLOCK_SKEW_SECONDS", 300)
EREC_NONCE_BACKEND = env_str("EREC_NONCE_BACKEND", "redis" if REDIS_URL else "database")
if EREC_NONCE_BACKEND not in ("redis", "database"):
    raise ImproperlyConfigured("EREC_NONCE_BACKEND must be 'redis' or 'database'.")
EREC_BATCH_MAX = env_int("EREC_BATCH_MAX", 500)
# Single issuance signs inside the request (a few ms) so that it answers with a signed receipt.
EREC_SIGN_IN_REQUEST = env_bool("EREC_SIGN_IN_REQUEST", True)
# A pipeline job a worker claimed is given to another worker after this long (crashed worker).
EREC_JOB_LEASE_SECONDS = env_int("EREC_JOB_LEASE_SECONDS", 300)
# Public address of the verification page, printed as the QR code of every layout file.
EREC_PUBLIC_BASE_URL = env_str("EREC_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# A TrueType CJK font for layout files; by default Debian's fonts-wqy-zenhei.
EREC_CJK_FONT = env_str("EREC_CJK_FONT", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # One line per task is noise when tasks run in-process (embedded default).
    "loggers": {"celery.app.trace": {"level": env_str("CELERY_TRACE_LOG_LEVEL", "WARNING")}},
}
