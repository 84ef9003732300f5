"""Issuance throughput through the REST API on PostgreSQL (``make bench``).

Creates a throw-away database, migrates it, seeds one interface unit, starts
gunicorn on 127.0.0.1 and drives it from client processes with signed requests:

* ``ceiling``  — ``POST /bench/ceiling``: authentication + permission + one INSERT
  (the framework's ceiling on this machine);
* ``single``   — ``POST /api/v1/receipts/issue`` with one 2- or 3-item receipt;
* ``batch100`` / ``batch500`` — ``POST /api/v1/receipts/batch`` with 100 / 500 receipts.

Prints requests/s, receipts/s, latencies and receipts/s ÷ ceiling requests/s, then
checks in the database that every answered receipt exists and that numbers per
receipt code run 1..n. Everything is local and bounded; the database is dropped
and the server stopped at the end, also on error or Ctrl-C. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import math
import multiprocessing
import os
import queue
import resource
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

import bench.seed as seed_support  # noqa: E402

# Standard library only: the clients sign exactly as docs/api.md tells integrators.
from zhongtai.gateway.signing import compute_signature, string_to_sign  # noqa: E402

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DB_NAME = "ereceipt_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
SETTINGS = "config.settings.bench"
REQUEST_TIMEOUT = 120.0  # seconds; a request slower than this is an error, never a hang
STARTUP_TIMEOUT = 60.0
GOAL_RECEIPTS_PER_SECOND = 1000.0
OUT_DIR = BASE_DIR / "var" / "bench"
OTHER_LOAD_WARNING = 0.25  # cores used by unrelated processes above which the figures are flagged


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    path: str
    per_request: int  # receipts (rows for the ceiling) per request
    tag: str  # busNo prefix, unique per scenario


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("ceiling", "ceiling (1 row)", "/bench/ceiling", 1, "C"),
        Scenario("single", "single issue", "/api/v1/receipts/issue", 1, "S"),
        Scenario("batch100", "batch of 100", "/api/v1/receipts/batch", 100, "H"),
        Scenario("batch500", "batch of 500", "/api/v1/receipts/batch", 500, "F"),
    )
}


# --- Payloads -------------------------------------------------------------------


def _receipt_templates() -> list[tuple[str, str, int]]:
    """(JSON before the busNo, JSON after it, line count) of a 2-item and a 3-item receipt.

    Built once per client so that a batch of 500 costs a few string joins, not
    500 ``json.dumps``: the load generator shares the machine with the server.
    """
    from zhongtai.masterdata.validators import credit_code_check_char

    org_code = "91430100MA4L12345" + credit_code_check_char("91430100MA4L12345")
    two = {
        "busNo": "@BUS@",
        "kindCode": "0101",
        "issuingPointCode": "MZ01",
        "payer": {"type": 1, "name": "张三", "phone": "13800138000"},
        "items": [
            {"itemCode": "F0001", "quantity": "2", "standard": "10.00", "amount": "20.00"},
            {"itemCode": "F0002", "quantity": 1, "standard": "35.50", "amount": "35.50"},
        ],
        "totalAmount": "55.50",
        "payMode": "微信",
        "handlingPerson": "李收款",
        "checker": "王复核",
    }
    three = {
        "busNo": "@BUS@",
        "busDate": datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat(),  # never "in the future"
        "kindCode": "0101",
        "issuingPointCode": "MZ01",
        "payer": {"type": 2, "name": "湖南星城科技有限公司", "code": org_code, "email": "cw@example.com"},
        "items": [
            {"itemCode": "F0001", "itemName": "证书工本费", "quantity": "1", "standard": "10.00", "amount": "10.00"},
            {"itemCode": "F0002", "quantity": "2", "standard": "12.50", "amount": "25.00"},
            {"itemCode": "F0002", "quantity": "1", "standard": "8.00", "amount": "8.00", "remark": "补考"},
        ],
        "totalAmount": "43.00",
        "payMode": "银行转账",
        "remark": "bench",
    }
    templates = []
    for payload in (two, three):
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        head, tail = text.split("@BUS@")
        templates.append((head, tail, len(payload["items"])))
    return templates


class BodyMaker:
    """Request bodies with a unique busNo per receipt: ``<tag><W|M>-<client>-<seq>``."""

    def __init__(self, scenario: Scenario, prefix: str) -> None:
        self.scenario = scenario
        self.prefix = prefix
        self.templates = _receipt_templates()
        self.seq = 0

    def next(self) -> tuple[bytes, list[int]]:
        """The next body and the line count of each receipt in it."""
        if self.scenario.name == "ceiling":
            return b'{"ping":1}', [0]
        parts, lines = [], []
        for _ in range(self.scenario.per_request):
            head, tail, count = self.templates[self.seq % 2]
            parts.append(f"{head}{self.prefix}{self.seq:09d}{tail}")
            lines.append(count)
            self.seq += 1
        if self.scenario.name == "single":
            return parts[0].encode(), lines
        return ('{"receipts":[' + ",".join(parts) + "]}").encode(), lines


def signed_headers(*, app_id: str, secret: str, path: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    message = string_to_sign(method="POST", path=path, query_string="", timestamp=timestamp, nonce=nonce, body=body)
    return {
        "Content-Type": "application/json",
        "X-App-Id": app_id,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": compute_signature(secret, message),
    }


# --- Client processes -----------------------------------------------------------


@dataclass(frozen=True)
class ClientJob:
    index: int
    port: int
    app_id: str
    secret: str
    scenario: Scenario
    prefix: str
    start_at: float  # time.time() at which every client starts
    deadline: float  # no request is started after this


def _answer(scenario: Scenario, status: int, data: bytes, lines: list[int]) -> tuple[int, int, str | None]:
    """(receipts created, lines created, error or None) from one response."""
    if scenario.name in ("ceiling", "single"):
        if status == 201:
            return 1, lines[0], None
        return 0, 0, f"HTTP {status}: {data[:300].decode(errors='replace')}"
    if status != 200:
        return 0, 0, f"HTTP {status}: {data[:300].decode(errors='replace')}"
    body = json.loads(data)
    created = [r["index"] for r in body["results"] if r["result"] == "created"]
    error = None
    if len(created) != len(lines):
        failed = next((r for r in body["results"] if r["result"] != "created"), None)
        error = f"batch: {body['created']} created, {body['existing']} existing, {body['failed']} failed: {failed}"
    return len(created), sum(lines[i] for i in created), error


def _client_main(job: ClientJob, results: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        results.put(_client_loop(job))
    except BaseException:
        results.put({"crash": traceback.format_exc()})


def _client_loop(job: ClientJob) -> dict[str, Any]:
    bodies = BodyMaker(job.scenario, job.prefix)
    latencies: list[float] = []
    ok = receipts = lines_created = errors = 0
    first_error: str | None = None
    conn: http.client.HTTPConnection | None = None
    time.sleep(max(0.0, job.start_at - time.time()))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    last_end = job.start_at
    while time.time() < job.deadline:
        body, lines = bodies.next()
        headers = signed_headers(app_id=job.app_id, secret=job.secret, path=job.scenario.path, body=body)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", job.port, timeout=REQUEST_TIMEOUT)
        started = time.perf_counter()
        try:
            conn.request("POST", job.scenario.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
            conn.close()
            conn = None
            last_end = time.time()
            time.sleep(0.05)  # a dead server must not turn this loop into a spin
            continue
        latencies.append(time.perf_counter() - started)
        last_end = time.time()
        created, created_lines, error = _answer(job.scenario, response.status, data, lines)
        receipts += created
        lines_created += created_lines
        if error is None:
            ok += 1
        else:
            errors += 1
            first_error = first_error or error
    if conn is not None:
        conn.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "ok": ok,
        "latencies": latencies,
        "receipts": receipts,
        "lines": lines_created,
        "errors": errors,
        "first_error": first_error,
        "last_end": last_end,
        "cpu": usage.ru_utime + usage.ru_stime - cpu_start,
    }


# --- Where the two cores went ----------------------------------------------------


def _proc_ticks(server_pid: int) -> dict[int, tuple[str, int]]:
    """pid -> (group, user+system clock ticks) of every process; group is ``server``
    (gunicorn master and workers), ``db`` (PostgreSQL, less backends of other databases)
    or ``other``."""
    snapshot = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
            close = raw.rindex(")")
            rest = raw[close + 2 :].split()
            group = "other"
            if int(entry.name) == server_pid or int(rest[1]) == server_pid:
                group = "server"
            elif raw[raw.index("(") + 1 : close].startswith("postgres"):
                # Backends are titled "postgres: 15/main: <user> <database> <client> <state>".
                title = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                words = title.split(": ")[-1].split()
                backend = len(words) >= 3 and ("(" in words[2] or words[2] == "[local]")
                group = "other" if backend and words[1] != DB_NAME else "db"  # auxiliaries count as ours
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        snapshot[int(entry.name)] = (group, int(rest[11]) + int(rest[12]))
    return snapshot


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


class CpuProbe:
    """Cores used by gunicorn, by PostgreSQL for this database, and by the whole machine."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.available = Path("/proc/stat").exists()

    def start(self) -> None:
        if self.available:
            self.before = _proc_ticks(self.server_pid)
            self.machine_before = _machine_ticks()
            self.started = time.monotonic()

    def stop(self) -> dict[str, float]:
        if not self.available:
            return {}
        after = _proc_ticks(self.server_pid)
        busy, total = _machine_ticks()
        seconds = time.monotonic() - self.started
        hz = os.sysconf("SC_CLK_TCK")
        spent = {"server": 0, "db": 0, "other": 0}
        for pid, (group, ticks) in after.items():
            spent[group] += ticks - self.before.get(pid, (group, 0))[1]
        cpus = os.cpu_count() or 1
        machine = (busy - self.machine_before[0]) / max(1, total - self.machine_before[1]) * cpus
        return {
            "server": spent["server"] / hz / seconds,
            "db": spent["db"] / hz / seconds,
            "machine": machine,
            "seconds": seconds,
        }


# --- One measured phase -----------------------------------------------------------


@dataclass
class PhaseResult:
    scenario: Scenario
    warm: bool
    clients: int
    elapsed: float
    ok: int
    errors: int
    receipts: int
    lines: int
    latencies: list[float]
    first_error: str | None
    cpu: dict[str, float] = field(default_factory=dict)

    def per_second(self, count: int) -> float:
        return count / self.elapsed if self.elapsed > 0 else 0.0

    def latency_ms(self, quantile: float | None) -> float:
        return latency_ms(self.latencies, quantile)


def latency_ms(latencies: list[float], quantile: float | None) -> float:
    """The mean (``quantile`` None) or the nearest-rank quantile of latencies in seconds, in ms."""
    if not latencies:
        return math.nan
    if quantile is None:
        return 1000 * sum(latencies) / len(latencies)
    ordered = sorted(latencies)
    return 1000 * ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


def phase_totals(reports: list[dict[str, Any]], start_at: float) -> dict[str, Any]:
    """What every client process reported, summed: the fields a phase result shares across benchmarks."""
    errors = [r["first_error"] for r in reports if r["first_error"]]
    return {
        "elapsed": max(r["last_end"] for r in reports) - start_at,
        "ok": sum(r["ok"] for r in reports),
        "errors": sum(r["errors"] for r in reports),
        "latencies": [latency for r in reports for latency in r["latencies"]],
        "first_error": errors[0] if errors else None,
    }


@dataclass(frozen=True)
class Target:
    port: int
    app_id: str
    secret: str
    server_pid: int


def clients_run(
    *,
    label: str,
    clients: int,
    duration: float,
    job_for: Callable[[int, float, float], Any],
    client_main: Callable[[Any, Any], None],
    server_pid: int,
) -> tuple[list[dict[str, Any]], dict[str, float], float]:
    """Fork ``clients`` load processes that start together, measure the server's CPU meanwhile.

    ``job_for(index, start_at, deadline)`` makes each client's job; ``client_main(job, results)``
    puts one report (a dict, with ``crash`` when it failed) on ``results``. Returns the reports,
    the CPU figures of the measured window and the common start time. Shared by the benchmarks.
    """
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 0.5  # lets every client fork and sleep before the common start
    deadline = start_at + duration
    processes = [
        context.Process(target=client_main, args=(job_for(i, start_at, deadline), results), name=f"{label}-{i}")
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    probe = CpuProbe(server_pid)
    time.sleep(max(0.0, start_at - time.time()))
    probe.start()
    reports: list[dict[str, Any]] = []
    try:
        give_up = deadline + REQUEST_TIMEOUT + 30
        while len(reports) < clients:
            reports.append(results.get(timeout=max(1.0, give_up - time.time())))
        cpu = probe.stop()
    except queue.Empty as exc:
        raise RuntimeError(f"{label}: {clients - len(reports)} client(s) never reported") from exc
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
    crashes = [r["crash"] for r in reports if "crash" in r]
    if crashes:
        raise RuntimeError(f"{label}: a client crashed:\n{crashes[0]}")
    return reports, cpu, start_at


def run_phase(*, scenario: Scenario, clients: int, duration: float, target: Target, warm: bool) -> PhaseResult:
    stage = "W" if warm else "M"

    def job_for(index: int, start_at: float, deadline: float) -> ClientJob:
        return ClientJob(
            index=index,
            port=target.port,
            app_id=target.app_id,
            secret=target.secret,
            scenario=scenario,
            prefix=f"{scenario.tag}{stage}-{index:02d}-",
            start_at=start_at,
            deadline=deadline,
        )

    reports, cpu, start_at = clients_run(
        label=scenario.name,
        clients=clients,
        duration=duration,
        job_for=job_for,
        client_main=_client_main,
        server_pid=target.server_pid,
    )
    cpu["clients"] = sum(r["cpu"] for r in reports) / cpu["seconds"] if cpu else 0.0
    return PhaseResult(
        scenario=scenario,
        warm=warm,
        clients=clients,
        receipts=sum(r["receipts"] for r in reports),
        lines=sum(r["lines"] for r in reports),
        cpu=cpu,
        **phase_totals(reports, start_at),
    )


# --- Database, server, seed -------------------------------------------------------


def database_recreate() -> None:
    seed_support.database_recreate(PG_ADMIN_DSN, DB_NAME)


migrate = seed_support.migrate


def seed() -> tuple[str, str]:
    """Minimal master data (bench/seed.py) and credentials for its interface unit: (app id, secret)."""
    from bench.seed import seed_province_and_unit
    from zhongtai.audit.services import Actor
    from zhongtai.gateway.services import credential_create

    unit = seed_province_and_unit()["unit"]
    issued = credential_create(unit=unit, actor=Actor.system("bench"), label="bench")
    return issued.credential.app_id, issued.secret


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_command(*, port: int, workers: int, threads: int, log_path: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--error-logfile",
        str(log_path),
        "--log-level",
        "warning",
    ]
    if threads > 1:
        return [*command, "--worker-class", "gthread", "--threads", str(threads)]
    return [*command, "--worker-class", "sync"]


def server_wait(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    give_up = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within {STARTUP_TIMEOUT:.0f} s:\n{_tail(log_path)}")


def server_stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only what we started
        process.wait(timeout=10)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- In-process profile of one request path ----------------------------------------


@dataclass
class ProfileResult:
    scenario: Scenario
    receipts: int
    lines: int
    seconds: list[float]
    plain_seconds: float  # one request without the profiler
    queries: int
    report: str
    files: list[Path]


def profile_requests(*, scenario: Scenario, app_id: str, secret: str, requests: int) -> ProfileResult:
    """The scenario's endpoint in this process (Django test client, same settings and
    database) under cProfile: authentication, parsing, rules, numbering, inserts, JSON."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client

    maker = BodyMaker(scenario, f"P{scenario.tag}-00-")  # busNos apart from the load's
    client = Client()
    receipts = lines_created = 0

    def post() -> float:
        nonlocal receipts, lines_created
        body, lines = maker.next()
        headers = signed_headers(app_id=app_id, secret=secret, path=scenario.path, body=body)
        del headers["Content-Type"]
        started = time.perf_counter()
        response = client.generic("POST", scenario.path, data=body, content_type="application/json", headers=headers)
        spent = time.perf_counter() - started
        created, created_lines, error = _answer(scenario, response.status_code, response.content, lines)
        receipts += created
        lines_created += created_lines
        if error:
            raise RuntimeError(f"profile request failed: {error}")
        return spent

    post()  # warm: imports, connection, caches
    statements: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        plain = post()
    profiler = cProfile.Profile()
    seconds = []
    for _ in range(requests):
        profiler.enable()
        seconds.append(post())
        profiler.disable()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    raw_path = OUT_DIR / f"profile-{scenario.name}.prof"
    text_path = OUT_DIR / f"profile-{scenario.name}.txt"
    profiler.dump_stats(raw_path)
    full = io.StringIO()
    stats = pstats.Stats(profiler, stream=full)
    stats.sort_stats("cumulative").print_stats(80)
    stats.sort_stats("tottime").print_stats(60)
    text_path.write_text(full.getvalue())
    short = io.StringIO()
    pstats.Stats(profiler, stream=short).sort_stats("tottime").print_stats(20)
    report = short.getvalue().split("ncalls", 1)
    return ProfileResult(
        scenario=scenario,
        receipts=receipts,
        lines=lines_created,
        seconds=seconds,
        plain_seconds=plain,
        queries=len(statements),
        report="   ncalls" + report[1] if len(report) == 2 else short.getvalue(),
        files=[raw_path, text_path],
    )


# --- Verification ---------------------------------------------------------------


def verify(phases: list[PhaseResult], profiled: ProfileResult | None) -> list[tuple[bool, str]]:
    from django.db.models import Count, Max, Min

    from issuance.models import Receipt, ReceiptItem
    from zhongtai.audit.models import AuditEvent
    from zhongtai.numbering.models import NumberSequence

    checks: list[tuple[bool, str]] = []
    issued = [p for p in phases if p.scenario.name != "ceiling"]
    want_receipts = sum(p.receipts for p in issued) + (profiled.receipts if profiled else 0)
    want_lines = sum(p.lines for p in issued) + (profiled.lines if profiled else 0)
    want_rows = sum(p.receipts for p in phases if p.scenario.name == "ceiling")

    def check(ok: bool, text: str) -> None:
        checks.append((ok, text))

    got = Receipt.objects.count()
    check(got == want_receipts, f"receipts in the database: {got}, answered as created: {want_receipts}")
    for tag in sorted({p.scenario.tag for p in issued}):
        name = next(p.scenario.name for p in issued if p.scenario.tag == tag)
        want = sum(p.receipts for p in issued if p.scenario.tag == tag)
        got = Receipt.objects.filter(bus_no__startswith=tag).count()
        check(got == want, f"  {name}: {got} in the database, {want} answered (warm-up included)")
    got = ReceiptItem.objects.count()
    check(got == want_lines, f"receipt lines: {got}, expected {want_lines}")
    odd = Receipt.objects.annotate(lines=Count("items")).exclude(lines__in=(2, 3)).count()
    check(odd == 0, f"receipts without their 2 or 3 lines: {odd}")
    got = AuditEvent.objects.filter(action="receipt.issue").count()
    check(got == want_receipts, f"receipt.issue audit rows: {got}, expected {want_receipts}")
    if want_rows:
        got = AuditEvent.objects.filter(action="bench.ceiling").count()
        check(got == want_rows, f"ceiling rows: {got}, answered 201: {want_rows}")
    sequences = dict(NumberSequence.objects.values_list("receipt_code", "next_number"))
    per_code = Receipt.objects.values("receipt_code").annotate(
        n=Count("id"), distinct=Count("number", distinct=True), low=Min("number"), high=Max("number")
    )
    for row in per_code.order_by("receipt_code"):
        code, n = row["receipt_code"], row["n"]
        gapless = row["low"] == 1 and row["high"] == n and row["distinct"] == n
        check(
            gapless,
            f"code {code}: {n} receipts, numbers {row['low']}..{row['high']}, {row['distinct']} distinct"
            + ("" if gapless else "  <- gap or duplicate"),
        )
        nxt = sequences.get(code)
        check(nxt == n + 1, f"code {code}: sequence next number {nxt}, expected {n + 1}")
    return checks


# --- Report -----------------------------------------------------------------------


def _fmt(value: float, spec: str) -> str:
    return "-" if math.isnan(value) else format(value, spec)


def _other_cores(cpu: dict[str, float]) -> float:
    """Cores used by processes that are neither the server, PostgreSQL nor our clients."""
    return max(0.0, cpu.get("machine", 0) - cpu.get("server", 0) - cpu.get("db", 0) - cpu.get("clients", 0))


def _efficiency(phase: PhaseResult) -> float:
    """Receipts (rows) per second of gunicorn CPU time: barely moved by other load."""
    server = phase.cpu.get("server", 0)
    return phase.per_second(phase.receipts) / server if server else math.nan


def print_report(
    *,
    phases: list[PhaseResult],
    checks: list[tuple[bool, str]],
    profiled: ProfileResult | None,
    command: str,
    server_command: list[str],
    duration: float,
) -> None:
    measured = [p for p in phases if not p.warm]
    ceiling = next((p for p in measured if p.scenario.name == "ceiling"), None)
    ceiling_rate = ceiling.per_second(ceiling.ok) if ceiling else math.nan
    print()
    print(f"Issuance through the REST API, PostgreSQL, {os.cpu_count()} CPUs, {duration:g} s per scenario")
    head = (
        f"{'scenario':<16}{'clients':>8}{'requests':>10}{'req/s':>9}{'receipts':>10}{'receipts/s':>12}"
        f"{'mean ms':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'÷ ceiling':>11}"
    )
    print(head)
    print("-" * len(head))
    for p in measured:
        rate = p.per_second(p.receipts)
        ratio = rate / ceiling_rate if ceiling_rate and not math.isnan(ceiling_rate) else math.nan
        print(
            f"{p.scenario.label:<16}{p.clients:>8}{p.ok:>10}{p.per_second(p.ok):>9.1f}{p.receipts:>10}"
            f"{rate:>12.1f}{_fmt(p.latency_ms(None), '.1f'):>9}{_fmt(p.latency_ms(0.5), '.1f'):>9}"
            f"{_fmt(p.latency_ms(0.99), '.1f'):>9}{p.errors:>8}{_fmt(ratio, '.2f'):>11}"
        )
    print("÷ ceiling = receipts/s of the row ÷ requests/s of the ceiling (one signed POST, one INSERT).")
    if any(p.cpu for p in measured):
        print()
        cpus = os.cpu_count() or 1
        print(
            f"{'CPU cores used':<16}{'gunicorn':>10}{'postgres':>10}{'clients':>10}{'other':>10}"
            f"{f'machine/{cpus}':>12}{'receipts per gunicorn CPU-s':>29}{'÷ ceiling':>11}"
        )
        ceiling_efficiency = _efficiency(ceiling) if ceiling else math.nan
        for p in measured:
            c = p.cpu
            efficiency = _efficiency(p)
            print(
                f"{p.scenario.label:<16}{c.get('server', 0):>10.2f}{c.get('db', 0):>10.2f}"
                f"{c.get('clients', 0):>10.2f}{_other_cores(c):>10.2f}{c.get('machine', 0):>12.2f}"
                f"{_fmt(efficiency, '.0f'):>29}{_fmt(efficiency / ceiling_efficiency, '.2f'):>11}"
            )
        busiest = max(_other_cores(p.cpu) for p in measured)
        if busiest > OTHER_LOAD_WARNING:
            print(
                f"WARNING: up to {busiest:.2f} cores went to other processes on this machine during the run; "
                "the figures are low by that share. Re-run on a quiet machine."
            )
    batch = [p for p in measured if p.scenario.name.startswith("batch")]
    if batch:
        best = max(batch, key=lambda p: p.per_second(p.receipts))
        rate = best.per_second(best.receipts)
        verdict = "met" if rate >= GOAL_RECEIPTS_PER_SECOND else "NOT met"
        print(
            f"\nGoal: batch path >= {GOAL_RECEIPTS_PER_SECOND:.0f} receipts/s: {verdict} "
            f"(best: {best.scenario.label}, {rate:.0f} receipts/s)"
        )
    for p in phases:
        if p.first_error:
            stage = "warm-up" if p.warm else "measured"
            print(f"first error, {p.scenario.label} ({stage}): {p.first_error}")
    if profiled:
        mean = sum(profiled.seconds) / len(profiled.seconds)
        print(
            f"\nIn-process profile, {profiled.scenario.label}: {profiled.plain_seconds * 1000:.1f} ms for one "
            f"request without the profiler ({profiled.queries} SQL statements), {mean * 1000:.1f} ms per request "
            f"under cProfile ({len(profiled.seconds)} requests)."
        )
        print("Top functions by own time:")
        print(profiled.report.rstrip())
        print("Full profile: " + ", ".join(str(path.relative_to(BASE_DIR)) for path in profiled.files))
    print("\nDatabase checks:")
    for ok, text in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {text}")
    print(f"\nCommand: {command}")
    print(f"Server:  {shlex.join(server_command)}")


# --- Main -------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per scenario (default 20)")
    parser.add_argument("--clients", type=int, default=4, help="client processes per scenario (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per gunicorn worker, gthread; 1 = sync workers (default 4)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIOS),
        help="run only this scenario (repeatable; default: all four)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="afterwards, profile N requests of --profile-scenario in-process with cProfile (default 0: off)",
    )
    parser.add_argument(
        "--profile-scenario",
        choices=[name for name in SCENARIOS if name != "ceiling"],
        default="batch500",
        help="the request path to profile (default batch500)",
    )
    parser.add_argument("--keep-db", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.duration > 600:
        parser.error("--duration must be in (0, 600] seconds")
    if not 1 <= args.clients <= 64:
        parser.error("--clients must be 1..64")
    if not 1 <= args.workers <= 16 or not 1 <= args.threads <= 32:
        parser.error("--workers must be 1..16 and --threads 1..32")
    return args


class BenchTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise BenchTimeout("the benchmark overran its time budget")


def _on_term(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(["bench/issue.py", *argv])
    scenarios = [SCENARIOS[name] for name in (args.scenario or list(SCENARIOS))]
    warmup = min(3.0, max(1.0, args.duration / 5))
    # A safety net on top of the bounded phases: the run always stops by itself.
    budget = 300 + len(scenarios) * (warmup + args.duration + REQUEST_TIMEOUT + 40) + 10 * args.profile
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(int(budget))

    work_dir = Path(tempfile.mkdtemp(prefix="erec-bench-"))
    (work_dir / "var" / "staticfiles").mkdir(parents=True)  # WhiteNoise warns when STATIC_ROOT is missing
    log_path = work_dir / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        "EREC_NONCE_BACKEND": "redis",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "EREC_VAR_DIR": str(work_dir / "var"),
    }
    port = free_port()
    server_command = gunicorn_command(port=port, workers=args.workers, threads=args.threads, log_path=log_path)
    server: subprocess.Popen[bytes] | None = None
    database_made = False
    phases: list[PhaseResult] = []
    try:
        print(f"[bench] database {DB_NAME}: drop, create, migrate", flush=True)
        database_recreate()
        database_made = True
        migrate(env)
        os.environ.update(env)
        import django

        django.setup()
        from django.db import connections

        app_id, secret = seed()
        connections.close_all()  # nothing of ours stays open across the clients' fork

        print(f"[bench] gunicorn on 127.0.0.1:{port}: {args.workers} workers × {args.threads} threads", flush=True)
        with open(work_dir / "gunicorn.out", "wb") as server_out:
            server = subprocess.Popen(
                server_command,
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=server_out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server_wait(server, port, log_path)
        target = Target(port=port, app_id=app_id, secret=secret, server_pid=server.pid)

        for scenario in scenarios:
            for warm, seconds in ((True, warmup), (False, args.duration)):
                result = run_phase(scenario=scenario, clients=args.clients, duration=seconds, target=target, warm=warm)
                phases.append(result)
                if not warm:
                    print(
                        f"[bench] {scenario.label:<16} {result.per_second(result.ok):8.1f} req/s "
                        f"{result.per_second(result.receipts):8.1f} receipts/s  errors {result.errors}",
                        flush=True,
                    )
        server_stop(server)
        if server.returncode not in (0, None):
            print(f"[bench] gunicorn exited with {server.returncode}:\n{_tail(log_path)}", flush=True)

        profiled = None
        if args.profile:
            scenario = SCENARIOS[args.profile_scenario]
            print(f"[bench] profiling {args.profile} requests, {scenario.label}, in-process", flush=True)
            profiled = profile_requests(scenario=scenario, app_id=app_id, secret=secret, requests=args.profile)
        checks = verify(phases, profiled)
        connections.close_all()
        print_report(
            phases=phases,
            checks=checks,
            profiled=profiled,
            command=command,
            server_command=server_command,
            duration=args.duration,
        )
        for path in (log_path, work_dir / "gunicorn.out"):
            if path.exists() and path.stat().st_size:
                print(f"\ngunicorn output ({path.name}, last lines):\n{_tail(path)}")
        failed = [text for ok, text in checks if not ok]
        return 1 if failed or any(p.errors for p in phases) else 0
    except KeyboardInterrupt:
        print("\n[bench] interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        signal.alarm(0)
        if server is not None:
            server_stop(server)
        seed_support.cleanup(
            database_made=database_made,
            keep_db=args.keep_db,
            admin_dsn=PG_ADMIN_DSN,
            name=DB_NAME,
            url=DATABASE_URL,
            work_dir=work_dir,
        )


if __name__ == "__main__":
    sys.exit(main())
