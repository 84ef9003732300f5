"""``python -m natsim province-add`` and ``seed-foreign``, run as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.support.natsim import ROOT, Natsim
from zhongtai.signing import x509 as certs


def natsim_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "natsim", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_province_add_writes_the_documented_files(tmp_path: Path, pki: dict[str, Any]) -> None:
    root = tmp_path / "root-ca.pem"
    root.write_bytes(certs.der_to_pem(bytes(pki["ca"].root.certificate.der)))
    data = tmp_path / "data"

    done = natsim_cli(
        "province-add", "--data", str(data), "--code", "430000", "--secret", "s3cret-demo", "--root", str(root)
    )

    assert done.returncode == 0, done.stderr
    assert json.loads((data / "provinces" / "430000.json").read_text()) == {"secret": "s3cret-demo"}
    assert (data / "provinces" / "430000.pem").read_bytes() == root.read_bytes()


def test_province_add_refuses_bad_input(tmp_path: Path) -> None:
    not_a_cert = tmp_path / "x.pem"
    not_a_cert.write_text("hello")
    data = str(tmp_path / "data")

    assert (
        natsim_cli(
            "province-add", "--data", data, "--code", "43", "--secret", "s3cret-demo", "--root", str(not_a_cert)
        ).returncode
        == 2
    )
    bad_root = natsim_cli(
        "province-add", "--data", data, "--code", "430000", "--secret", "s3cret-demo", "--root", str(not_a_cert)
    )
    assert bad_root.returncode == 2 and "根证书" in bad_root.stderr
    short = natsim_cli(
        "province-add", "--data", data, "--code", "430000", "--secret", "short", "--root", str(not_a_cert)
    )
    assert short.returncode == 2 and "密钥" in short.stderr
    assert not (tmp_path / "data" / "provinces" / "430000.json").exists()


def test_seed_foreign_stores_genuine_receipts_of_hubei_and_guangdong(sim: Natsim) -> None:
    # when
    done = natsim_cli("seed-foreign", "--data", str(sim.data_dir), "--count", "8")

    # then it prints the receipts and writes the same list
    assert done.returncode == 0, done.stderr
    listing = (sim.data_dir / "foreign-receipts.txt").read_text("utf-8")
    assert listing in done.stdout
    rows = [line.split() for line in listing.splitlines()[1:]]
    assert {row[0] for row in rows} == {"湖北省", "广东省"}
    assert len(rows) == 2 * (8 + 2)  # eight blue receipts and two red ones per province
    assert {row[1][:2] for row in rows} == {"42", "44"}
    assert {row[6] for row in rows} >= {"normal", "red_offset", "reimbursed", "paper_converted"}

    # and each is found by the cross-province lookup, genuine, with its status
    for _name, code, number, check_code, day, amount, status, *_ in rows:
        query = urlencode({"checkCode": check_code, "issueDate": day, "totalAmount": amount})
        answer, body = sim.request("GET", f"/v1/receipts/{code}/{int(number)}", query=query)
        assert answer == 200, body
        assert (body["genuine"], body["status"], body["province"][:2]) == (True, status, code[:2])
        assert body["isRed"] is amount.startswith("-")

    # and seeding again changes nothing
    again = natsim_cli("seed-foreign", "--data", str(sim.data_dir), "--count", "8")
    assert again.returncode == 0 and (sim.data_dir / "foreign-receipts.txt").read_text("utf-8") == listing


def test_a_seeded_data_file_passes_the_standalone_verifier(sim: Natsim, tmp_path: Path) -> None:
    # given a seeded receipt and its province's demo root
    natsim_cli("seed-foreign", "--data", str(sim.data_dir), "--count", "6")
    code, number, check_code = (sim.data_dir / "foreign-receipts.txt").read_text("utf-8").splitlines()[1].split()[1:4]
    body = sim.request("GET", f"/v1/receipts/{code}/{int(number)}", query=f"checkCode={check_code}")[1]
    xml = tmp_path / "einvoice.xml"
    xml.write_bytes(__import__("base64").b64decode(body["dataFile"]))
    ca = sim.data_dir / "demo-ca" / "420000"

    # when a third party verifies it with docs/verify_receipt.py
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "docs" / "verify_receipt.py"),
            str(xml),
            "--root",
            str(ca / "root.pem"),
            "--certs",
            str(ca),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    # then it is valid
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["valid"] is True


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; whoever adopted it may not have reaped it yet


def test_the_simulator_ends_with_its_parent(tmp_path: Path) -> None:
    # given a process that started a simulator with --parent-pid and then dies without cleaning up
    script = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-m', 'natsim', 'serve', '--data', sys.argv[1],"
        " '--port', '0', '--parent-pid', str(os.getpid())])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)

    # when
    parent.kill()
    parent.wait(timeout=10)

    # then the simulator is gone within a few seconds
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)
