"""Layout file (版式文件) rendering speed: PDF pages per second per core.

Renders a 3-item outpatient receipt (medical template, embedded CJK font subset, QR
code, both seals) with a signed-XML-sized attachment (about 4 KB) again and again, each
time with another receipt number so that no two PDFs are alike, and prints pages per
second of wall time and per CPU-second of the rendering processes, and ms per page;
then the same for a 40-line receipt (5 pages) to show what a continuation page costs.

    .venv/bin/python bench/render.py                  # 5 s per scenario, 1 and 2 processes
    .venv/bin/python bench/render.py --seconds 10 --processes 1
    .venv/bin/python bench/render.py --sample var/receipt-sample.pdf   # the receipt, for a look

Needs no database: the receipt is built in memory as ``LayoutData``. The goal, from the
issue: at least 100 pages/s per core with the font, the QR code and the attachment.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import hashlib
import io
import multiprocessing
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from issuance.layout import LayoutData, LayoutExtField, LayoutItem, render_receipt_pdf  # noqa: E402
from issuance.layout.fonts import DEFAULT_CJK_FONT  # noqa: E402
from issuance.layout.qr import qr_matrix  # noqa: E402
from issuance.layout.templates import template_for  # noqa: E402
from zhongtai.core.money import amount_in_capitals  # noqa: E402

GOAL = 100.0
BASE_URL = "http://127.0.0.1:8000"


THREE_ITEMS = (
    LayoutItem("C0105", "诊查费", "次", Decimal("1"), Decimal("25.00"), Decimal("25.00")),
    LayoutItem("C0104", "西药费", "项", Decimal("3"), Decimal("12.50"), Decimal("37.50")),
    LayoutItem("C0108", "化验费", "次", Decimal("1"), Decimal("18.00"), Decimal("18.00")),
)


def sample_receipt(lines: int = 3) -> LayoutData:
    """The outpatient receipt of the benchmark; ``lines`` > 3 repeats the three items (8 fit a page)."""
    items = tuple(THREE_ITEMS[index % 3] for index in range(lines))
    total = sum((item.amount for item in items), Decimal("0.00"))
    ext = (
        LayoutExtField("medicalInsuranceType", "医保类型", "职工医保"),
        LayoutExtField("visitNumber", "就诊号/住院号", "MZ20261126001"),
        LayoutExtField("department", "科室", "内科"),
        LayoutExtField("fundPay", "医保统筹基金支付", "50.00"),
        LayoutExtField("personalAccountPay", "个人账户支付", "20.00"),
        LayoutExtField("personalCashPay", "个人现金支付", "10.50"),
    )
    return LayoutData(
        title="湖南省医疗门诊收费票据（电子）",
        kind_name="医疗门诊收费票据",
        specimen_code="YL0601",
        receipt_code="43060126",
        number="0000000001",
        check_code="55e825",
        issue_date=datetime.date(2026, 11, 26),
        payer_name="李四",
        items=items,
        total_amount=total,
        total_in_capitals=amount_in_capitals(total),
        payee_unit_name="长沙市芙蓉区人民医院",
        unit_seal_name="长沙市芙蓉区人民医院",
        supervision_seal_name="湖南省财政厅",
        bus_no="MZ0001",
        handling_person="李收款",
        checker="王复核",
        remark="门诊收费一号窗口",
        ext=ext,
    )


def sample_xml(data: LayoutData) -> bytes:
    """An EInvoice document of the size a signed one has (about 4 KB): data plus two signatures."""
    lines = "".join(
        f"<Item><ItemCode>{item.code}</ItemCode><ItemName>{item.name}</ItemName><ItemQuantity>{item.quantity}"
        f"</ItemQuantity><ItemStd>{item.standard}</ItemStd><ItemAmount>{item.amount}</ItemAmount></Item>"
        for item in data.items
    )
    signature = base64.b64encode(hashlib.sha512(data.number.encode()).digest() * 18).decode()
    body = (
        "<?xml version='1.0' encoding='UTF-8'?><EInvoice><Header><EInvoiceTag>CZ-EI-43</EInvoiceTag>"
        "<Version>1.1.0</Version></Header><EInvoiceData><Main>"
        f"<EInvoiceName>{data.kind_name}</EInvoiceName><EInvoiceCode>{data.receipt_code}</EInvoiceCode>"
        f"<EInvoiceNumber>{data.number}</EInvoiceNumber><RandomNumber>{data.check_code}</RandomNumber>"
        f"<TotalAmount>{data.total_amount}</TotalAmount><IssueDate>{data.issue_date:%Y%m%d}</IssueDate>"
        f"<PayerParty><Name>{data.payer_name}</Name></PayerParty></Main><Details>{lines}</Details></EInvoiceData>"
        f"<Signature role='unit'>{signature}</Signature><Signature role='supervisor'>{signature}</Signature>"
        "</EInvoice>"
    )
    return body.encode()


def _run(seconds: float, with_xml: bool, start_number: int, font_path: str, lines: int) -> tuple[int, float, float]:
    """Render until ``seconds`` have passed; return (pages, wall seconds, CPU seconds)."""
    base = sample_receipt(lines)
    pages_per_receipt = len(
        PdfReader(io.BytesIO(render_receipt_pdf(base, xml=None, base_url=BASE_URL, font_path=font_path))).pages
    )
    xml = sample_xml(base)
    render_receipt_pdf(base, xml=xml, base_url=BASE_URL, font_path=font_path)  # warm-up: font, template
    pages = 0
    number = start_number
    wall0, cpu0 = time.perf_counter(), time.process_time()
    deadline = wall0 + seconds
    while time.perf_counter() < deadline:
        data = dataclasses.replace(base, number=f"{number:010d}")
        render_receipt_pdf(data, xml=xml if with_xml else None, base_url=BASE_URL, font_path=font_path)
        pages += pages_per_receipt
        number += 1
    return pages, time.perf_counter() - wall0, time.process_time() - cpu0


def _worker(args: tuple[float, bool, int, str, int]) -> tuple[int, float, float]:
    return _run(*args)


def scenario(seconds: float, with_xml: bool, processes: int, font_path: str, lines: int) -> dict[str, float]:
    if processes == 1:
        results = [_run(seconds, with_xml, 1, font_path, lines)]
    else:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            results = pool.map(
                _worker, [(seconds, with_xml, 1 + index * 10_000_000, font_path, lines) for index in range(processes)]
            )
    pages = sum(r[0] for r in results)
    wall = max(r[1] for r in results)
    cpu = sum(r[2] for r in results)
    return {
        "pages": pages,
        "wall": wall,
        "pages_per_s": pages / wall,
        "pages_per_cpu_s": pages / cpu,
        "ms_per_page": cpu / pages * 1000,
    }


def accelerator() -> str:
    from reportlab.lib import rl_accel

    if rl_accel._py_funcs:
        return "no (pure-Python fp_str and string widths; `pip install rl_accel` = reportlab[accel] adds it)"
    return "yes (_rl_accel)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per scenario (default 5)")
    parser.add_argument(
        "--processes", type=int, action="append", help="processes for the attachment scenario (default: 1 and 2)"
    )
    parser.add_argument("--sample", type=Path, help="only write the sample receipt's PDF to this path and stop")
    args = parser.parse_args()
    font_path = os.environ.get("EREC_CJK_FONT", DEFAULT_CJK_FONT)
    if args.sample:
        data = sample_receipt()
        pdf = render_receipt_pdf(data, xml=sample_xml(data), base_url=BASE_URL, font_path=font_path)
        args.sample.write_bytes(pdf)
        print(f"wrote {args.sample} (render a PNG with: pdftoppm -r 150 -png -singlefile {args.sample} NAME)")
        return 0
    process_counts = args.processes or [1, 2]

    from importlib.metadata import version

    import reportlab

    data = sample_receipt()
    xml = sample_xml(data)
    pdf = render_receipt_pdf(data, xml=xml, base_url=BASE_URL, font_path=font_path)
    qr_start = time.perf_counter()
    for index in range(200):
        qr_matrix(f"{BASE_URL}/verify/?c=43060126&n={index:010d}&k=55e825&d=20261126&a=80.50")
    qr_ms = (time.perf_counter() - qr_start) / 200 * 1000

    print("Layout file rendering (版式文件) — pages per second per core")
    print(f"reportlab {reportlab.Version}, accelerator: {accelerator()}")
    print(f"zxing-cpp {version('zxing-cpp')}: QR encoding and module runs {qr_ms:.2f} ms per code")
    print(f"font: {font_path}; CPUs: {os.cpu_count()}")
    print(
        f"receipt: template {template_for(data.specimen_code).name}, {len(data.items)} items, 1 page, "
        f"XML attachment {len(xml):,} bytes, PDF {len(pdf):,} bytes"
    )
    print()
    header = (
        f"{'scenario':<28} {'procs':>5} {'pages':>7} {'seconds':>8} {'pages/s':>9} {'pages/CPU-s':>12} {'ms/page':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = [
        ("draw only (no attachment)", False, 1, 3),
        *[("draw + XML attachment", True, n, 3) for n in process_counts],
        ("40 items = 5 pages + XML", True, 1, 40),
    ]
    goal_per_core = 0.0
    for name, with_xml, processes, lines in rows:
        result = scenario(args.seconds, with_xml, processes, font_path, lines)
        if with_xml and lines == 3:
            goal_per_core = max(goal_per_core, result["pages_per_cpu_s"])
        print(
            f"{name:<28} {processes:>5} {result['pages']:>7.0f} {result['wall']:>8.2f} {result['pages_per_s']:>9.1f} "
            f"{result['pages_per_cpu_s']:>12.1f} {result['ms_per_page']:>8.2f}"
        )
    print()
    verdict = "reached" if goal_per_core >= GOAL else "NOT reached"
    print(f"goal: >= {GOAL:.0f} pages/s per core with font, QR code and attachment: {verdict} ({goal_per_core:.1f})")
    print("pages/CPU-s = pages per second of CPU time of the rendering processes = pages/s per core;")
    print("ms/page = CPU ms per page. Other load on the machine lowers pages/s, hardly pages/CPU-s.")
    print("command: " + " ".join([os.path.relpath(sys.executable), *sys.argv]))
    return 0 if goal_per_core >= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
