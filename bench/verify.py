"""Public verification throughput through the REST API on PostgreSQL (issue #5).

Creates the throw-away database ``ereceipt_bench_verify``, seeds ``--receipts`` signed
receipts in bulk (one ``INSERT … SELECT generate_series``), primes the cached verdict of a
working set of them in Redis (db 13), starts gunicorn on 127.0.0.1 and drives it from client
processes with requests signed by a reimbursing party's read credential:

* ``ceiling`` — ``GET /bench/verify-ceiling/{id}``: the same party authentication (HMAC,
  nonce claim in Redis, permission) and one SELECT of the receipt by primary key;
* ``api``     — ``GET /api/v1/public/receipts/{code}/{number}?checkCode=…``.

Prints receipts in the table, requests, requests/s, p50/p99 ms of both and the ratio
api ÷ ceiling. The database is dropped and the server stopped at the end, also on error or
Ctrl-C. See bench/README.md.

The gunicorn it starts serves ``bench.verify:application``: the bench settings with this
module as URLconf (production's URLs plus the ceiling view), so nothing outside bench/
changes.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import random
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

import bench.issue as issue_bench  # noqa: E402
import bench.seed as seed_support  # noqa: E402
from zhongtai.gateway.signing import compute_signature, string_to_sign  # noqa: E402

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DB_NAME = "ereceipt_bench_verify"
REDIS_URL = "redis://127.0.0.1:6379/13"
SETTINGS = "config.settings.bench"
SERVER_FLAG = "EREC_BENCH_VERIFY_SERVER"
RECEIPT_CODE = "43010126"
REQUEST_TIMEOUT = 60.0
GOAL_RATIO = 0.60
GOAL_P99_MS = 50.0
VERDICT_TTL = 6 * 3600  # primed verdicts outlive any run, then leave Redis by themselves
SEED_CHUNK = 250_000


# --- The server side: URLconf with the ceiling view, WSGI entry point -------------------------


def _ceiling_view() -> Any:
    from django.http import JsonResponse
    from rest_framework.views import APIView

    from issuance.models import Receipt
    from verification.authentication import IsReimbursingParty, PartySignatureAuthentication

    class VerifyCeilingApi(APIView):
        """A party's signed GET answered by one SELECT of a receipt by primary key."""

        authentication_classes = [PartySignatureAuthentication]
        permission_classes = [IsReimbursingParty]

        def get(self, request: Any, pk: int) -> Any:
            check_code = Receipt.objects.filter(pk=pk).values_list("check_code", flat=True).first()
            if check_code is None:
                return JsonResponse({"code": "NOT_FOUND"}, status=404)
            return JsonResponse({"id": pk, "checkCode": check_code})

    return VerifyCeilingApi.as_view()


_URLS: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """``urlpatterns`` and the handlers, built on first use (Django is set up by then)."""
    if name not in ("urlpatterns", "handler404", "handler500"):
        raise AttributeError(name)
    if not _URLS:
        from django.urls import path

        import config.bench_urls as bench_urls

        _URLS["urlpatterns"] = [
            *bench_urls.urlpatterns,
            path("bench/verify-ceiling/<int:pk>", _ceiling_view(), name="bench-verify-ceiling"),
        ]
        _URLS["handler404"] = bench_urls.handler404
        _URLS["handler500"] = bench_urls.handler500
    return _URLS[name]


def _wsgi_application() -> Any:
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    settings.ROOT_URLCONF = "bench.verify"
    return app


if os.environ.get(SERVER_FLAG) == "1" and __name__ != "__main__":
    application = _wsgi_application()


# --- Client processes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str


SCENARIOS = {s.name: s for s in (Scenario("ceiling", "bare PK lookup"), Scenario("api", "public API"))}


@dataclass(frozen=True)
class ClientJob:
    index: int
    port: int
    app_id: str
    secret: str
    scenario: Scenario
    targets: list[tuple[int, str, int, str]]  # (id, code, number, check code)
    start_at: float
    deadline: float


def _request_of(scenario: Scenario, target: tuple[int, str, int, str]) -> tuple[str, str]:
    pk, code, number, check_code = target
    if scenario.name == "ceiling":
        return f"/bench/verify-ceiling/{pk}", ""
    return f"/api/v1/public/receipts/{code}/{number:010d}", f"checkCode={check_code}"


def _answer_ok(scenario: Scenario, status: int, data: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}: {data[:300].decode(errors='replace')}"
    if scenario.name == "api" and b'"genuine":true' not in data:
        return f"not genuine: {data[:300].decode(errors='replace')}"
    return None


def _client_main(job: ClientJob, results: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        results.put(_client_loop(job))
    except BaseException:
        results.put({"crash": traceback.format_exc()})


def _client_loop(job: ClientJob) -> dict[str, Any]:
    rng = random.Random(job.index * 7919 + int(job.start_at))
    latencies: list[float] = []
    ok = errors = 0
    first_error: str | None = None
    conn: http.client.HTTPConnection | None = None
    time.sleep(max(0.0, job.start_at - time.time()))
    last_end = job.start_at
    while time.time() < job.deadline:
        path, query = _request_of(job.scenario, rng.choice(job.targets))
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = string_to_sign(
            method="GET", path=path, query_string=query, timestamp=timestamp, nonce=nonce, body=b""
        )
        headers = {
            "X-App-Id": job.app_id,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": compute_signature(job.secret, message),
        }
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", job.port, timeout=REQUEST_TIMEOUT)
        started = time.perf_counter()
        try:
            conn.request("GET", f"{path}?{query}" if query else path, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
            conn.close()
            conn = None
            last_end = time.time()
            time.sleep(0.05)
            continue
        latencies.append(time.perf_counter() - started)
        last_end = time.time()
        error = _answer_ok(job.scenario, response.status, data)
        if error is None:
            ok += 1
        else:
            errors += 1
            first_error = first_error or error
    if conn is not None:
        conn.close()
    return {"ok": ok, "errors": errors, "latencies": latencies, "first_error": first_error, "last_end": last_end}


@dataclass
class PhaseResult:
    scenario: Scenario
    warm: bool
    clients: int
    elapsed: float
    ok: int
    errors: int
    latencies: list[float]
    first_error: str | None
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def latency_ms(self, quantile: float) -> float:
        return issue_bench.latency_ms(self.latencies, quantile)


def run_phase(
    *,
    scenario: Scenario,
    clients: int,
    duration: float,
    port: int,
    app_id: str,
    secret: str,
    targets: list[tuple[int, str, int, str]],
    server_pid: int,
    warm: bool,
) -> PhaseResult:
    reports, cpu, start_at = issue_bench.clients_run(
        label=scenario.name,
        clients=clients,
        duration=duration,
        job_for=lambda i, start_at, deadline: ClientJob(i, port, app_id, secret, scenario, targets, start_at, deadline),
        client_main=_client_main,
        server_pid=server_pid,
    )
    return PhaseResult(
        scenario=scenario, warm=warm, clients=clients, cpu=cpu, **issue_bench.phase_totals(reports, start_at)
    )


# --- Seed ------------------------------------------------------------------------------------


def seed_party() -> tuple[str, str]:
    """One reimbursing party with a read credential: (app id, secret)."""
    from verification.models import PartyCredential, ReimbursingParty
    from verification.services import party_create, party_credential_create
    from zhongtai.audit.services import Actor
    from zhongtai.masterdata.validators import credit_code_check_char

    actor = Actor.system("bench")
    credit17 = "91430100MA4B00001"
    party = party_create(
        name="长沙星城科技有限公司财务部",
        party_type=ReimbursingParty.PartyType.EMPLOYER,
        credit_code=credit17 + credit_code_check_char(credit17),
        actor=actor,
    )
    issued = party_credential_create(party=party, actor=actor, label="bench", scope=PartyCredential.Scope.READ)
    return issued.credential.app_id, issued.secret


def seed_receipts(count: int) -> float:
    """``count`` signed production receipts of one code, numbers 1..count, in bulk SQL; seconds spent.

    Every row is what the public API needs: signed, a data file name, the certificate
    serials. The files themselves do not exist: the API reads a data file only to compute a
    verdict that is not cached, and the verdicts of the receipts the clients ask for are
    primed (``verdicts_prime``).
    """
    from django.db import connection

    from issuance.models import Receipt
    from zhongtai.masterdata.models import IssuingPoint

    unit = seed_support.seed_province_and_unit()["unit"]
    kind_id = unit.allowed_kinds.get().pk
    point_id = IssuingPoint.objects.get(unit=unit).pk
    values = {
        "receipt_code": f"'{RECEIPT_CODE}'",
        "number": "g",
        "check_code": "substr(md5(g::text), 1, 6)",
        "kind_id": str(kind_id),
        "unit_id": str(unit.pk),
        "issuing_point_id": str(point_id),
        "region_code": f"'{unit.region.code}'",
        "status": "'issued'",
        "is_red": "false",
        "sandbox": "false",
        "related_receipt_id": "NULL",
        "bus_no": "'V' || g",
        "bus_date": "(t0 - make_interval(secs => (%(n)s - g) * 30))::date",
        "request_digest": "''",
        "source": "'api'",
        "issued_by": "'bench'",
        "issued_at": "t0 - make_interval(secs => (%(n)s - g) * 30)",
        "issue_date": "(t0 - make_interval(secs => (%(n)s - g) * 30))::date",
        "payer_type": "1",
        "payer_name": "'张三' || (g %% 997)",
        "payer_code": "''",
        "payer_phone": "'13800138000'",
        "payer_email": "''",
        "payer_account": "''",
        "payer_bank": "''",
        "payee_name": "'长沙市芙蓉区人民医院'",
        "payee_account": "'430101000012345678'",
        "payee_bank": "'中国工商银行长沙分行'",
        "total_amount": "(10 + g %% 90)::numeric(14, 2)",
        "total_amount_upper": "'壹拾元整'",
        "currency": "'CNY'",
        "pay_mode": "'微信'",
        "handling_person": "'李收款'",
        "checker": "''",
        "remark": "''",
        "ext": "'{}'::jsonb",
        "sign_status": "'signed'",
        "signed_at": "t0 - make_interval(secs => (%(n)s - g) * 30) + interval '2 seconds'",
        "unit_cert_serial": "'0A1B2C3D4E5F'",
        "supervisor_cert_serial": "'5F4E3D2C1B0A'",
        "datafile": f"'receipts/{RECEIPT_CODE}/' || lpad(g::text, 10, '0') || '/datafile.xml'",
        "layout_file": "''",
    }
    columns = [f.column for f in Receipt._meta.concrete_fields if f.column != "id"]
    missing = sorted(set(columns) - set(values))
    if missing:
        raise RuntimeError(f"bench/verify.py does not know the receipt columns {missing}; update seed_receipts")
    started = time.monotonic()
    table = Receipt._meta.db_table
    with connection.cursor() as cursor:
        for low in range(1, count + 1, SEED_CHUNK):
            high = min(count, low + SEED_CHUNK - 1)
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {', '.join(values[c] for c in columns)} "
                "FROM generate_series(%(low)s, %(high)s) AS g, (SELECT now() AS t0) AS base"
            )
            cursor.execute(sql, {"n": count, "low": low, "high": high})
            print(f"[bench] seeded {high:,} / {count:,} receipts", flush=True)
        cursor.execute(f"VACUUM ANALYZE {table}")
    return time.monotonic() - started


def receipt_count() -> int:
    from issuance.models import Receipt

    return Receipt.objects.count()


def verdicts_prime(sample: int, seed: int) -> list[tuple[int, str, int, str]]:
    """Pick ``sample`` receipts spread over the whole table and cache a genuine verdict for each.

    The key is the one ``verification.selectors._verdict_key`` computes (its trust
    generation read once here instead of per receipt); the stored value has the shape
    ``receipt_verdict`` writes: every check passed.
    """
    from django.core.cache import cache

    import verification.selectors as selectors
    from issuance.models import Receipt
    from issuance.verifier import CHECK_TITLES, CheckName

    top = Receipt.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = random.Random(seed).sample(range(1, top + 1), min(sample, top))
    receipts = list(
        Receipt.objects.filter(pk__in=ids).only(
            "id",
            "receipt_code",
            "number",
            "check_code",
            "datafile",
            "signed_at",
            "unit_cert_serial",
            "supervisor_cert_serial",
        )
    )
    verdict = {
        "genuine": True,
        "checks": [[name.value, CHECK_TITLES[name], True, ""] for name in CheckName if name is not CheckName.SANDBOX],
        "reason": "",
    }
    generation = selectors.trust_generation()
    keys = [selectors._verdict_key(r, generation) for r in receipts]
    found = [
        selectors.receipt_find_by_elements(receipt_code=r.receipt_code, number=r.number, check_code=r.check_code)
        for r in receipts[:3]
    ]
    if keys[:3] != [selectors._verdict_key(r) for r in found if r is not None]:
        raise RuntimeError("verdict keys computed with the trust generation read once differ from the real ones")
    for start in range(0, len(keys), 5000):
        cache.set_many({key: verdict for key in keys[start : start + 5000]}, timeout=VERDICT_TTL)
    return [(r.pk, r.receipt_code, r.number, r.check_code) for r in receipts]


def checks_after(phases: list[PhaseResult], targets: list[tuple[int, str, int, str]]) -> list[tuple[bool, str]]:
    from django.db.models import Sum

    from verification.models import VerificationCounter

    answered = sum(p.ok for p in phases if p.scenario.name == "api")
    counted = VerificationCounter.objects.aggregate(s=Sum("count"))["s"] or 0
    ids = {t[0] for t in targets}
    outside = VerificationCounter.objects.exclude(receipt_id__in=ids).count()
    return [
        (counted >= answered, f"verification counts: {counted}, API answers 200 (warm-up included): {answered}"),
        (outside == 0, f"counters on receipts outside the working set: {outside}"),
    ]


# --- In-process profile ---------------------------------------------------------------------


@dataclass
class ProfileResult:
    scenario: Scenario
    plain_ms: float  # mean of the requests without the profiler
    profiled_ms: float
    queries: int  # SQL statements of one request
    report: str
    files: list[Path]


def profile_requests(
    *, scenario: Scenario, app_id: str, secret: str, targets: list[tuple[int, str, int, str]], requests: int
) -> ProfileResult:
    """The scenario's endpoint in this process (Django test client, same settings, database and
    Redis): ``requests`` timed without the profiler, one with its SQL statements counted, then
    ``requests`` under cProfile. Writes var/bench/profile-verify-<scenario>.prof and .txt."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    client = Client()
    rng = random.Random(requests)

    def get() -> float:
        path, query = _request_of(scenario, rng.choice(targets))
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = string_to_sign(
            method="GET", path=path, query_string=query, timestamp=timestamp, nonce=nonce, body=b""
        )
        headers = {
            "X-App-Id": app_id,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": compute_signature(secret, message),
        }
        started = time.perf_counter()
        response = client.get(f"{path}?{query}" if query else path, headers=headers)
        spent = time.perf_counter() - started
        error = _answer_ok(scenario, response.status_code, response.content)
        if error:
            raise RuntimeError(f"profile request failed: {error}")
        return spent

    with override_settings(ROOT_URLCONF="bench.verify"):
        for _ in range(20):
            get()  # warm: imports, connection, caches
        plain = [get() for _ in range(requests)]
        statements: list[str] = []

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            get()
        profiler = cProfile.Profile()
        profiled = []
        for _ in range(requests):
            profiler.enable()
            profiled.append(get())
            profiler.disable()
    out_dir = BASE_DIR / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    raw_path = out_dir / f"profile-verify-{scenario.name}.prof"
    text_path = out_dir / f"profile-verify-{scenario.name}.txt"
    profiler.dump_stats(raw_path)
    full = io.StringIO()
    stats = pstats.Stats(profiler, stream=full)
    stats.sort_stats("cumulative").print_stats(80)
    stats.sort_stats("tottime").print_stats(60)
    text_path.write_text("\n".join(statements) + "\n\n" + full.getvalue())
    short = io.StringIO()
    pstats.Stats(profiler, stream=short).sort_stats("tottime").print_stats(15)
    parts = short.getvalue().split("ncalls", 1)
    return ProfileResult(
        scenario=scenario,
        plain_ms=1000 * sum(plain) / len(plain),
        profiled_ms=1000 * sum(profiled) / len(profiled),
        queries=len(statements),
        report="   ncalls" + parts[1] if len(parts) == 2 else short.getvalue(),
        files=[raw_path, text_path],
    )


# --- Report and main --------------------------------------------------------------------------


def profile_report(profiles: list[ProfileResult]) -> None:
    if not profiles:
        return
    print("\nIn-process (Django test client, no network, no competing requests):")
    for p in profiles:
        print(
            f"  {p.scenario.label:<16} {p.plain_ms:6.2f} ms per request without the profiler, "
            f"{p.queries} SQL statements; {p.profiled_ms:.2f} ms under cProfile"
        )
    by_name = {p.scenario.name: p for p in profiles}
    if "api" in by_name and "ceiling" in by_name:
        print(f"  ratio bare lookup ms ÷ API ms: {by_name['ceiling'].plain_ms / by_name['api'].plain_ms:.2f}")
    for p in profiles:
        print(f"\nTop functions by own time, {p.scenario.label}:\n{p.report.rstrip()}")
        print("Full profile: " + ", ".join(str(path.relative_to(BASE_DIR)) for path in p.files))


def _fmt(value: float, spec: str) -> str:
    return "-" if math.isnan(value) else format(value, spec)


def print_report(
    *,
    receipts: int,
    sample: int,
    phases: list[PhaseResult],
    checks: list[tuple[bool, str]],
    command: str,
    seeded: float,
) -> bool:
    measured = {p.scenario.name: p for p in phases if not p.warm}
    print()
    print(f"Public verification API, PostgreSQL, {os.cpu_count()} CPUs")
    print(f"receipts in the table: {receipts:,} (seeded in {seeded:.0f} s); working set asked for: {sample:,}")
    head = (
        f"{'scenario':<16}{'clients':>8}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'gunicorn':>10}{'postgres':>10}{'other':>8}"
    )
    print(head)
    print("-" * len(head))
    for p in measured.values():
        c = p.cpu
        other = max(0.0, c.get("machine", 0) - c.get("server", 0) - c.get("db", 0))
        print(
            f"{p.scenario.label:<16}{p.clients:>8}{p.ok:>10}{p.rate:>9.1f}{_fmt(p.latency_ms(0.5), '.1f'):>9}"
            f"{_fmt(p.latency_ms(0.99), '.1f'):>9}{p.errors:>8}{c.get('server', 0):>10.2f}{c.get('db', 0):>10.2f}"
            f"{other:>8.2f}"
        )
    print("(gunicorn / postgres / other: CPU cores used during the window; other includes the clients)")
    met = True
    if "api" in measured and "ceiling" in measured:
        api, ceiling = measured["api"], measured["ceiling"]
        ratio = api.rate / ceiling.rate if ceiling.rate else math.nan
        p99 = api.latency_ms(0.99)
        ratio_ok, p99_ok = ratio >= GOAL_RATIO, p99 < GOAL_P99_MS
        met = ratio_ok and p99_ok
        print(
            f"\nratio api ÷ bare lookup: {_fmt(ratio, '.2f')}  "
            f"(goal >= {GOAL_RATIO:.2f}: {'met' if ratio_ok else 'NOT met'})"
        )
        print(f"API p99: {_fmt(p99, '.1f')} ms  (goal < {GOAL_P99_MS:.0f} ms: {'met' if p99_ok else 'NOT met'})")
    for p in phases:
        if p.first_error:
            print(f"first error, {p.scenario.label} ({'warm-up' if p.warm else 'measured'}): {p.first_error}")
    print("\nChecks:")
    for ok, text in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {text}")
    print(f"\nCommand: {command}")
    return met


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=1_000_000, help="receipts in the table (default 1,000,000)")
    parser.add_argument("--sample", type=int, default=20_000, help="receipts the clients ask for (default 20,000)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per scenario (default 20)")
    parser.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker, gthread; 1 = sync (default 4)")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS), help="repeatable; default both")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="afterwards, N requests of each scenario in-process, timed and under cProfile (default 0: off)",
    )
    parser.add_argument(
        "--database",
        default=DB_NAME,
        help=f"the throw-away database, ereceipt_bench_… only: dropped and created (default {DB_NAME})",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the database")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"ereceipt_bench_[a-z0-9_]{1,40}", args.database):
        parser.error("--database must be ereceipt_bench_ followed by lower-case letters, digits or _")
    if not 0 <= args.profile <= 10_000:
        parser.error("--profile must be 0..10,000")
    if not 1 <= args.receipts <= 50_000_000:
        parser.error("--receipts must be 1..50,000,000")
    if not 1 <= args.sample <= 200_000:
        parser.error("--sample must be 1..200,000")
    if args.duration <= 0 or args.duration > 600:
        parser.error("--duration must be in (0, 600] seconds")
    if not 1 <= args.clients <= 64 or not 1 <= args.workers <= 16 or not 1 <= args.threads <= 32:
        parser.error("--clients 1..64, --workers 1..16, --threads 1..32")
    return args


def _on_term(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db_name = args.database
    database_url = f"postgres://postgres@127.0.0.1:5432/{db_name}"
    command = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(["bench/verify.py", *argv])
    scenarios = [SCENARIOS[name] for name in (args.scenario or list(SCENARIOS))]
    warmup = min(3.0, max(1.0, args.duration / 5))
    budget = 600 + args.receipts / 2000 + len(scenarios) * (warmup + args.duration + REQUEST_TIMEOUT + 40)
    budget += len(scenarios) * args.profile * 0.2
    signal.signal(signal.SIGALRM, issue_bench._on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(int(budget))
    issue_bench.DB_NAME = db_name  # the CPU probe counts this database's backends as PostgreSQL's

    work_dir = Path(tempfile.mkdtemp(prefix="erec-bench-verify-"))
    (work_dir / "var" / "staticfiles").mkdir(parents=True)
    log_path = work_dir / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "EREC_NONCE_BACKEND": "redis",
        "EREC_VAR_DIR": str(work_dir / "var"),
    }
    port = issue_bench.free_port()
    server_command = issue_bench.gunicorn_command(
        port=port, workers=args.workers, threads=args.threads, log_path=log_path
    )
    server_command[server_command.index("config.wsgi:application")] = "bench.verify:application"
    server: subprocess.Popen[bytes] | None = None
    database_made = False
    phases: list[PhaseResult] = []
    try:
        print(f"[bench] database {db_name}: drop, create, migrate", flush=True)
        seed_support.database_recreate(PG_ADMIN_DSN, db_name)
        database_made = True
        seed_support.migrate(env)
        os.environ.update(env)
        import django

        django.setup()
        from django.db import connections

        seeded = seed_receipts(args.receipts)
        app_id, secret = seed_party()
        targets = verdicts_prime(args.sample, seed=args.receipts)
        receipts = receipt_count()
        print(f"[bench] {receipts:,} receipts, {len(targets):,} verdicts primed in Redis db 13", flush=True)
        connections.close_all()

        print(f"[bench] gunicorn on 127.0.0.1:{port}: {args.workers} workers × {args.threads} threads", flush=True)
        with open(work_dir / "gunicorn.out", "wb") as server_out:
            server = subprocess.Popen(
                server_command,
                cwd=BASE_DIR,
                env={**env, SERVER_FLAG: "1"},
                stdin=subprocess.DEVNULL,
                stdout=server_out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        issue_bench.server_wait(server, port, log_path)
        for scenario in scenarios:
            for warm, seconds in ((True, warmup), (False, args.duration)):
                result = run_phase(
                    scenario=scenario,
                    clients=args.clients,
                    duration=seconds,
                    port=port,
                    app_id=app_id,
                    secret=secret,
                    targets=targets,
                    server_pid=server.pid,
                    warm=warm,
                )
                phases.append(result)
                if not warm:
                    print(
                        f"[bench] {scenario.label:<16} {result.rate:8.1f} req/s  p99 {result.latency_ms(0.99):.1f} ms"
                        f"  errors {result.errors}",
                        flush=True,
                    )
        issue_bench.server_stop(server)
        profiles = [
            profile_requests(scenario=scenario, app_id=app_id, secret=secret, targets=targets, requests=args.profile)
            for scenario in (scenarios if args.profile else [])
        ]
        checks = checks_after(phases, targets)
        connections.close_all()
        print_report(
            receipts=receipts, sample=len(targets), phases=phases, checks=checks, command=command, seeded=seeded
        )
        profile_report(profiles)
        print(f"Server:  {shlex.join(server_command)}")
        for path in (log_path, work_dir / "gunicorn.out"):
            if path.exists() and path.stat().st_size:
                print(f"\ngunicorn output ({path.name}, last lines):\n{issue_bench._tail(path)}")
        failed = [text for ok, text in checks if not ok]
        return 1 if failed or any(p.errors for p in phases) else 0
    except KeyboardInterrupt:
        print("\n[bench] interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        signal.alarm(0)
        if server is not None:
            issue_bench.server_stop(server)
        seed_support.cleanup(
            database_made=database_made,
            keep_db=args.keep_db,
            admin_dsn=PG_ADMIN_DSN,
            name=db_name,
            url=database_url,
            work_dir=work_dir,
        )


if __name__ == "__main__":
    sys.exit(main())
