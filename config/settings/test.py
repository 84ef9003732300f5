"""Test settings: SQLite in memory by default, PostgreSQL/Redis when the
environment names them (``make test`` runs the suite once for each)."""

from __future__ import annotations

from config.env import env_opt
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["TEST"] = {"NAME": None}
    DATABASES["default"]["OPTIONS"].pop("init_command", None)
# Files in memory, unless a test shares them with a worker process through a folder.
_media = env_opt("EREC_TEST_MEDIA_ROOT")
STORAGES = {
    "default": (
        {"BACKEND": "zhongtai.core.storage.LocalFileStorage", "OPTIONS": {"location": _media}}
        if _media
        else {"BACKEND": "django.core.files.storage.InMemoryStorage"}
    ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}

from config.settings.base import MIDDLEWARE  # noqa: E402

MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise.")]
