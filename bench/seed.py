"""Minimal master data shared by the benchmarks (call after django.setup())."""

from __future__ import annotations

import datetime
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any


def seed_province_and_unit() -> dict[str, Any]:
    """Hunan > Changsha > Furong with the province's bureau, kind 0101 with a fixed and a range
    fee item, and one interface unit (430102001, issuing point MZ01) allowed both."""
    from zhongtai.masterdata.models import (
        FeeItem,
        FeeStandard,
        FinanceBureau,
        IssuingPoint,
        ReceiptKind,
        Region,
        Unit,
    )
    from zhongtai.masterdata.validators import credit_code_check_char

    since = datetime.date(2020, 1, 1)
    province = Region.objects.create(code="430000", name="湖南省", level=Region.Level.PROVINCE)
    bureau = FinanceBureau.objects.create(region=province, name="湖南省财政厅")
    city = Region.objects.create(code="430100", name="长沙市", level=Region.Level.CITY, parent=province)
    county = Region.objects.create(code="430102", name="芙蓉区", level=Region.Level.COUNTY, parent=city)
    kind = ReceiptKind.objects.create(
        name="非税收入统一票据", category_code="01", kind_code="01", specimen_code="FS0101"
    )
    common = {"income_class": "行政事业性收费", "fund_nature": "一般公共预算", "valid_from": since}
    fixed = FeeItem.objects.create(code="F0001", name="证书工本费", unit_of_measure="本", **common)
    ranged = FeeItem.objects.create(code="F0002", name="考试考务费", unit_of_measure="人·科", **common)
    for item in (fixed, ranged):
        item.kinds.add(kind)
    FeeStandard.objects.create(fee_item=fixed, mode=FeeStandard.Mode.FIXED, amount=Decimal("10.00"), valid_from=since)
    FeeStandard.objects.create(
        fee_item=ranged,
        mode=FeeStandard.Mode.RANGE,
        min_amount=Decimal("5.00"),
        max_amount=Decimal("50.00"),
        valid_from=since,
    )
    credit17 = "12430102000000010"
    unit = Unit.objects.create(
        code="430102001",
        name="长沙市芙蓉区人民医院",
        credit_code=credit17 + credit_code_check_char(credit17),
        unit_type=Unit.UnitType.HOSPITAL,
        connection_mode=Unit.ConnectionMode.INTERFACE,
        region=county,
        valid_from=since,
        payee_name="长沙市芙蓉区人民医院",
        payee_account="430101000012345678",
        payee_bank="中国工商银行长沙分行",
    )
    IssuingPoint.objects.create(unit=unit, code="MZ01", name="门诊收费一号窗口")
    unit.allowed_kinds.add(kind)
    unit.allowed_fee_items.add(fixed, ranged)
    return {"province": province, "bureau": bureau, "unit": unit}


# --- Throw-away benchmark databases -------------------------------------------------------

BASE_DIR = Path(__file__).resolve().parent.parent


def database_recreate(admin_dsn: str, name: str) -> None:
    """Drop (forcing out connections) and create the benchmark database ``name``."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(admin_dsn: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrate(env: dict[str, str]) -> None:
    """``manage.py migrate`` in a child process with ``env`` (its DATABASE_URL names the database)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{done.stdout}\n{done.stderr}")


def cleanup(*, database_made: bool, keep_db: bool, admin_dsn: str, name: str, url: str, work_dir: Path) -> None:
    """End of a benchmark run: close Django's connections, drop (or keep) the database, remove files."""
    import shutil

    if "django.db" in sys.modules:
        from django.apps import apps

        if apps.ready:
            from django.db import connections

            connections.close_all()
    if database_made and not keep_db:
        database_drop(admin_dsn, name)
    elif database_made:
        print(f"[bench] kept the database: DATABASE_URL={url}")
    shutil.rmtree(work_dir, ignore_errors=True)
