"""8 issuers in 2 OS processes on PostgreSQL: no duplicate number, no gap, one receipt per busNo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from issuance.models import Receipt

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_parallel_issuers_in_two_processes_make_gapless_unique_numbers(unit: Any) -> None:
    # given a seeded database that two separate processes can reach
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "EREC_CONCURRENCY_UNIT": unit.code,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    threads, per_thread = 4, 15
    # when 2 processes x 4 threads issue at the same time, all also racing for one shared busNo
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.concurrent_issuer", str(n), str(threads), str(per_thread)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    results: list[dict[str, Any]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        results.extend(json.loads(out.strip().splitlines()[-1]))

    # then every distinct busNo got exactly one receipt, numbered 1..n without gap or duplicate
    distinct = 2 * threads * per_thread + 1
    assert Receipt.objects.count() == distinct
    numbers = sorted(Receipt.objects.values_list("number", flat=True))
    assert numbers == list(range(1, distinct + 1))
    shared = [r for r in results if r["busNo"] == "SHARED-0001"]
    assert len(shared) == 2 * threads
    assert len({r["number"] for r in shared}) == 1
    assert sum(1 for r in shared if r["created"]) == 1
    assert len({r["number"] for r in results}) == distinct
