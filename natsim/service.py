"""The simulator's answers, without HTTP: events, lookup, status, reconciliation.

Events are processed one at a time, in the order of the batch. The slow part (verifying an
``issued`` event's signatures) runs outside the write transaction; the decision (accepted,
duplicate, retry, rejected) is taken inside ``BEGIN IMMEDIATE`` against the stored rows, so two
threads offering the same event store it once and the second is told ``duplicate``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from natsim.checks import Event, EventRefused, IssuedReceipt, event_parse, issued_verify
from natsim.store import Province, ProvinceRegistry, Store, now_beijing

STATUS_ORDER = ("red_offset", "paper_converted", "reimbursed")


@dataclass(frozen=True)
class Result:
    receipt_code: Any
    number: Any
    seq: Any
    status: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "receiptCode": self.receipt_code,
            "number": self.number,
            "seq": self.seq,
            "status": self.status,
            "code": self.code,
            "message": self.message,
        }


class _NeedsCheck(Exception):
    """An issued event thought to be a duplicate is not stored (any more): check it first."""


def _result_of(raw: Any, status: str, code: str, message: str) -> Result:
    fields = raw if isinstance(raw, dict) else {}
    return Result(fields.get("receiptCode"), fields.get("number"), fields.get("seq"), status, code, message)


class Simulator:
    def __init__(self, store: Store, provinces: ProvinceRegistry) -> None:
        self.store = store
        self.provinces = provinces

    # --- events -------------------------------------------------------------------------------

    def event_offer(self, raw: Any, *, province: Province) -> Result:
        try:
            event = event_parse(raw)
        except EventRefused as refused:
            return _result_of(raw, "rejected", refused.code, refused.message)
        ident = (event.receipt_code, event.number, event.seq)
        if event.receipt_code[:2] != province.code[:2]:
            message = f"票据代码 {event.receipt_code} 不属于本省（{province.code}），不能由本省报送。"
            return Result(*ident, "rejected", "PROVINCE_MISMATCH", message)
        stored = self.store.event_get(self.store.read(), *ident)
        if stored is not None:
            # A duplicate or a conflict: answered from the stored row, without checking signatures again.
            try:
                return self._store(event, None, province=province.code)
            except _NeedsCheck:
                pass  # purged meanwhile: an issued event is checked as a new one
        receipt: IssuedReceipt | None = None
        if event.type == "issued":
            try:
                receipt = issued_verify(event, root_pem=province.root_pem, extra_ca_pem=province.extra_ca_pem)
            except EventRefused as refused:
                self.store.refusal_record(
                    receipt_code=event.receipt_code, number=event.number, code=refused.code, message=refused.message
                )
                return Result(*ident, "rejected", refused.code, refused.message)
        return self._store(event, receipt, province=province.code)

    def _against_stored(self, event: Event, row: sqlite3.Row) -> Result:
        ident = (event.receipt_code, event.number, event.seq)
        if row["content_hash"] != event.content_hash:
            message = f"该票据序号 {event.seq} 的事件已收到过，但内容不同（已存的是 {row['type']} 事件）。"
            return Result(*ident, "rejected", "CONFLICT", message)
        return Result(*ident, "duplicate", "DUPLICATE", "该事件此前已收到，按已送达处理。")

    def _store(self, event: Event, receipt: IssuedReceipt | None, *, province: str) -> Result:
        ident = (event.receipt_code, event.number, event.seq)
        with self.store.write() as conn:
            row = self.store.event_get(conn, *ident)
            if row is not None:
                answer = self._against_stored(event, row)
                if answer.status == "duplicate":
                    conn.execute(
                        "UPDATE events SET offered = offered + 1 WHERE receipt_code = ? AND number = ? AND seq = ?",
                        ident,
                    )
                return answer
            if event.type == "issued" and receipt is None:
                raise _NeedsCheck
            if event.seq > 1:
                refused = self._before_status_event(conn, event)
                if refused is not None:
                    return refused
            stored_data = dict(event.data)
            conn.execute(
                "INSERT INTO events (receipt_code, number, seq, type, occurred_at, data, content_hash, province,"
                " offered, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (
                    *ident,
                    event.type,
                    event.occurred_at,
                    json.dumps(stored_data, ensure_ascii=False),
                    event.content_hash,
                    province,
                    now_beijing().isoformat(),
                ),
            )
            if receipt is not None:
                _receipt_insert(conn, receipt, province=province)
                conn.execute(
                    "DELETE FROM refused_issues WHERE receipt_code = ? AND number = ?",
                    (event.receipt_code, event.number),
                )
        return Result(*ident, "accepted", "OK", "已接收。")

    def _before_status_event(self, conn: sqlite3.Connection, event: Event) -> Result | None:
        """SEQ_GAP while an earlier seq is missing; UNKNOWN_RECEIPT when the receipt's issue was refused."""
        ident = (event.receipt_code, event.number, event.seq)
        issued = self.store.event_get(conn, event.receipt_code, event.number, 1)
        if issued is None:
            refusal = self.store.refusal_get(conn, event.receipt_code, event.number)
            if refusal is not None:
                message = f"该票据的开具事件已被拒收（{refusal['code']}），全国平台上没有这张票据，状态事件无从记录。"
                return Result(*ident, "rejected", "UNKNOWN_RECEIPT", message)
            return Result(*ident, "retry", "SEQ_GAP", "该票据的开具事件（序号 1）尚未收到，请稍后重试。")
        previous = self.store.event_get(conn, event.receipt_code, event.number, event.seq - 1)
        if previous is None:
            return Result(*ident, "retry", "SEQ_GAP", f"该票据序号 {event.seq - 1} 的事件尚未收到，请稍后重试。")
        return None

    # --- lookup ------------------------------------------------------------------------------

    def statuses(self, receipt_code: str, number: int) -> tuple[str, list[str]]:
        """(the latest status, every status that holds) derived from the stored events."""
        last_set: dict[str, int] = {}
        paper = entries = 0
        red = False
        for row in self.store.events_of(receipt_code, number):
            kind, seq = row["type"], row["seq"]
            if kind == "red_offset":
                red = True
                last_set["red_offset"] = seq
            elif kind == "paper_converted":
                paper += 1
                last_set["paper_converted"] = seq
            elif kind == "paper_recovered":
                paper -= 1
            elif kind == "entered":
                entries += 1
                last_set["reimbursed"] = seq
            elif kind == "entry_cancelled":
                entries -= 1
        holding = {"red_offset": red, "paper_converted": paper > 0, "reimbursed": entries > 0}
        statuses = [name for name in STATUS_ORDER if holding[name]]
        if not statuses:
            return "normal", ["normal"]
        latest = max(statuses, key=lambda name: last_set[name])
        return latest, statuses

    def lookup(
        self, *, receipt_code: str, number: int, check_code: str, issue_date: str | None, total_amount: Decimal | None
    ) -> dict[str, Any] | None:
        row = self.store.receipt_get(receipt_code, number)
        if row is None or row["check_code"] != check_code:
            return None
        if issue_date is not None and row["issue_date"] != issue_date:
            return None
        if total_amount is not None and Decimal(row["total_amount"]) != total_amount:
            return None
        status, statuses = self.statuses(receipt_code, number)
        return {
            "found": True,
            "province": row["province"],
            "receiptCode": row["receipt_code"],
            "number": row["number"],
            "checkCode": row["check_code"],
            "issueDate": row["issue_date"],
            "totalAmount": row["total_amount"],
            "unitCode": row["unit_code"],
            "unitName": row["unit_name"],
            "kindCode": row["kind_code"],
            "isRed": bool(row["is_red"]),
            "relatedCode": row["related_code"],
            "relatedNumber": row["related_number"],
            "status": status,
            "statuses": statuses,
            "genuine": True,
            "checkedAt": row["checked_at"],
            "dataFile": base64.b64encode(row["data_file"]).decode("ascii"),
        }

    # --- reconciliation -------------------------------------------------------------------------

    def reconciliation(self, *, province: str, day: datetime.date) -> dict[str, Any]:
        rows = self.store.receipts_of_day(province=province, day=day.isoformat())
        lines = sorted(f"{row['receipt_code']}{row['number']:010d}:{row['data_file_sha256']}\n" for row in rows)
        red = sum(1 for row in rows if row["is_red"])
        amount = sum((Decimal(row["total_amount"]) for row in rows), Decimal("0.00"))
        return {
            "date": day.isoformat(),
            "province": province,
            "count": len(rows),
            "blueCount": len(rows) - red,
            "redCount": red,
            "amount": f"{amount:.2f}",
            "digest": hashlib.sha256("".join(lines).encode("ascii")).hexdigest(),
        }

    def reconciliation_receipts(self, *, province: str, day: datetime.date) -> dict[str, Any]:
        rows = self.store.receipts_of_day(province=province, day=day.isoformat())
        return {
            "date": day.isoformat(),
            "province": province,
            "receipts": [
                {"receiptCode": row["receipt_code"], "number": row["number"], "dataFileSha256": row["data_file_sha256"]}
                for row in rows
            ],
        }

    # --- control -----------------------------------------------------------------------------

    def events_listing(self, *, receipt_code: str | None, number: int | None) -> list[dict[str, Any]]:
        return [
            {
                "receiptCode": row["receipt_code"],
                "number": row["number"],
                "seq": row["seq"],
                "type": row["type"],
                "occurredAt": row["occurred_at"],
                "data": json.loads(row["data"]),
                "province": row["province"],
                "offered": row["offered"],
                "receivedAt": row["received_at"],
            }
            for row in self.store.events_list(receipt_code=receipt_code, number=number)
        ]


def _receipt_insert(conn: sqlite3.Connection, receipt: IssuedReceipt, *, province: str) -> None:
    conn.execute(
        "INSERT INTO receipts (receipt_code, number, province, check_code, issue_date, total_amount, unit_code,"
        " unit_name, kind_code, is_red, related_code, related_number, data_file, data_file_sha256, checked_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            receipt.receipt_code,
            receipt.number,
            province,
            receipt.check_code,
            receipt.issue_date,
            receipt.total_amount,
            receipt.unit_code,
            receipt.unit_name,
            receipt.kind_code,
            int(receipt.is_red),
            receipt.related_code,
            receipt.related_number,
            receipt.data_file,
            receipt.data_file_sha256,
            now_beijing().isoformat(),
        ),
    )
