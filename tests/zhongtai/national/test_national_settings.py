"""The national platform's settings are parsed strictly: a bad value stops the start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with only ``env`` set (parsing happens at import)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EREC_", "DATABASE_", "REDIS_"))}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings.base as s; print(s.EREC_NATIONAL_URL)"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"EREC_NATIONAL_URL": "ftp://national.example"}, "EREC_NATIONAL_URL"),
        ({"EREC_NATIONAL_URL": "https://national.example"}, "EREC_NATIONAL_SECRET"),
        ({"EREC_NATIONAL_TIMEOUT": "ten"}, "EREC_NATIONAL_TIMEOUT"),
        ({"EREC_NATIONAL_MAX_ATTEMPTS": "0"}, "EREC_NATIONAL_MAX_ATTEMPTS"),
        ({"EREC_NATIONAL_RETRY_SECONDS": "-1"}, "EREC_NATIONAL_RETRY_SECONDS"),
        ({"EREC_NATIONAL_TIMEOUT": "30", "EREC_NATIONAL_LEASE_SECONDS": "30"}, "EREC_NATIONAL_LEASE_SECONDS"),
    ],
)
def test_a_bad_value_stops_the_start(env: dict[str, str], named: str) -> None:
    result = _start(env)
    assert result.returncode != 0
    assert named in result.stderr


def test_a_configured_platform_starts_and_a_trailing_slash_is_dropped() -> None:
    result = _start({"EREC_NATIONAL_URL": "https://national.example/", "EREC_NATIONAL_SECRET": "s3cret-430000"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://national.example"
