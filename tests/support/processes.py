"""Start real platform processes (Celery worker) against the test database."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.test import override_settings

from config.celery import app

if TYPE_CHECKING:
    from tests.support.natsim import Natsim

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """The URL of the database the tests run on, for child processes."""
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL or "",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


@contextlib.contextmanager
def celery_worker(name: str = "w1", **env: str) -> Iterator[subprocess.Popen[str]]:
    """A real Celery worker process consuming from the test Redis broker."""
    log = tempfile.NamedTemporaryFile("w+", prefix=f"celery-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=child_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        log.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_until(check: Callable[[], bool], *, timeout: float = 60.0, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


@contextlib.contextmanager
def shared_with_workers(media_root: Path, **overrides: Any) -> Iterator[dict[str, str]]:
    """Files in ``media_root``, shared with worker processes, and tasks to the broker, not run here.

    ``overrides`` are further settings of this process. Yields the workers' environment
    (``EREC_TEST_MEDIA_ROOT``); pass it, with more, to :func:`celery_worker`.
    """
    storages = {
        "default": {"BACKEND": "zhongtai.core.storage.LocalFileStorage", "OPTIONS": {"location": str(media_root)}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with override_settings(STORAGES=storages, EREC_SIGN_IN_REQUEST=False, **overrides):
            yield {"EREC_TEST_MEDIA_ROOT": str(media_root)}
    finally:
        app.conf.task_always_eager = eager


@contextlib.contextmanager
def national_workers(media_root: Path, natsim: Natsim, pki: dict[str, Any]) -> Iterator[dict[str, str]]:
    """:func:`shared_with_workers`, with this process and the workers pushing to the simulator.

    Yields the workers' environment: short leases (a killed worker's claims expire soon), a
    short timeout and backoff, and more attempts than half-failing requests can use up.
    """
    natsim.register_pki(pki)
    natsim.purge()
    national = {**natsim.settings, "EREC_NATIONAL_MAX_ATTEMPTS": 50, "EREC_NATIONAL_LEASE_SECONDS": 5}
    with shared_with_workers(media_root, EREC_JOB_LEASE_SECONDS=3, **national) as env:
        yield {
            **env,
            "EREC_JOB_LEASE_SECONDS": "3",
            "EREC_NATIONAL_URL": natsim.base_url,
            "EREC_NATIONAL_SECRET": natsim.secret,
            "EREC_NATIONAL_TIMEOUT": "3",
            "EREC_NATIONAL_LEASE_SECONDS": "5",
            "EREC_NATIONAL_RETRY_SECONDS": "1",
            "EREC_NATIONAL_MAX_ATTEMPTS": "50",
        }


# Every secret config/settings/production.py requires, as placeholders: enough for it to start.
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "k" * 50,
    "EREC_KEK": "kek",
    "DATABASE_URL": "postgres://x@127.0.0.1/x",
    "REDIS_URL": "redis://127.0.0.1/0",
    "DJANGO_ALLOWED_HOSTS": "receipts.example",
    "EREC_PUBLIC_BASE_URL": "https://receipts.example",
}


def python_run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with none of the platform's variables but ``env``.

    Settings are parsed when imported, so this is how a test sees a settings module start (or refuse to).
    """
    own = ("DJANGO_", "EREC_", "DATABASE_", "REDIS_", "EMAIL_", "CELERY_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
