"""Benchmark settings: the base settings plus one bench-only URL, quiet logs.

Used only by ``bench/issue.py`` (``make bench``), which sets ``DATABASE_URL`` to a
throw-away PostgreSQL database and ``REDIS_URL`` to the nonce store.
"""

from __future__ import annotations

from config.settings.base import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "config.bench_urls"

# Per-request log lines would cost CPU the server needs for the figures; warnings
# and errors still reach gunicorn's error log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# bench/issue.py measures issuance (validation, numbering, insert); signing has its own
# benchmark (bench/pipeline.py), so the single-issue path does not sign in the request here.
EREC_SIGN_IN_REQUEST = False
# The outbox rows are written as in production (part of issuing), but no worker runs them here:
# tasks go to an in-process memory broker that nothing consumes.
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = "memory://"
