"""The simulator's storage: one SQLite file (WAL) in the data folder, and the provinces' files.

Each thread of the server has its own connection. Every write runs in ``BEGIN IMMEDIATE``, so
writers (server threads, and ``seed-foreign`` run beside a serving simulator) queue on SQLite's
lock; the unique keys (a receipt's seq, a province's nonce) are the last word on duplicates.

Provinces live as files, so that ``province-add`` needs no running server:
``provinces/<code>.json`` (``{"secret": ...}``), ``provinces/<code>.pem`` (the root CA) and,
optionally, ``provinces/<code>-ca.pem`` (further CA certificates accepted as chain links).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DB_NAME = "natsim.sqlite3"
BEIJING = datetime.timezone(datetime.timedelta(hours=8))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nonces (
    province TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (province, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen_at);
CREATE TABLE IF NOT EXISTS events (
    receipt_code TEXT NOT NULL,
    number INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    data TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    province TEXT NOT NULL,
    offered INTEGER NOT NULL DEFAULT 1,
    received_at TEXT NOT NULL,
    PRIMARY KEY (receipt_code, number, seq)
);
CREATE TABLE IF NOT EXISTS receipts (
    receipt_code TEXT NOT NULL,
    number INTEGER NOT NULL,
    province TEXT NOT NULL,
    check_code TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    total_amount TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    unit_name TEXT NOT NULL,
    kind_code TEXT NOT NULL,
    is_red INTEGER NOT NULL,
    related_code TEXT,
    related_number INTEGER,
    data_file BLOB NOT NULL,
    data_file_sha256 TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (receipt_code, number)
);
CREATE INDEX IF NOT EXISTS receipts_day ON receipts (province, issue_date);
CREATE TABLE IF NOT EXISTS refused_issues (
    receipt_code TEXT NOT NULL,
    number INTEGER NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    refused_at TEXT NOT NULL,
    PRIMARY KEY (receipt_code, number)
);
"""


def now_beijing() -> datetime.datetime:
    return datetime.datetime.now(BEIJING).replace(microsecond=0)


@dataclass(frozen=True)
class Province:
    code: str
    secret: str
    root_pem: bytes
    extra_ca_pem: bytes


class ProvinceRegistry:
    """The provinces' secrets and root certificates, as files under ``DIR/provinces``."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "provinces"

    def add(self, *, code: str, secret: str, root_pem: bytes, extra_ca_pem: bytes = b"") -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.folder / f"{code}.pem", root_pem)
        extra = self.folder / f"{code}-ca.pem"
        if extra_ca_pem:
            _write_atomically(extra, extra_ca_pem)
        elif extra.exists():
            extra.unlink()
        # The secret last: a province is usable only once its certificates are in place.
        _write_atomically(self.folder / f"{code}.json", json.dumps({"secret": secret}).encode("utf-8"), private=True)

    def get(self, code: str) -> Province | None:
        try:
            secret = json.loads((self.folder / f"{code}.json").read_text("utf-8"))["secret"]
            root_pem = (self.folder / f"{code}.pem").read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(secret, str) or not secret:
            return None
        extra = self.folder / f"{code}-ca.pem"
        return Province(code, secret, root_pem, extra.read_bytes() if extra.exists() else b"")

    def codes(self) -> list[str]:
        if not self.folder.exists():
            return []
        return sorted(path.stem for path in self.folder.glob("*.json"))


def _write_atomically(path: Path, data: bytes, *, private: bool = False) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        if private:
            os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class Store:
    """The SQLite file: nonces, events, receipts (the checked ``issued`` events) and refusals."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_NAME
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once (``BEGIN IMMEDIATE``): committed, or rolled back on error."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        return self._connection()

    # --- nonces -------------------------------------------------------------------------------

    def nonce_claim(self, *, province: str, nonce: str, now: float, lifetime: float) -> bool:
        """Record a nonce; False when it was seen within ``lifetime`` seconds (a replay)."""
        with self.write() as conn:
            conn.execute("DELETE FROM nonces WHERE seen_at < ?", (now - lifetime,))
            cursor = conn.execute(
                "INSERT OR IGNORE INTO nonces (province, nonce, seen_at) VALUES (?, ?, ?)", (province, nonce, now)
            )
            return cursor.rowcount == 1

    # --- events and receipts --------------------------------------------------------------------

    def event_get(self, conn: sqlite3.Connection, receipt_code: str, number: int, seq: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM events WHERE receipt_code = ? AND number = ? AND seq = ?", (receipt_code, number, seq)
        ).fetchone()
        return row

    def events_of(self, receipt_code: str, number: int) -> list[sqlite3.Row]:
        return (
            self.read()
            .execute("SELECT * FROM events WHERE receipt_code = ? AND number = ? ORDER BY seq", (receipt_code, number))
            .fetchall()
        )

    def events_list(self, *, receipt_code: str | None, number: int | None) -> list[sqlite3.Row]:
        sql, args = "SELECT * FROM events WHERE 1 = 1", []
        if receipt_code is not None:
            sql += " AND receipt_code = ?"
            args.append(receipt_code)
        if number is not None:
            sql += " AND number = ?"
            args.append(number)
        return self.read().execute(sql + " ORDER BY receipt_code, number, seq", args).fetchall()

    def receipt_get(self, receipt_code: str, number: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = (
            self.read()
            .execute("SELECT * FROM receipts WHERE receipt_code = ? AND number = ?", (receipt_code, number))
            .fetchone()
        )
        return row

    def receipts_of_day(self, *, province: str, day: str) -> list[sqlite3.Row]:
        return (
            self.read()
            .execute(
                "SELECT receipt_code, number, total_amount, is_red, data_file_sha256 FROM receipts "
                "WHERE province = ? AND issue_date = ? ORDER BY receipt_code, number",
                (province, day),
            )
            .fetchall()
        )

    def refusal_get(self, conn: sqlite3.Connection, receipt_code: str, number: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM refused_issues WHERE receipt_code = ? AND number = ?", (receipt_code, number)
        ).fetchone()
        return row

    def refusal_record(self, *, receipt_code: str, number: int, code: str, message: str) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO refused_issues (receipt_code, number, code, message, refused_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (receipt_code, number, code, message, now_beijing().isoformat()),
            )

    def purge(self) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM events")
            conn.execute("DELETE FROM receipts")
            conn.execute("DELETE FROM refused_issues")

    def counts(self) -> dict[str, int]:
        conn = self.read()
        return {
            "storedEvents": conn.execute("SELECT COUNT(*) FROM events").fetchone()[0],
            "storedReceipts": conn.execute("SELECT COUNT(*) FROM receipts").fetchone()[0],
        }


def row_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row is not a Mapping
