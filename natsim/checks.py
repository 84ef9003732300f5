"""What the simulator checks in an event, as the national platform would (docs/national.md).

:func:`event_parse` validates the shape of one event and returns an :class:`Event` or raises
:class:`EventRefused` (``INVALID_EVENT`` with the field and the reason in Chinese).

:func:`issued_verify` checks an ``issued`` event's data file: its SHA-256, the document's own
verdict from the standalone verifier ``docs/verify_receipt.py`` (Python and tongsuopy only, the
same checks and codes as ``manage.py verify_receipt``; reused here rather than re-implemented),
trusting only the root CA registered for the province, with the certificates the event carries
as the candidates, and then that the document says what the event says.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

EVENT_TYPES = ("issued", "red_offset", "paper_converted", "paper_recovered", "entered", "entry_cancelled")
MAX_NUMBER = 9_999_999_999
RECEIPT_CODE_RE = re.compile(r"[0-9]{8}\Z")
CHECK_CODE_RE = re.compile(r"[0-9a-f]{6}\Z")
AMOUNT_RE = re.compile(r"-?(0|[1-9][0-9]{0,11})\.[0-9]{2}\Z")
SHA256_RE = re.compile(r"[0-9a-f]{64}\Z")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
MAX_DATAFILE_BYTES = 16 * 1024 * 1024
VERIFIER_PATH = Path(__file__).resolve().parent.parent / "docs" / "verify_receipt.py"

# A failed check of the standalone verifier -> the event's code. The data file itself
# (well-formedness, schema) is DATAFILE_INVALID; anything about signatures, certificates and
# their chain to the province's root is SIGNATURE_INVALID; a sandbox receipt has its own code.
_CHECK_CODES = {
    "file_type": "DATAFILE_INVALID",
    "well_formed": "DATAFILE_INVALID",
    "schema": "DATAFILE_INVALID",
    "sandbox_receipt": "SANDBOX_RECEIPT",
}


class EventRefused(Exception):
    """The event can never be accepted: ``code`` and a Chinese ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Event:
    receipt_code: str
    number: int
    seq: int
    type: str
    occurred_at: str
    data: dict[str, Any]
    content_hash: str


@dataclass(frozen=True)
class IssuedReceipt:
    """A checked ``issued`` event: what the receipts table keeps."""

    receipt_code: str
    number: int
    check_code: str
    issue_date: str
    total_amount: str
    unit_code: str
    unit_name: str
    kind_code: str
    is_red: bool
    related_code: str | None
    related_number: int | None
    data_file: bytes
    data_file_sha256: str


def _invalid(field: str, reason: str) -> EventRefused:
    return EventRefused("INVALID_EVENT", f"字段 {field} {reason}")


def _text(data: dict[str, Any], key: str, *, prefix: str = "data.", max_length: int = 200) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(prefix + key, "必须是非空字符串。")
    if len(value) > max_length:
        raise _invalid(prefix + key, f"不能超过 {max_length} 个字符。")
    return value


def _integer(data: dict[str, Any], key: str, *, prefix: str = "", low: int = 1, high: int = MAX_NUMBER) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(prefix + key, f"必须是 {low} 到 {high} 之间的整数。")
    return value


def _pattern(data: dict[str, Any], key: str, pattern: re.Pattern[str], what: str, *, prefix: str = "data.") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not pattern.match(value):
        raise _invalid(prefix + key, f"必须是{what}。")
    return value


def _date(data: dict[str, Any], key: str) -> str:
    value = _pattern(data, key, DATE_RE, "日期（YYYY-MM-DD）")
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise _invalid(f"data.{key}", "不是存在的日期。") from None
    return value


def content_hash(event: dict[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON: the same event offered again has the same hash.

    An ``issued`` event's ``certificates`` are left out: they only help the receiver build the
    chain (a retry may carry a renewed issuing CA), the receipt is its data file.
    """
    data = event.get("data")
    if event.get("type") == "issued" and isinstance(data, dict):
        event = {**event, "data": {key: value for key, value in data.items() if key != "certificates"}}
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def event_parse(raw: Any) -> Event:
    """A well-formed event, or EventRefused(INVALID_EVENT)."""
    if not isinstance(raw, dict):
        raise EventRefused("INVALID_EVENT", "事件必须是 JSON 对象。")
    unknown = sorted(set(raw) - {"receiptCode", "number", "seq", "type", "occurredAt", "data"})
    if unknown:
        raise EventRefused("INVALID_EVENT", f"事件含有未定义的字段：{', '.join(unknown)}。")
    receipt_code = _pattern(raw, "receiptCode", RECEIPT_CODE_RE, " 8 位数字的票据代码", prefix="")
    number = _integer(raw, "number")
    seq = _integer(raw, "seq", high=1_000_000)
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        raise _invalid("type", f"必须是 {' / '.join(EVENT_TYPES)} 之一。")
    occurred = raw.get("occurredAt")
    try:
        moment = datetime.datetime.fromisoformat(occurred) if isinstance(occurred, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _invalid("occurredAt", "必须是带时区偏移的 ISO 8601 时间。")
    if (seq == 1) != (kind == "issued"):
        raise EventRefused("INVALID_EVENT", "序号 1 的事件必须是 issued（开具），issued 事件的序号必须是 1。")
    data = raw.get("data")
    if not isinstance(data, dict):
        raise _invalid("data", "必须是 JSON 对象。")
    _data_check(kind, data)
    return Event(receipt_code, number, seq, kind, occurred, data, content_hash(raw))


def _amount(data: dict[str, Any], key: str) -> str:
    return _pattern(data, key, AMOUNT_RE, '两位小数的金额字符串（如 "120.00"）')


def _data_check(kind: str, data: dict[str, Any]) -> None:
    if kind == "issued":
        _date(data, "issueDate")
        _amount(data, "totalAmount")
        _text(data, "unitCode", max_length=32)
        _text(data, "unitName")
        _text(data, "kindCode", max_length=20)
        _pattern(data, "checkCode", CHECK_CODE_RE, " 6 位小写十六进制校验码")
        if not isinstance(data.get("isRed"), bool):
            raise _invalid("data.isRed", "必须是 true 或 false。")
        if data["isRed"]:
            _pattern(data, "relatedCode", RECEIPT_CODE_RE, "原票的 8 位票据代码")
            _integer(data, "relatedNumber", prefix="data.")
            if not data["totalAmount"].startswith("-"):
                raise _invalid("data.totalAmount", "红票的金额必须为负数。")
        else:
            if data.get("relatedCode") is not None or data.get("relatedNumber") is not None:
                raise _invalid("data.relatedCode", "蓝票的 relatedCode、relatedNumber 必须为 null。")
            if data["totalAmount"].startswith("-"):
                raise _invalid("data.totalAmount", "蓝票的金额不能为负数。")
        _text(data, "dataFile", max_length=MAX_DATAFILE_BYTES * 4 // 3 + 8)
        _pattern(data, "dataFileSha256", SHA256_RE, " 64 位小写十六进制 SHA-256")
        _text(data, "certificates", max_length=1_000_000)
    elif kind == "red_offset":
        _pattern(data, "redCode", RECEIPT_CODE_RE, "红票的 8 位票据代码")
        _integer(data, "redNumber", prefix="data.")
    elif kind in ("paper_converted", "paper_recovered"):
        _text(data, "paperNumber", max_length=40)
    else:
        _text(data, "partyCode", max_length=40)
        _text(data, "partyName")
        _amount(data, "amount")
        _date(data, "entryDate")


# --- the data file of an issued event ------------------------------------------------------------


@cache
def verifier() -> ModuleType:
    """docs/verify_receipt.py, loaded once as a module (it is a script, not a package)."""
    name = "natsim._verify_receipt"
    spec = importlib.util.spec_from_file_location(name, VERIFIER_PATH)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the standalone verifier from {VERIFIER_PATH}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def certificates_in(pem_text: bytes) -> list[Any]:
    """Parsed certificates of a PEM text (the verifier's parser); EventRefused when one is unreadable."""
    if not pem_text.strip():
        return []
    module = verifier()
    found = []
    for der in module._der_blocks(pem_text, "CERTIFICATE"):
        try:
            found.append(module.certificate_parse(der))
        except module.DerError:
            raise EventRefused("CERTIFICATE_INVALID", "data.certificates 中有无法读取的证书。") from None
    return found


def issued_verify(
    event: Event, *, root_pem: bytes, extra_ca_pem: bytes = b"", now: datetime.datetime | None = None
) -> IssuedReceipt:
    """The checked receipt of an ``issued`` event, or EventRefused with the first reason."""
    data = event.data
    try:
        content = base64.b64decode(data["dataFile"], validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("data.dataFile", "不是有效的 Base64。") from None
    if len(content) > MAX_DATAFILE_BYTES:
        raise EventRefused("DATAFILE_INVALID", "数据文件超过 16 MiB。")
    if hashlib.sha256(content).hexdigest() != data["dataFileSha256"]:
        raise EventRefused("DATAFILE_HASH_MISMATCH", "数据文件的 SHA-256 与 dataFileSha256 不符。")
    module = verifier()
    roots = certificates_in(root_pem)
    if len(roots) != 1:
        raise EventRefused("PROVINCE_ROOT_MISSING", "模拟器中登记的本省根证书不可用，无法验证签名。")
    pool = certificates_in(data["certificates"].encode("ascii", "replace")) + certificates_in(extra_ca_pem)
    if not pool:
        raise EventRefused("CERTIFICATE_INVALID", "data.certificates 中没有证书。")
    trust = module.Trust(roots[0], pool, [], f"{event.receipt_code[:2]}0000 根证书")
    verdict = module.receipt_verify(content, trust, now)
    if not verdict.valid:
        failed = verdict.failures[0] if verdict.failures else None
        if failed is None:
            raise EventRefused("SIGNATURE_INVALID", "数据文件的签名检查未全部完成。")
        sandbox = next((check for check in verdict.failures if check.name == "sandbox_receipt"), None)
        if sandbox is not None:
            raise EventRefused("SANDBOX_RECEIPT", "联调测试票据（沙箱票据）不应报送全国平台。")
        code = _CHECK_CODES.get(failed.name, "SIGNATURE_INVALID")
        raise EventRefused(code, f"数据文件未通过验证（{failed.name}：{failed.code}）：{failed.reason}")
    _same_as_event(event, verdict.summary or {}, content)
    return IssuedReceipt(
        receipt_code=event.receipt_code,
        number=event.number,
        check_code=data["checkCode"],
        issue_date=data["issueDate"],
        total_amount=data["totalAmount"],
        unit_code=data["unitCode"],
        unit_name=data["unitName"],
        kind_code=data["kindCode"],
        is_red=data["isRed"],
        related_code=data.get("relatedCode"),
        related_number=data.get("relatedNumber"),
        data_file=content,
        data_file_sha256=data["dataFileSha256"],
    )


def _same_as_event(event: Event, summary: dict[str, str], content: bytes) -> None:
    data = event.data
    expected = {
        "receiptCode": (event.receipt_code, "票据代码"),
        "number": (f"{event.number:010d}", "票据号码"),
        "checkCode": (data["checkCode"], "校验码"),
        "issueDate": (data["issueDate"], "开票日期"),
    }
    for key, (value, label) in expected.items():
        if summary.get(key) != value:
            raise EventRefused(
                "DATAFILE_MISMATCH", f"数据文件中的{label}（{summary.get(key)}）与事件中的（{value}）不符。"
            )
    try:
        same_total = Decimal(summary.get("totalAmount", "")) == Decimal(data["totalAmount"])
    except InvalidOperation:
        same_total = False
    if not same_total:
        raise EventRefused(
            "DATAFILE_MISMATCH",
            f"数据文件中的合计金额（{summary.get('totalAmount')}）与事件中的（{data['totalAmount']}）不符。",
        )
    root = verifier().datafile_load(content)
    related = (
        (root.findtext("EInvoiceData/Main/MainExt/RelatedInvoiceCode") or "").strip() or None,
        (root.findtext("EInvoiceData/Main/MainExt/RelatedInvoiceNumber") or "").strip() or None,
    )
    wanted = (data["relatedCode"], f"{data['relatedNumber']:010d}") if data["isRed"] else (None, None)
    if related != wanted:
        raise EventRefused("DATAFILE_MISMATCH", "数据文件中的原票（RelatedInvoiceCode/Number）与事件不符。")
