"""Settings are parsed strictly: a bad value or a missing production secret stops the start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from tests.support.processes import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parents[2]


def test_booleans_are_parsed_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EREC_FLAG", "yes")
    assert env_bool("EREC_FLAG", False) is True
    monkeypatch.setenv("EREC_FLAG", "0")
    assert env_bool("EREC_FLAG", True) is False
    monkeypatch.setenv("EREC_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured):
        env_bool("EREC_FLAG", False)


def test_integers_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EREC_NUM", "12")
    assert env_int("EREC_NUM", 1) == 12
    monkeypatch.setenv("EREC_NUM", "twelve")
    with pytest.raises(ImproperlyConfigured):
        env_int("EREC_NUM", 1)
    monkeypatch.setenv("EREC_HOSTS", "a.example, b.example,,")
    assert env_list("EREC_HOSTS", []) == ["a.example", "b.example"]


def test_secrets_can_come_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret\n", encoding="utf-8")
    monkeypatch.setenv("EREC_SECRET_FILE", str(secret_file))
    assert env_str("EREC_SECRET") == "s3cret"
    monkeypatch.setenv("EREC_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured):
        env_str("EREC_SECRET")


def _start_production(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EREC_", "DATABASE_", "REDIS_"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_its_secrets() -> None:
    result = _start_production({"DATABASE_URL": "postgres://x@127.0.0.1/x", "REDIS_URL": "redis://127.0.0.1/0"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_starts_with_every_secret_given() -> None:
    result = _start_production(PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


def test_production_refuses_an_empty_secret_and_sqlite() -> None:
    given = {
        "DJANGO_SECRET_KEY": "k" * 50,
        "EREC_KEK": "",
        "DATABASE_URL": "postgres://x@127.0.0.1/x",
        "REDIS_URL": "redis://127.0.0.1/0",
        "DJANGO_ALLOWED_HOSTS": "receipts.example",
        "EREC_PUBLIC_BASE_URL": "https://receipts.example",
    }
    empty_kek = _start_production(given)
    assert empty_kek.returncode != 0
    assert "EREC_KEK" in empty_kek.stderr
    on_sqlite = _start_production({**given, "EREC_KEK": "kek", "DATABASE_URL": "sqlite:////tmp/x.sqlite3"})
    assert on_sqlite.returncode != 0
    assert "PostgreSQL" in on_sqlite.stderr
