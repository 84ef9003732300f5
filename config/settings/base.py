"""Settings for every environment, driven by environment variables.

Embedded default (no environment at all): SQLite in ``var/`` with IMMEDIATE
transactions, Celery tasks executed in-process, files in ``var/media``.
With ``DATABASE_URL`` and ``REDIS_URL`` set: PostgreSQL, Redis and real workers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
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
    # The admin is the bureaus' workbench: its site signs in through accounts and checks the role.
    "zhongtai.accounts.admin_config.WorkbenchAdminConfig",
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
    "zhongtai.messaging",
    "zhongtai.national",
    "zhongtai.onboarding",
    "zhongtai.webhooks",
    "issuance",
    "issuance.paper",
    "settlement",
    "verification",
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
    "zhongtai.onboarding.middleware.JointTestChecklistMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "zhongtai.accounts.sessions.SessionLimitMiddleware",
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
            # The default (300 entries) would cull the public verification page's rate-limit
            # counters as soon as visitors fill the table with captchas (verification/limits.py).
            "OPTIONS": {"MAX_ENTRIES": 100_000},
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
    "purge-sign-in-records": {
        "task": "zhongtai.accounts.tasks.sign_in_records_purge_task",
        "schedule": 3600.0,
    },
    "sweep-outgoing-messages": {
        "task": "zhongtai.messaging.tasks.messages_sweep_task",
        "schedule": 60.0,
    },
    "sweep-webhooks": {
        "task": "zhongtai.webhooks.tasks.webhooks_sweep_task",
        "schedule": 60.0,
    },
    "sweep-national-events": {
        "task": "zhongtai.national.tasks.national_events_sweep_task",
        "schedule": 30.0,
    },
    # Yesterday's figures against the national platform's, each night at 02:30 Beijing time.
    "reconcile-national-daily": {
        "task": "settlement.tasks.national_reconcile_yesterday_task",
        "schedule": crontab(hour=2, minute=30),
    },
}

# --- Auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sessions live in the database, so that every web host sees them (and their expiry).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Idle timeout: each request moves the session's expiry this far ahead.
EREC_SESSION_IDLE_MINUTES = env_int("EREC_SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = EREC_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
# Absolute limit from the sign-in, whatever the activity (zhongtai.accounts.sessions).
EREC_SESSION_MAX_HOURS = env_int("EREC_SESSION_MAX_HOURS", 12)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Lockout: this many consecutive failures (passwords and TOTP codes) lock the name typed.
EREC_LOGIN_MAX_FAILURES = env_int("EREC_LOGIN_MAX_FAILURES", 5)
EREC_LOGIN_LOCK_MINUTES = env_int("EREC_LOGIN_LOCK_MINUTES", 15)
# The name authenticator apps show next to the account (otpauth:// issuer).
EREC_TOTP_ISSUER = env_str("EREC_TOTP_ISSUER", "财政电子票据")
if min(EREC_SESSION_IDLE_MINUTES, EREC_SESSION_MAX_HOURS, EREC_LOGIN_MAX_FAILURES, EREC_LOGIN_LOCK_MINUTES) < 1:
    raise ImproperlyConfigured(
        "EREC_SESSION_IDLE_MINUTES, EREC_SESSION_MAX_HOURS, EREC_LOGIN_MAX_FAILURES and "
        "EREC_LOGIN_LOCK_MINUTES must be positive."
    )
if not EREC_TOTP_ISSUER.strip() or ":" in EREC_TOTP_ISSUER:
    raise ImproperlyConfigured("EREC_TOTP_ISSUER must be a non-empty name without ':'.")

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
# Django's FileSystemStorage with a short path for saving a new file (see zhongtai/core/storage.py).
STORAGES = {
    "default": {"BACKEND": "zhongtai.core.storage.LocalFileStorage"},
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

# --- Public verification (verification: /verify/ and /api/v1/public/) ----------------------
# Checks one client (an IPv4 address, an IPv6 /64) may make on /verify/ per window, QR links included.
EREC_VERIFY_RATE_LIMIT = env_int("EREC_VERIFY_RATE_LIMIT", 30)
EREC_VERIFY_RATE_WINDOW_SECONDS = env_int("EREC_VERIFY_RATE_WINDOW_SECONDS", 600)
# Checks of one receipt (code + number) one client may make per calendar day (Asia/Shanghai).
EREC_VERIFY_RATE_PER_RECEIPT_DAILY = env_int("EREC_VERIFY_RATE_PER_RECEIPT_DAILY", 5)
# Captchas one client may be shown per window (every form page draws a new one).
EREC_VERIFY_RATE_CAPTCHAS = env_int("EREC_VERIFY_RATE_CAPTCHAS", 60)
EREC_VERIFY_CAPTCHA_SECONDS = env_int("EREC_VERIFY_CAPTCHA_SECONDS", 300)
# How long the download links of an answer page work.
EREC_VERIFY_DOWNLOAD_SECONDS = env_int("EREC_VERIFY_DOWNLOAD_SECONDS", 1800)
# How long a receipt's signature verdict is kept in the cache (revocations invalidate it at once).
EREC_VERIFY_VERDICT_CACHE_SECONDS = env_int("EREC_VERIFY_VERDICT_CACHE_SECONDS", 7 * 24 * 3600)
# Reverse proxies in front of the platform that append to X-Forwarded-For; 0: use REMOTE_ADDR.
EREC_TRUSTED_PROXY_COUNT = env_int("EREC_TRUSTED_PROXY_COUNT", 0)
if (
    min(
        EREC_VERIFY_RATE_LIMIT,
        EREC_VERIFY_RATE_WINDOW_SECONDS,
        EREC_VERIFY_RATE_PER_RECEIPT_DAILY,
        EREC_VERIFY_RATE_CAPTCHAS,
        EREC_VERIFY_CAPTCHA_SECONDS,
        EREC_VERIFY_DOWNLOAD_SECONDS,
        EREC_VERIFY_VERDICT_CACHE_SECONDS,
    )
    < 1
    or EREC_TRUSTED_PROXY_COUNT < 0
):
    raise ImproperlyConfigured(
        "EREC_VERIFY_* settings must be positive and EREC_TRUSTED_PROXY_COUNT must be 0 or more."
    )

# --- Messages to payers (zhongtai.messaging: SMS, email) -------------------------------
# Email goes through Django's mail. Without EMAIL_BACKEND it is only written to the console
# (the log then says 仅记录（未配置邮件服务器）); set the SMTP backend and host to send.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL exclude each other: set one of them.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EREC_MAIL_FROM = env_str("EREC_MAIL_FROM", "财政电子票据 <noreply@localhost>")
if "@" not in EREC_MAIL_FROM:
    raise ImproperlyConfigured("EREC_MAIL_FROM must be an address, e.g. '财政电子票据 <noreply@example.gov.cn>'.")
DEFAULT_FROM_EMAIL = EREC_MAIL_FROM
# SMS: "console" (log only, nothing sent: the embedded default), "http" (a generic gateway,
# EREC_SMS_URL + EREC_SMS_SECRET), another registered name, or the dotted path of a provider.
EREC_SMS_PROVIDER = env_str("EREC_SMS_PROVIDER", "console")
if not EREC_SMS_PROVIDER or not all(part.isidentifier() for part in EREC_SMS_PROVIDER.split(".")):
    raise ImproperlyConfigured("EREC_SMS_PROVIDER must be a provider name or a dotted path, e.g. 'http'.")
EREC_SMS_URL = env_str("EREC_SMS_URL", "")
if EREC_SMS_URL and not EREC_SMS_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("EREC_SMS_URL must be an http:// or https:// URL.")
EREC_SMS_SECRET = env_str("EREC_SMS_SECRET", "")
EREC_SMS_TIMEOUT_SECONDS = env_int("EREC_SMS_TIMEOUT_SECONDS", 10)
# A message is tried this often before it is marked failed (发送失败); retries back off 30 s, 60 s …
EREC_MESSAGE_MAX_ATTEMPTS = env_int("EREC_MESSAGE_MAX_ATTEMPTS", 5)
# Messages one receipt may be sent per day (counted in the database, failed ones included).
EREC_MESSAGES_PER_RECEIPT_PER_DAY = env_int("EREC_MESSAGES_PER_RECEIPT_PER_DAY", 5)
if min(EMAIL_TIMEOUT, EREC_SMS_TIMEOUT_SECONDS, EREC_MESSAGE_MAX_ATTEMPTS, EREC_MESSAGES_PER_RECEIPT_PER_DAY) < 1:
    raise ImproperlyConfigured(
        "EMAIL_TIMEOUT, EREC_SMS_TIMEOUT_SECONDS, EREC_MESSAGE_MAX_ATTEMPTS and "
        "EREC_MESSAGES_PER_RECEIPT_PER_DAY must be positive."
    )

# --- The national platform (全国财政电子票据平台, zhongtai.national; docs/national.md) ----------
# Base URL, e.g. http://127.0.0.1:8700. Empty turns pushing off: events wait in the outbox
# (a system check warns in production).
EREC_NATIONAL_URL = env_str("EREC_NATIONAL_URL", "").rstrip("/")
if EREC_NATIONAL_URL and not EREC_NATIONAL_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("EREC_NATIONAL_URL must be an http:// or https:// URL.")
EREC_NATIONAL_SECRET = env_str("EREC_NATIONAL_SECRET", "")
if EREC_NATIONAL_URL and not EREC_NATIONAL_SECRET:
    raise ImproperlyConfigured("EREC_NATIONAL_SECRET is required when EREC_NATIONAL_URL is set.")
EREC_NATIONAL_TIMEOUT = env_int("EREC_NATIONAL_TIMEOUT", 10)
# An event is tried this often before it is a dead letter (失败待人工处理).
EREC_NATIONAL_MAX_ATTEMPTS = env_int("EREC_NATIONAL_MAX_ATTEMPTS", 8)
# Backoff after the n-th failed attempt: base x 2^(n-1) seconds, at most an hour.
EREC_NATIONAL_RETRY_SECONDS = env_int("EREC_NATIONAL_RETRY_SECONDS", 30)
# How long a worker holds the events it claimed; longer than a request can take.
EREC_NATIONAL_LEASE_SECONDS = env_int("EREC_NATIONAL_LEASE_SECONDS", 120)
if min(EREC_NATIONAL_TIMEOUT, EREC_NATIONAL_MAX_ATTEMPTS, EREC_NATIONAL_RETRY_SECONDS) < 1:
    raise ImproperlyConfigured(
        "EREC_NATIONAL_TIMEOUT, EREC_NATIONAL_MAX_ATTEMPTS and EREC_NATIONAL_RETRY_SECONDS must be positive."
    )
if EREC_NATIONAL_LEASE_SECONDS <= EREC_NATIONAL_TIMEOUT:
    raise ImproperlyConfigured("EREC_NATIONAL_LEASE_SECONDS must be longer than EREC_NATIONAL_TIMEOUT.")

# --- Webhooks (zhongtai.webhooks: signed callbacks to parties and interface units) ----
# http:// callback addresses are refused unless DEBUG or this (the embedded default allows them;
# production refuses them unless told otherwise).
EREC_WEBHOOK_ALLOW_HTTP = env_bool("EREC_WEBHOOK_ALLOW_HTTP", True)
# Callback addresses on loopback, private or reserved networks (production refuses them).
EREC_WEBHOOK_ALLOW_PRIVATE = env_bool("EREC_WEBHOOK_ALLOW_PRIVATE", True)
EREC_WEBHOOK_TIMEOUT_SECONDS = env_int("EREC_WEBHOOK_TIMEOUT_SECONDS", 10)
# A delivery is tried this often before it is given up (已放弃); retries back off 30 s, 60 s … 1 h.
EREC_WEBHOOK_MAX_ATTEMPTS = env_int("EREC_WEBHOOK_MAX_ATTEMPTS", 8)
if min(EREC_WEBHOOK_TIMEOUT_SECONDS, EREC_WEBHOOK_MAX_ATTEMPTS) < 1:
    raise ImproperlyConfigured("EREC_WEBHOOK_TIMEOUT_SECONDS and EREC_WEBHOOK_MAX_ATTEMPTS must be positive.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # One line per task is noise when tasks run in-process (embedded default).
    "loggers": {"celery.app.trace": {"level": env_str("CELERY_TRACE_LOG_LEVEL", "WARNING")}},
}
