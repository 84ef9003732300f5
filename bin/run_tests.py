#!/usr/bin/env python
"""The whole test suite: once on SQLite (the embedded default), once on PostgreSQL + Redis.

PostgreSQL and Redis are taken from TEST_DATABASE_URL / TEST_REDIS_URL, by default
127.0.0.1:5432 and 127.0.0.1:6379. When they cannot be reached the second pass is
skipped with a notice, except under CI=true, where that is a failure.

Both passes run the browser tests (tests/browser) in Debian's headless chromium, which
bin/ensure_test_browser.sh installs first when it is missing (as root). Without it they are
skipped with a notice, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ereceipt")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=3):
            return True
    except OSError:
        return False


def run(label: str, env_overrides: dict[str, str], args: list[str]) -> int:
    print(f"\n===== {label} =====", flush=True)
    env = {**os.environ, **env_overrides}
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env)


def main() -> int:
    args = sys.argv[1:]
    ci = os.environ.get("CI", "").lower() == "true"
    if subprocess.call(["bash", str(ROOT / "bin" / "ensure_test_browser.sh")], cwd=ROOT) != 0:
        if ci:
            print("\nFAILED: no Chromium for the browser tests; CI=true requires it.", flush=True)
            return 1
        print("\nThe browser tests (tests/browser) will be SKIPPED: no Chromium.", flush=True)
    base = {key: "" for key in ("DATABASE_URL", "REDIS_URL")}
    status = run("SQLite (embedded default)", {**base, "EREC_TEST_BACKEND": "sqlite"}, args)
    services = {"PostgreSQL": PG_URL, "Redis": REDIS_URL}
    down = [name for name, url in services.items() if not reachable(url)]
    if down:
        message = f"{' and '.join(down)} not reachable ({', '.join(services[n] for n in down)})"
        if ci:
            print(f"\nFAILED: {message}; CI=true requires them.", flush=True)
            return 1
        print(f"\nSKIPPED the PostgreSQL/Redis pass: {message}.", flush=True)
        return status
    status_pg = run(
        "PostgreSQL + Redis",
        {
            "DATABASE_URL": PG_URL,
            "REDIS_URL": REDIS_URL,
            "EREC_TEST_BACKEND": "postgres",
            "CELERY_TASK_ALWAYS_EAGER": "true",
        },
        args,
    )
    return status or status_pg


if __name__ == "__main__":
    sys.exit(main())
