"""Receipt pipeline throughput on PostgreSQL: signed receipts per second against the raw SM2 rate.

The sign step of the pipeline (build the data file, unit signature, the platform's
check of it, 财政监制 signature, store the file and record the result) is timed over
every sign job of ``--receipts`` freshly issued receipts, in chunks of
``issuance.jobs.CHUNK`` (500) exactly as a Celery worker runs them
(``receipt_jobs_run_task``), in this process. In the same run
the raw rate of the same library is measured on the same data: ``sm2.sign`` (unit
part) + ``sm2.verify`` (unit part) + ``sm2.sign`` (supervisor part). The ratio of the
two is the figure of issue #3, item 8 (goal: 70 % or better).

    .venv/bin/python bench/pipeline.py                        # 5,000 receipts, 1 and 2 processes
    .venv/bin/python bench/pipeline.py --receipts 2000 --processes 1 --profile 1000

Creates a throw-away database, migrates it, seeds a unit, the province's CA (with a
CRL listing ``--revoked`` certificates) and the unit and seal certificates, issues
through ``issuance.services.receipts_issue`` with the memory broker (jobs are written
but not run), then measures. Afterwards every receipt's data file is checked: both
signatures verify with the certificates it names. The database is dropped at the end,
also on error or Ctrl-C. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

import bench.seed as seed_support  # noqa: E402

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DB_NAME = "ereceipt_bench_pipeline"


def database_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


SETTINGS = "config.settings.bench"
CHUNK = 500  # = issuance.jobs.CHUNK: what one task message carries
# The job ids per task call; --chunk changes it to show how the per-chunk costs weigh (not the default).
chunk_size = CHUNK
ISSUE_BATCH = 500
GOAL_RATIO = 0.70
OUT_DIR = BASE_DIR / "var" / "bench"
OTHER_LOAD_WARNING = 0.25  # cores used by unrelated processes above which the figures are flagged
SLOW_FILES_WARNING_US = 100  # creating one file costs ~15-60 µs on a healthy disk, ~10-20 on tmpfs


# --- CPU accounting ----------------------------------------------------------------


def _ticks(pid: int) -> int | None:
    """user + system clock ticks of a process, or None when it cannot be read."""
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])
    except (OSError, IndexError, ValueError):
        return None


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0, 0
    return sum(values) - values[3] - values[4], sum(values)


def backend_pid() -> int:
    """The PostgreSQL backend serving this process's default connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@dataclass
class Usage:
    """Wall seconds, CPU seconds of the Python process(es) and of their PostgreSQL backends."""

    wall: float = 0.0
    cpu: float = 0.0
    db_cpu: float | None = None
    machine_cores: float | None = None

    def other_cores(self) -> float | None:
        if self.machine_cores is None or self.wall <= 0:
            return None
        return max(0.0, self.machine_cores - (self.cpu + (self.db_cpu or 0.0)) / self.wall)


@contextmanager
def measured(backends: Callable[[], list[int]] | None = None) -> Iterator[Usage]:
    """Time the block: wall, this process's CPU, the given backends' CPU, the machine's busy cores."""
    hz = os.sysconf("SC_CLK_TCK")
    usage = Usage()
    pids = backends() if backends else []
    db_before = [_ticks(pid) for pid in pids]
    machine_before = _machine_ticks()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    yield usage
    usage.wall = time.perf_counter() - wall0
    usage.cpu = time.process_time() - cpu0
    db_after = [_ticks(pid) for pid in pids]
    if pids and all(t is not None for t in db_before + db_after):
        usage.db_cpu = sum(a - b for a, b in zip(db_after, db_before, strict=True)) / hz  # type: ignore[operator]
    busy, total = _machine_ticks()
    if total > machine_before[1]:
        usage.machine_cores = (busy - machine_before[0]) / (total - machine_before[1]) * (os.cpu_count() or 1)


# --- Database and seed ----------------------------------------------------------------


def database_recreate(name: str) -> None:
    seed_support.database_recreate(PG_ADMIN_DSN, name)


migrate = seed_support.migrate


@dataclass
class Seeded:
    unit: Any
    unit_cert: Any
    seal_cert: Any
    crl_entries: int


def seed(*, revoked: int) -> Seeded:
    """Hunan > Changsha > Furong, kind 0101, two fee items, one unit; the province's CA,
    ``revoked`` revoked unit certificates and a CRL listing them, then the unit's hosted
    signing certificate and the province's supervision-seal certificate."""
    from bench.seed import seed_province_and_unit
    from zhongtai.audit.services import Actor
    from zhongtai.signing.models import Certificate
    from zhongtai.signing.services import (
        ca_bootstrap,
        certificate_issue_for_bureau,
        certificate_issue_for_unit,
        certificate_revoke,
        crl_generate,
    )

    seeded = seed_province_and_unit()
    province, bureau, unit = seeded["province"], seeded["bureau"], seeded["unit"]

    actor = Actor.system("bench")
    ca_bootstrap(province=province, actor=actor)
    # Earlier certificates of the unit, revoked: the CRL the pipeline checks is not empty.
    for _ in range(revoked):
        old = certificate_issue_for_unit(unit=unit, actor=actor)
        certificate_revoke(certificate=old, reason=Certificate.RevocationReason.SUPERSEDED, actor=actor)
    crl = crl_generate(actor=actor, province=province)
    return Seeded(
        unit=unit,
        unit_cert=certificate_issue_for_unit(unit=unit, actor=actor),
        seal_cert=certificate_issue_for_bureau(bureau=bureau, actor=actor),
        crl_entries=crl.revoked_count,
    )


# --- Issuing without running the pipeline ------------------------------------------------


def _payload(bus_no: str, index: int) -> dict[str, Any]:
    """A 2-item or a 3-item receipt in turn (the shapes of bench/issue.py)."""
    if index % 2 == 0:
        return {
            "busNo": bus_no,
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
    return {
        "busNo": bus_no,
        "kindCode": "0101",
        "issuingPointCode": "MZ01",
        "payer": {"type": 2, "name": "湖南星城科技有限公司", "email": "cw@example.com"},
        "items": [
            {"itemCode": "F0001", "itemName": "证书工本费", "quantity": "1", "standard": "10.00", "amount": "10.00"},
            {"itemCode": "F0002", "quantity": "2", "standard": "12.50", "amount": "25.00"},
            {"itemCode": "F0002", "quantity": "1", "standard": "8.00", "amount": "8.00", "remark": "补考"},
        ],
        "totalAmount": "43.00",
        "payMode": "银行转账",
        "remark": "bench",
    }


def issue(*, unit: Any, prefix: str, count: int) -> list[int]:
    """Issue ``count`` receipts in batches; return the ids of their sign jobs (pending, not run).

    CELERY_TASK_ALWAYS_EAGER is off and the broker is ``memory://``: the messages
    that ``jobs_create`` sends after commit wait in this process's memory, unread.
    """
    from issuance.models import ReceiptJob
    from issuance.payload import parse_issue_input
    from issuance.services import receipts_issue
    from zhongtai.audit.services import Actor

    actor = Actor.system("bench")
    for start in range(0, count, ISSUE_BATCH):
        inputs = []
        for index in range(start, min(count, start + ISSUE_BATCH)):
            data, errors = parse_issue_input(_payload(f"{prefix}{index:08d}", index), require_bus_no=True)
            assert data is not None, errors
            inputs.append(data)
        outcomes = receipts_issue(unit=unit, inputs=inputs, actor=actor, source="api")
        failed = [o.error for o in outcomes if not o.created]
        if failed:
            raise RuntimeError(f"issuance refused {len(failed)} receipts: {failed[0]}")
    job_ids = list(
        ReceiptJob.objects.filter(
            step=ReceiptJob.Step.SIGN, state=ReceiptJob.State.PENDING, receipt__bus_no__startswith=prefix
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    if len(job_ids) != count:
        raise RuntimeError(f"{prefix}: {len(job_ids)} pending sign jobs for {count} receipts")
    return job_ids


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + chunk_size] for start in range(0, len(ids), chunk_size)]


def run_jobs(job_ids: list[int]) -> dict[str, int]:
    """What a worker does with the messages: the task body, chunk by chunk."""
    from issuance.tasks import receipt_jobs_run_task

    counts: dict[str, int] = {}
    for chunk in _chunks(job_ids):
        for state, n in receipt_jobs_run_task(chunk).items():
            counts[state] = counts.get(state, 0) + n
    return counts


# --- The measurements ------------------------------------------------------------------


@dataclass
class StepResult:
    label: str
    processes: int
    count: int
    usage: Usage
    states: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.count / self.usage.wall

    @property
    def per_cpu_second(self) -> float:
        """Per CPU-second of the Python process(es) only."""
        return self.count / self.usage.cpu

    @property
    def per_total_cpu_second(self) -> float | None:
        """Per CPU-second of the Python process(es) and their PostgreSQL backends."""
        if self.usage.db_cpu is None:
            return None
        return self.count / (self.usage.cpu + self.usage.db_cpu)


def sign_in_process(job_ids: list[int]) -> StepResult:
    pid = backend_pid()
    with measured(lambda: [pid]) as usage:
        states = run_jobs(job_ids)
    return StepResult("sign, 1 process", 1, len(job_ids), usage, states)


def _sign_child(job_ids: list[int], start_at: float, results: Any) -> None:
    from django.db import connections

    try:
        connections.close_all()  # never share the parent's socket
        pid = backend_pid()
        hz = os.sysconf("SC_CLK_TCK")
        db0 = _ticks(pid)
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = time.process_time()
        states = run_jobs(job_ids)
        cpu = time.process_time() - cpu0
        db1 = _ticks(pid)
        db = (db1 - db0) / hz if db0 is not None and db1 is not None else None
        results.put({"states": states, "cpu": cpu, "db": db, "end": time.time()})
    except BaseException as exc:  # reported to the parent, which fails the run
        results.put({"crash": f"{type(exc).__name__}: {exc}"})
    finally:
        connections.close_all()


def sign_in_processes(job_ids: list[int], processes: int) -> StepResult:
    """``processes`` forked workers, each with its own connection and a contiguous share of the ids."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    share = -(-len(job_ids) // processes)
    start_at = time.time() + 1.0  # every child has connected before the common start
    children = [
        context.Process(target=_sign_child, args=(job_ids[i * share : (i + 1) * share], start_at, results))
        for i in range(processes)
    ]
    for child in children:
        child.start()
    time.sleep(max(0.0, start_at - time.time()))
    machine_before = _machine_ticks()
    reports = [results.get(timeout=3600) for _ in children]
    busy, total = _machine_ticks()
    for child in children:
        child.join(timeout=30)
    crashes = [r["crash"] for r in reports if "crash" in r]
    if crashes:
        raise RuntimeError(f"a signing process failed: {crashes[0]}")
    wall = max(r["end"] for r in reports) - start_at
    states: dict[str, int] = {}
    for report in reports:
        for state, n in report["states"].items():
            states[state] = states.get(state, 0) + n
    db = [r["db"] for r in reports]
    usage = Usage(
        wall=wall,
        cpu=sum(r["cpu"] for r in reports),
        db_cpu=None if None in db else sum(db),
        machine_cores=(busy - machine_before[0]) / max(1, total - machine_before[1]) * (os.cpu_count() or 1),
    )
    return StepResult(f"sign, {processes} processes", processes, len(job_ids), usage, states)


@dataclass
class RawSample:
    """The bytes each signature of one stored receipt covers, and the keys that made them."""

    unit_part: bytes
    supervisor_part: bytes
    unit_key: Any
    unit_public: Any
    seal_key: Any


def raw_samples(seeded: Seeded, receipt_ids: list[int]) -> list[RawSample]:
    from issuance.datafile import datafile_signed_bytes
    from issuance.models import Receipt
    from zhongtai.signing import sm2
    from zhongtai.signing.selectors import signing_key_get

    unit_key = signing_key_get(certificate=seeded.unit_cert)
    seal_key = signing_key_get(certificate=seeded.seal_cert)
    unit_public = sm2.public_key_from_der(bytes(seeded.unit_cert.public_key_der))
    samples = []
    for receipt in Receipt.objects.filter(pk__in=receipt_ids):
        with receipt.datafile.open("rb") as handle:
            xml = handle.read()
        samples.append(
            RawSample(
                unit_part=datafile_signed_bytes(xml, "unit"),
                supervisor_part=datafile_signed_bytes(xml, "supervisor"),
                unit_key=unit_key,
                unit_public=unit_public,
                seal_key=seal_key,
            )
        )
    return samples


def _raw_loop(samples: list[RawSample], count: int) -> None:
    from zhongtai.signing import sm2

    for index in range(count):
        s = samples[index % len(samples)]
        signature = sm2.sign(s.unit_key, s.unit_part)
        if not sm2.verify(s.unit_public, s.unit_part, signature):
            raise RuntimeError("raw: a fresh signature does not verify")
        sm2.sign(s.seal_key, s.supervisor_part)


def raw_triples(samples: list[RawSample], count: int) -> StepResult:
    """sm2.sign + sm2.verify + sm2.sign, ``count`` times over the samples in turn: the library's limit."""
    with measured() as usage:
        _raw_loop(samples, count)
    return StepResult("raw SM2 sign+verify+sign", 1, count, usage)


@dataclass
class Paired:
    """Chunk by chunk: the time of each chunk of sign jobs and of as many raw triples right after it."""

    wall: list[tuple[float, float]]  # (pipeline seconds, raw seconds) per chunk, wall clock
    cpu: list[tuple[float, float]]  # the same in CPU seconds of this process
    count: int
    states: dict[str, int]

    @staticmethod
    def ratios(pairs: list[tuple[float, float]]) -> list[float]:
        return sorted(raw / pipeline for pipeline, raw in pairs)

    @staticmethod
    def median(pairs: list[tuple[float, float]]) -> float:
        ratios = Paired.ratios(pairs)
        middle = len(ratios) // 2
        return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2

    @staticmethod
    def total(pairs: list[tuple[float, float]]) -> float:
        return sum(raw for _, raw in pairs) / sum(pipeline for pipeline, _ in pairs)


def sign_paired(job_ids: list[int], samples: list[RawSample]) -> Paired:
    """Each chunk through the task, then as many raw triples: the two meet the same load of the machine.

    On a machine other jobs share, the load moves between the pipeline's run and the raw
    runs, so their ratio moves with it; a pair is seconds apart, and the median of the
    pairs' ratios is far steadier.
    """
    from issuance.tasks import receipt_jobs_run_task

    wall: list[tuple[float, float]] = []
    cpu: list[tuple[float, float]] = []
    states: dict[str, int] = {}
    for chunk in _chunks(job_ids):
        start, start_cpu = time.perf_counter(), time.process_time()
        for state, n in receipt_jobs_run_task(chunk).items():
            states[state] = states.get(state, 0) + n
        signed, signed_cpu = time.perf_counter(), time.process_time()
        _raw_loop(samples, len(chunk))
        wall.append((signed - start, time.perf_counter() - signed))
        cpu.append((signed_cpu - start_cpu, time.process_time() - signed_cpu))
    return Paired(wall=wall, cpu=cpu, count=len(job_ids), states=states)


def render_sample(signed_receipt_ids: list[int]) -> tuple[StepResult, int]:
    """The render step (layout file) over the render jobs of ``signed_receipt_ids``; also returns pages."""
    from pypdf import PdfReader

    from issuance.models import Receipt, ReceiptJob

    job_ids = list(
        ReceiptJob.objects.filter(receipt_id__in=signed_receipt_ids, step=ReceiptJob.Step.RENDER)
        .order_by("id")
        .values_list("id", flat=True)
    )
    pid = backend_pid()
    with measured(lambda: [pid]) as usage:
        states = run_jobs(job_ids)
    pages = 0
    for receipt in Receipt.objects.filter(pk__in=signed_receipt_ids).exclude(layout_file=""):
        with receipt.layout_file.open("rb") as handle:
            pages += len(PdfReader(io.BytesIO(handle.read())).pages)
    return StepResult("render", 1, len(job_ids), usage, states), pages


@dataclass
class Profiled:
    receipts: int
    queries_per_chunk: int
    chunk_ms: float
    report: str
    files: list[Path]


def profile_sign(job_ids: list[int]) -> Profiled:
    """One chunk timed and its SQL counted without the profiler, then the rest under cProfile."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first, rest = job_ids[:chunk_size], job_ids[chunk_size:]
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        run_jobs(first)
        chunk_ms = (time.perf_counter() - started) * 1000
    profiler = cProfile.Profile()
    profiler.enable()
    run_jobs(rest)
    profiler.disable()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    raw_path, text_path = OUT_DIR / "profile-pipeline.prof", OUT_DIR / "profile-pipeline.txt"
    profiler.dump_stats(raw_path)
    full = io.StringIO()
    stats = pstats.Stats(profiler, stream=full)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(60)
    text_path.write_text(full.getvalue())
    short = io.StringIO()
    pstats.Stats(profiler, stream=short).sort_stats("tottime").print_stats(25)
    parts = short.getvalue().split("ncalls", 1)
    return Profiled(
        receipts=len(rest),
        queries_per_chunk=len(queries.captured_queries),
        chunk_ms=chunk_ms,
        report="   ncalls" + parts[1] if len(parts) == 2 else short.getvalue(),
        files=[raw_path, text_path],
    )


# --- Verification ----------------------------------------------------------------------


def verify_all() -> list[tuple[bool, str]]:
    """Every receipt signed once, its data file in storage, both signatures valid for the certificates it names."""
    from django.core.files.storage import default_storage

    from issuance.datafile import datafile_parse, datafile_verify_signature
    from issuance.models import Receipt, ReceiptJob, SignStatus
    from zhongtai.audit.models import AuditEvent
    from zhongtai.signing import sm2
    from zhongtai.signing.models import Certificate

    checks: list[tuple[bool, str]] = []
    total = Receipt.objects.count()
    signed = Receipt.objects.filter(sign_status=SignStatus.SIGNED).exclude(datafile="").count()
    checks.append((signed == total, f"receipts signed with a data file: {signed} of {total}"))
    audits = AuditEvent.objects.filter(action="receipt.sign").count()
    checks.append((audits == total, f"receipt.sign audit rows: {audits}, receipts: {total}"))
    not_done = ReceiptJob.objects.filter(step=ReceiptJob.Step.SIGN).exclude(state=ReceiptJob.State.DONE).count()
    checks.append((not_done == 0, f"sign jobs not done: {not_done}"))
    renders = ReceiptJob.objects.filter(step=ReceiptJob.Step.RENDER).count()
    checks.append((renders == total, f"render jobs: {renders}, one per signed receipt: {total}"))
    on_disk = sum(1 for _ in Path(default_storage.location).rglob("*.xml"))
    checks.append((on_disk == total, f"data files in storage: {on_disk} (no orphan, none missing)"))

    publics: dict[str, Any] = {}

    def verifier(serial: str) -> Callable[[bytes, bytes], bool]:
        if serial not in publics:
            der = Certificate.objects.filter(serial_number=serial).values_list("public_key_der", flat=True).first()
            publics[serial] = sm2.public_key_from_der(bytes(der)) if der is not None else None
        public = publics[serial]
        return lambda data, signature: public is not None and sm2.verify(public, data, signature)

    bad: list[str] = []
    for receipt in Receipt.objects.exclude(datafile="").only("id", "receipt_code", "number", "datafile").iterator():
        with receipt.datafile.open("rb") as handle:
            xml = handle.read()
        content = datafile_parse(xml)
        ok = (content.receipt_code, content.number) == (receipt.receipt_code, receipt.number)
        for role in ("unit", "supervisor"):
            serial = content.signature(role).certificate_serial
            ok = ok and datafile_verify_signature(xml, role=role, verify=verifier(serial)).valid
        if not ok:
            bad.append(f"{receipt.receipt_code}-{receipt.number:010d}")
    checks.append(
        (
            not bad,
            f"data files whose two signatures verify with their certificates: {signed - len(bad)} of {signed}"
            + (f"  <- first bad: {bad[0]}" if bad else ""),
        )
    )
    return checks


# --- Report ------------------------------------------------------------------------------


@dataclass
class StorageProbe:
    """What creating one data file costs in the run's folder, outside Django: the floor of storing."""

    folder: Path
    filesystem: str
    cpu_us: float
    wall_us: float


def storage_probe(folder: Path, *, files: int = 500, size: int = 4400) -> StorageProbe:
    """``os.open(O_CREAT | O_EXCL)`` + write + close of ``files`` new files in a new subfolder, then removed.

    On the ext4 disk of one machine here this cost 15–25 µs in some folders and 650–900 µs
    in others of the same file system (ext4 searching the inode tables of a full block
    group), which alone moved the sign step by a third; the report prints it so that
    such a disk shows.
    """
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=folder))
    data = b"x" * size
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        for index in range(files):
            fd = os.open(probe / f"{index:010d}-einvoice.xml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return StorageProbe(folder, _filesystem_of(folder), cpu / files * 1e6, wall / files * 1e6)


def _filesystem_of(folder: Path) -> str:
    """The type of the file system holding ``folder`` (from /proc/mounts), or "?"."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "?"
    path = str(folder.resolve())
    best = max(
        (m for m in mounts if path == m[0] or path.startswith(m[0].rstrip("/") + "/")),
        key=lambda m: len(m[0]),
        default=None,
    )
    return best[1] if best else "?"


def _states(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))


def _opt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_report(
    *,
    steps: list[StepResult],
    raws: list[StepResult],
    render: tuple[StepResult, int] | None,
    paired: Paired | None,
    profiled: Profiled | None,
    checks: list[tuple[bool, str]],
    seeded: Seeded,
    sample_sizes: tuple[float, float],
    probe: StorageProbe,
    command: str,
) -> None:
    raw_rate = sum(r.per_second for r in raws) / len(raws)
    raw_cpu_rate = sum(r.per_cpu_second for r in raws) / len(raws)
    print()
    print(
        f"Receipt pipeline, sign step, PostgreSQL, {os.cpu_count()} CPUs; chunks of {chunk_size} jobs as "
        f"receipt_jobs_run_task runs them; CRL with {seeded.crl_entries} entries"
    )
    head = (
        f"{'measurement':<28}{'count':>7}{'wall s':>9}{'per s':>9}{'CPU s':>8}{'per CPU-s':>11}"
        f"{'PG CPU s':>10}{'per CPU-s+PG':>14}{'÷ raw':>8}{'other cores':>13}"
    )
    print(head)
    print("-" * len(head))
    rows = [*raws, *steps]
    for row in rows:
        is_raw = row in raws
        ratio = row.per_second / raw_rate
        print(
            f"{row.label:<28}{row.count:>7}{row.usage.wall:>9.2f}{row.per_second:>9.1f}{row.usage.cpu:>8.2f}"
            f"{row.per_cpu_second:>11.1f}{_opt(row.usage.db_cpu, '.2f'):>10}"
            f"{_opt(row.per_total_cpu_second if not is_raw else None, '.1f'):>14}"
            f"{'' if is_raw else f'{ratio:.2f}':>8}{_opt(row.usage.other_cores(), '.2f'):>13}"
        )
    print(
        f"raw = sm2.sign(unit part, {sample_sizes[0]:.0f} B) + sm2.verify(same) + sm2.sign(supervisor part, "
        f"{sample_sizes[1]:.0f} B) of the same receipts, keys and library; per s = wall clock."
    )
    one = next(s for s in steps if s.processes == 1)
    ratio = one.per_second / raw_rate
    cpu_ratio = one.per_cpu_second / raw_cpu_rate
    total_rate = one.per_total_cpu_second
    print(
        f"\nRatio, 1 process: {one.per_second:.0f} receipts/s ÷ {raw_rate:.0f} raw triples/s = {ratio:.2f} "
        f"(wall clock); per CPU-second of this process {cpu_ratio:.2f}"
        + (f", counting its PostgreSQL backend too {total_rate / raw_cpu_rate:.2f}" if total_rate else "")
        + "."
    )
    print(
        f"Files in {probe.folder} ({probe.filesystem}): creating one there costs {probe.cpu_us:.0f} µs of CPU, "
        f"{probe.wall_us:.0f} µs wall (500 files of 4,400 B, os.open + write + close, before the runs)."
    )
    if probe.cpu_us > SLOW_FILES_WARNING_US:
        print(
            f"WARNING: creating a file in {probe.folder} costs {probe.cpu_us:.0f} µs, and the sign step stores one "
            "per receipt: the figures include that disk. --files DIR runs in another folder (/dev/shm: tmpfs)."
        )
    # The pairs see the same machine as their raw triples, the table's rows do not (on a shared
    # machine the raw rate alone moves by a third within a run): the verdict takes the pairs'
    # wall-clock median when there are pairs, the table's ratio otherwise.
    steady = Paired.median(paired.wall) if paired else ratio
    verdict = "met" if steady >= GOAL_RATIO else "NOT met"
    print(
        f"Goal: pipeline >= {GOAL_RATIO:.0%} of the raw signature limit: {verdict} ({steady:.0%}, "
        + ("the paired wall-clock median below" if paired else "the ratio above")
        + ")."
    )
    if paired:
        wall, cpu = Paired.ratios(paired.wall), Paired.ratios(paired.cpu)
        print(
            f"Paired, chunk by chunk ({paired.count} more receipts, {len(wall)} chunks, each followed by as many "
            f"raw triples; jobs: {_states(paired.states)}):\n"
            f"  wall clock: median ratio {Paired.median(paired.wall):.2f} (range {wall[0]:.2f}–{wall[-1]:.2f}), "
            f"all chunks {Paired.total(paired.wall):.2f}\n"
            f"  per CPU-second of this process: median {Paired.median(paired.cpu):.2f} "
            f"(range {cpu[0]:.2f}–{cpu[-1]:.2f}), all chunks {Paired.total(paired.cpu):.2f}"
        )
    busiest = max((r.usage.other_cores() or 0.0) for r in rows)
    if busiest > OTHER_LOAD_WARNING:
        print(
            f"WARNING: up to {busiest:.2f} cores went to other processes during the run; wall-clock figures are "
            "low by that share, the per-CPU-second ones hardly move."
        )
    if render:
        result, pages = render
        print(
            f"\nRender step (layout file, PDF with the signed XML attached), {result.count} receipts, 1 process: "
            f"{pages / result.usage.wall:.1f} pages/s, {pages / result.usage.cpu:.1f} pages per CPU-s "
            f"({pages} pages, {result.usage.wall:.2f} s); jobs: {_states(result.states)}"
        )
    print("\nJob states after each run: " + "; ".join(f"{s.label}: {_states(s.states)}" for s in steps))
    if profiled:
        print(
            f"\nProfile of the sign step: one chunk of {chunk_size} without the profiler (its SQL captured) took "
            f"{profiled.chunk_ms:.1f} ms and {profiled.queries_per_chunk} SQL statements; then "
            f"{profiled.receipts} receipts under cProfile."
        )
        print("Top functions by own time:")
        print(profiled.report.rstrip())
        print("Full profile: " + ", ".join(str(path.relative_to(BASE_DIR)) for path in profiled.files))
    print("\nChecks:")
    for ok, text in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {text}")
    print(f"\nCommand: {command}")


# --- Main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=5000, help="receipts signed per run (default 5000)")
    parser.add_argument(
        "--processes",
        type=int,
        action="append",
        help="signing processes; repeatable (default: 1 and 2; the 2-process run signs its own --receipts)",
    )
    parser.add_argument("--raw", type=int, default=2000, help="raw sign+verify+sign triples per measurement")
    parser.add_argument("--render", type=int, default=500, help="receipts rendered for pages/s (default 500; 0: off)")
    parser.add_argument("--revoked", type=int, default=50, help="revoked certificates in the CRL (default 50)")
    parser.add_argument(
        "--paired",
        type=int,
        default=5000,
        metavar="N",
        help="N more receipts signed chunk by chunk, each chunk followed by as many raw triples (default 5000; 0: off)",
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="afterwards, sign N more receipts under cProfile"
    )
    parser.add_argument(
        "--chunk",
        type=int,
        default=CHUNK,
        metavar="N",
        help=f"job ids per task call (default {CHUNK}, what a worker's message carries; others: per-chunk costs)",
    )
    parser.add_argument(
        "--database",
        default=DB_NAME,
        metavar="NAME",
        help=f"the throw-away database, named ereceipt_bench_* (default {DB_NAME}); dropped and created",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--files",
        type=Path,
        metavar="DIR",
        help="folder for the run's files (data files, var), in a new subfolder removed afterwards "
        "(default: the system temporary folder, $TMPDIR or /tmp)",
    )
    args = parser.parse_args(argv)
    args.processes = sorted(set(args.processes or [1, 2]))
    if 1 not in args.processes:
        parser.error("--processes must include 1: the ratio is measured in one process")
    if not 100 <= args.receipts <= 100_000 or not all(1 <= p <= 8 for p in args.processes):
        parser.error("--receipts must be 100..100000 and --processes 1..8")
    if not re.fullmatch(r"ereceipt_bench_[a-z0-9_]{1,40}", args.database):
        parser.error("--database must be ereceipt_bench_ followed by lower-case letters, digits or _")
    if not 1 <= args.chunk <= 1000:
        parser.error("--chunk must be 1..1000")
    if args.paired and not args.chunk <= args.paired <= 100_000:
        parser.error("--paired must be 0 or from --chunk to 100000")
    if args.profile and args.profile < 2 * args.chunk:
        parser.error(f"--profile needs at least {2 * args.chunk} receipts")
    if args.files is not None and not args.files.is_dir():
        parser.error(f"--files: {args.files} is not a folder")
    return args


def _on_term(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    global chunk_size
    args = parse_args(argv)
    chunk_size = args.chunk
    command = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(["bench/pipeline.py", *argv])
    signal.signal(signal.SIGTERM, _on_term)
    work_dir = Path(tempfile.mkdtemp(prefix="erec-bench-pipeline-", dir=args.files))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url(args.database),
        # No Redis: the broker is memory://, and with eager execution off nothing runs a job
        # while we issue; the job rows are the work list.
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EREC_VAR_DIR": str(work_dir / "var"),
    }
    env.pop("REDIS_URL", None)
    database_made = False
    try:
        print(f"[bench] database {args.database}: drop, create, migrate", flush=True)
        database_recreate(args.database)
        database_made = True
        migrate(env)
        os.environ.pop("REDIS_URL", None)
        os.environ.update(env)
        import django

        django.setup()
        from config.celery import worker_gc_tune

        # What a worker process does when it starts (config.celery): the start-up objects
        # leave garbage collection, the young ones are collected less often.
        worker_gc_tune()
        import logging

        from django.conf import settings

        media = Path(settings.MEDIA_ROOT)
        media.mkdir(parents=True, exist_ok=True)
        probe = storage_probe(media)

        # The memory transport warns that it has no host name once per connection: noise here.
        logging.getLogger("kombu.connection").setLevel(logging.ERROR)
        from issuance.models import ReceiptJob

        print(f"[bench] seed: unit, CA, {args.revoked} revoked certificates and a CRL, unit and seal certificates")
        seeded = seed(revoked=args.revoked)
        print(f"[bench] issue {args.receipts} receipts (jobs written, not run)", flush=True)
        jobs = issue(unit=seeded.unit, prefix="A", count=args.receipts)
        first_receipts = list(
            ReceiptJob.objects.filter(pk__in=jobs[:20]).order_by("id").values_list("receipt_id", flat=True)
        )

        # A short warm-up chunk outside the figures: imports, compiled XSD, font and template caches.
        from issuance.jobs import CHUNK as JOB_CHUNK

        assert JOB_CHUNK == CHUNK, f"bench/pipeline.py: CHUNK is {CHUNK}, issuance.jobs.CHUNK is {JOB_CHUNK}"
        run_jobs(issue(unit=seeded.unit, prefix="W", count=chunk_size))

        steps: list[StepResult] = []
        print(f"[bench] sign {args.receipts} receipts in 1 process", flush=True)
        steps.append(sign_in_process(jobs))
        samples = raw_samples(seeded, first_receipts)
        raws = [raw_triples(samples, args.raw)]
        for processes in args.processes:
            if processes == 1:
                continue
            more = issue(unit=seeded.unit, prefix=f"P{processes}", count=args.receipts)
            print(f"[bench] sign {args.receipts} receipts in {processes} processes", flush=True)
            steps.append(sign_in_processes(more, processes))
        raws.append(raw_triples(samples, args.raw))
        paired = None
        if args.paired:
            more = issue(unit=seeded.unit, prefix="Q", count=args.paired)
            print(f"[bench] paired: {args.paired} receipts, each chunk followed by as many raw triples", flush=True)
            paired = sign_paired(more, samples)

        render = None
        if args.render:
            print(f"[bench] render {args.render} receipts", flush=True)
            signed_ids = list(
                ReceiptJob.objects.filter(pk__in=jobs[: args.render]).values_list("receipt_id", flat=True)
            )
            render = render_sample(signed_ids)
        profiled = None
        if args.profile:
            more = issue(unit=seeded.unit, prefix="R", count=args.profile)
            print(f"[bench] profile the sign step over {args.profile} receipts", flush=True)
            profiled = profile_sign(more)
        print("[bench] verify every data file", flush=True)
        checks = verify_all()
        sizes = (
            sum(len(s.unit_part) for s in samples) / len(samples),
            sum(len(s.supervisor_part) for s in samples) / len(samples),
        )
        print_report(
            steps=steps,
            raws=raws,
            render=render,
            paired=paired,
            profiled=profiled,
            checks=checks,
            seeded=seeded,
            sample_sizes=sizes,
            probe=probe,
            command=command,
        )
        failed = [text for ok, text in checks if not ok]
        bad_states = [s.states for s in steps if set(s.states) - {ReceiptJob.State.DONE}]
        if paired and set(paired.states) - {ReceiptJob.State.DONE}:
            bad_states.append(paired.states)
        return 1 if failed or bad_states else 0
    except KeyboardInterrupt:
        print("\n[bench] interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        seed_support.cleanup(
            database_made=database_made,
            keep_db=args.keep_db,
            admin_dsn=PG_ADMIN_DSN,
            name=args.database,
            url=database_url(args.database),
            work_dir=work_dir,
        )


if __name__ == "__main__":
    sys.exit(main())
