"""HTTP client of the national platform (docs/national.md): signed requests, answers checked.

Every request carries ``X-Province``, ``X-Timestamp``, ``X-Nonce`` and ``X-Signature``
(HMAC-SHA256 with the province's shared secret over the method, path, raw query,
timestamp, nonce and the body's SHA-256). Anything that is not a usable answer (not
configured, a timeout, a broken connection, a 5xx, a body that is not the documented
JSON) raises :class:`NationalUnavailable`; callers decide what that means for them
(the outbox retries, a lookup tells its user to try later).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import hmac
import http.client
import json
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

MAX_EVENTS_PER_REQUEST = 100
_RESULT_STATUSES = frozenset({"accepted", "duplicate", "retry", "rejected"})
_CODE_RE = re.compile(r"[0-9]{8}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_CHECK_CODE_RE = re.compile(r"[0-9a-fA-F]{6}")
_LOOKUP_STATUSES = frozenset({"normal", "red_offset", "paper_converted", "reimbursed"})
# Answers are small JSON documents, except a lookup's data file: bound what is read.
_MAX_ANSWER_BYTES = 32 * 1024 * 1024


class NationalUnavailable(Exception):
    """No usable answer: not configured, timeout, connection error, 5xx, 4xx on a whole request, bad answer.

    ``status`` is the HTTP status when there was one; ``code`` the receiver's error code
    (or one of ours: ``NOT_CONFIGURED``, ``TIMEOUT``, ``CONNECTION``, ``BAD_ANSWER``).
    """

    def __init__(self, message: str, *, code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclasses.dataclass(frozen=True)
class ForeignReceipt:
    """A receipt of another province, as the national platform answers a lookup (跨省查验)."""

    province: str
    receipt_code: str
    number: int
    check_code: str
    issue_date: datetime.date
    total_amount: Decimal
    unit_code: str
    unit_name: str
    kind_code: str
    is_red: bool
    status: str
    statuses: tuple[str, ...]
    genuine: bool
    checked_at: datetime.datetime
    datafile: bytes


@dataclasses.dataclass(frozen=True)
class EventResult:
    """The receiver's answer for one event of a ``POST /v1/events``."""

    receipt_code: str
    number: int
    seq: int
    status: str  # accepted, duplicate, retry, rejected
    code: str
    message: str


@dataclasses.dataclass(frozen=True)
class DayFigures:
    """One side's figures of one issue day (``GET /v1/reconciliation``)."""

    count: int
    blue_count: int
    red_count: int
    amount: Decimal
    digest: str


@dataclasses.dataclass(frozen=True)
class ListedReceipt:
    """One receipt of a day as ``GET /v1/reconciliation/receipts`` lists it."""

    receipt_code: str
    number: int
    datafile_sha256: str


def province_region_code() -> str:
    """The calling province's 6-digit region code: ``EREC_PROVINCE_CODE`` followed by 0000."""
    return f"{settings.EREC_PROVINCE_CODE}0000"


def is_configured() -> bool:
    return bool(settings.EREC_NATIONAL_URL)


def request_signature(
    *, secret: str, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes
) -> str:
    """The ``X-Signature`` of a request: hex HMAC-SHA256 over the canonical lines (docs/national.md)."""
    message = "\n".join([method.upper(), path, query, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _request(method: str, path: str, *, query: Mapping[str, str] | None = None, payload: Any = None) -> tuple[int, Any]:
    """Send one signed request; returns (status, parsed JSON) for a 2xx or 4xx answer.

    Raises :class:`NationalUnavailable` for everything that is no answer at all.
    """
    base = settings.EREC_NATIONAL_URL
    if not base:
        raise NationalUnavailable("未配置全国平台地址（EREC_NATIONAL_URL）。", code="NOT_CONFIGURED")
    base_path = urllib.parse.urlsplit(base).path.rstrip("/")
    full_path = base_path + path
    raw_query = urllib.parse.urlencode(query or {})
    body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    headers = {
        "Accept": "application/json",
        "X-Province": province_region_code(),
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": request_signature(
            secret=settings.EREC_NATIONAL_SECRET,
            method=method,
            path=full_path,
            query=raw_query,
            timestamp=timestamp,
            nonce=nonce,
            body=body,
        ),
    }
    if payload is not None:
        headers["Content-Type"] = "application/json"
    url = base + path + (f"?{raw_query}" if raw_query else "")
    request = urllib.request.Request(url, data=body if payload is not None else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=settings.EREC_NATIONAL_TIMEOUT) as response:
            return response.status, _json(response.read(_MAX_ANSWER_BYTES + 1), status=response.status)
    except urllib.error.HTTPError as exc:
        try:
            raw = exc.read(_MAX_ANSWER_BYTES + 1)
        except OSError as read_error:
            message = f"全国平台应答 HTTP {exc.code}，且应答读取失败：{read_error}"
            raise NationalUnavailable(message, code="CONNECTION", status=exc.code) from exc
        finally:
            exc.close()
        if exc.code >= 500:
            answer = _json_or_none(raw)
            code = answer.get("code", "") if isinstance(answer, dict) else ""
            message = f"全国平台暂时不可用（HTTP {exc.code}）。"
            raise NationalUnavailable(message, code=str(code), status=exc.code) from exc
        return exc.code, _json(raw, status=exc.code)
    except TimeoutError as exc:
        raise NationalUnavailable("全国平台响应超时。", code="TIMEOUT") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise NationalUnavailable("全国平台响应超时。", code="TIMEOUT") from exc
        raise NationalUnavailable(f"无法连接全国平台：{exc.reason}", code="CONNECTION") from exc
    except (OSError, ValueError, http.client.HTTPException) as exc:  # a reset mid-answer, a bad status line …
        raise NationalUnavailable(f"与全国平台的连接中断：{exc}", code="CONNECTION") from exc


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        return None


def _json(raw: bytes, *, status: int) -> Any:
    if len(raw) > _MAX_ANSWER_BYTES:
        raise NationalUnavailable("全国平台的应答过大。", code="BAD_ANSWER", status=status)
    answer = _json_or_none(raw)
    if answer is None:
        raise NationalUnavailable(f"全国平台的应答不是 JSON（HTTP {status}）。", code="BAD_ANSWER", status=status)
    return answer


def _refused(status: int, answer: Any) -> NationalUnavailable:
    """A 4xx on a whole request: our request or our credentials are wrong; nothing per event."""
    code = str(answer.get("code", "")) if isinstance(answer, dict) else ""
    message = str(answer.get("message", "")) if isinstance(answer, dict) else ""
    return NationalUnavailable(f"全国平台拒绝了请求（HTTP {status} {code}）：{message}", code=code, status=status)


def _bad(what: str) -> NationalUnavailable:
    return NationalUnavailable(f"全国平台的应答不符合约定：{what}", code="BAD_ANSWER")


# --- events ----------------------------------------------------------------------------------


def events_post(events: Sequence[Mapping[str, Any]]) -> list[EventResult]:
    """``POST /v1/events`` with 1 to 100 events; one result per event, in order.

    Raises :class:`NationalUnavailable` when the request as a whole failed (every event of
    it is then a failed attempt), including an answer whose results do not match the events.
    """
    if not 1 <= len(events) <= MAX_EVENTS_PER_REQUEST:
        raise ValueError(f"events_post takes 1 to {MAX_EVENTS_PER_REQUEST} events, got {len(events)}")
    status, answer = _request("POST", "/v1/events", payload={"events": list(events)})
    if status != 200:
        raise _refused(status, answer)
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or len(results) != len(events):
        raise _bad("results 的个数与所发事件不一致")
    parsed: list[EventResult] = []
    for event, result in zip(events, results, strict=True):
        if not isinstance(result, dict):
            raise _bad("results 的元素不是对象")
        parsed_result = EventResult(
            receipt_code=str(result.get("receiptCode", "")),
            number=_int(result.get("number"), "number"),
            seq=_int(result.get("seq"), "seq"),
            status=str(result.get("status", "")),
            code=str(result.get("code") or ""),
            message=str(result.get("message") or ""),
        )
        if parsed_result.status not in _RESULT_STATUSES:
            raise _bad(f"未知的结果状态 {parsed_result.status!r}")
        sent = (event["receiptCode"], event["number"], event["seq"])
        if (parsed_result.receipt_code, parsed_result.number, parsed_result.seq) != sent:
            raise _bad("results 的顺序与所发事件不一致")
        parsed.append(parsed_result)
    return parsed


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{name} 不是整数")
    return value


# --- reconciliation --------------------------------------------------------------------------


def reconciliation_get(*, day: datetime.date) -> DayFigures:
    """The national platform's figures of the calling province for one issue day."""
    status, answer = _request("GET", "/v1/reconciliation", query={"date": day.isoformat()})
    if status != 200 or not isinstance(answer, dict):
        raise _refused(status, answer)
    if answer.get("date") != day.isoformat() or answer.get("province") != province_region_code():
        raise _bad("date 或 province 与请求不一致")
    digest = answer.get("digest")
    if not isinstance(digest, str) or not _SHA256_RE.fullmatch(digest):
        raise _bad("digest 不是 SHA-256 十六进制")
    figures = DayFigures(
        count=_count(answer.get("count"), "count"),
        blue_count=_count(answer.get("blueCount"), "blueCount"),
        red_count=_count(answer.get("redCount"), "redCount"),
        amount=_money(answer.get("amount"), "amount"),
        digest=digest,
    )
    if figures.blue_count + figures.red_count != figures.count:
        raise _bad("blueCount + redCount 不等于 count")
    return figures


def reconciliation_receipts(*, day: datetime.date) -> list[ListedReceipt]:
    """Every receipt the national platform holds for the calling province and issue day."""
    status, answer = _request("GET", "/v1/reconciliation/receipts", query={"date": day.isoformat()})
    if status != 200 or not isinstance(answer, dict):
        raise _refused(status, answer)
    rows = answer.get("receipts")
    if not isinstance(rows, list):
        raise _bad("receipts 不是列表")
    listed: list[ListedReceipt] = []
    for row in rows:
        if not isinstance(row, dict):
            raise _bad("receipts 的元素不是对象")
        code, sha = row.get("receiptCode"), row.get("dataFileSha256")
        if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
            raise _bad("receiptCode 不是 8 位数字")
        if not isinstance(sha, str) or not _SHA256_RE.fullmatch(sha):
            raise _bad("dataFileSha256 不是 SHA-256 十六进制")
        listed.append(ListedReceipt(receipt_code=code, number=_int(row.get("number"), "number"), datafile_sha256=sha))
    return listed


def _count(value: Any, name: str) -> int:
    number = _int(value, name)
    if number < 0:
        raise _bad(f"{name} 为负数")
    return number


def _money(value: Any, name: str) -> Decimal:
    if not isinstance(value, str | Decimal | int) or isinstance(value, bool):
        raise _bad(f"{name} 不是金额")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise _bad(f"{name} 不是金额") from exc
    if not amount.is_finite():
        raise _bad(f"{name} 不是金额")
    return amount


# --- cross-province lookup (跨省查验) --------------------------------------------------------


def receipt_lookup(
    *,
    receipt_code: str,
    number: int,
    check_code: str,
    issue_date: datetime.date | None = None,
    total_amount: Decimal | None = None,
) -> ForeignReceipt | None:
    """Ask the national platform for a receipt of any province; None means 查无此票.

    ``issue_date`` and ``total_amount`` narrow the lookup as the national platform asks.
    A wrong check code (or one that is not 6 hexadecimal digits), date or amount answers
    None exactly like a missing receipt. Raises :class:`NationalUnavailable` when there is
    no usable answer, and ``ValueError`` for a receipt code or number that cannot name a
    receipt (the caller validates its user's input first).
    """
    if not _CODE_RE.fullmatch(receipt_code or ""):
        raise ValueError("receipt_code must be 8 digits")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 9_999_999_999:
        raise ValueError("number must be 1 to 9999999999")
    if not isinstance(check_code, str) or not _CHECK_CODE_RE.fullmatch(check_code):
        return None  # no receipt has such a check code: 查无此票, as for a wrong one
    query = lookup_query(check_code=check_code, issue_date=issue_date, total_amount=total_amount)
    status, answer = _request("GET", f"/v1/receipts/{receipt_code}/{number}", query=query)
    if status == 404 and isinstance(answer, dict) and answer.get("found") is False:
        return None
    if status != 200 or not isinstance(answer, dict):
        raise _refused(status, answer)
    if answer.get("found") is not True:
        raise _bad("found 不是 true")
    return _foreign_receipt(answer, receipt_code=receipt_code, number=number)


def lookup_query(*, check_code: str, issue_date: datetime.date | None, total_amount: Decimal | None) -> dict[str, str]:
    """The query parameters of a lookup, as the national platform reads them (and a cache keys them)."""
    query = {"checkCode": check_code.lower()}
    if issue_date is not None:
        query["issueDate"] = issue_date.isoformat()
    if total_amount is not None:
        query["totalAmount"] = format(total_amount.quantize(Decimal("0.01")), "f")
    return query


def _foreign_receipt(answer: dict[str, Any], *, receipt_code: str, number: int) -> ForeignReceipt:
    if answer.get("receiptCode") != receipt_code or answer.get("number") != number:
        raise _bad("应答的票据代码或号码与查询不一致")
    province = _text(answer, "province")
    if not re.fullmatch(r"[0-9]{6}", province):
        raise _bad("province 不是 6 位区划代码")
    status = _text(answer, "status")
    statuses = answer.get("statuses")
    if status not in _LOOKUP_STATUSES:
        raise _bad(f"未知的票据状态 {status!r}")
    if not isinstance(statuses, list) or not all(isinstance(s, str) and s in _LOOKUP_STATUSES for s in statuses):
        raise _bad("statuses 不是已知状态的列表")
    try:
        issue_date = datetime.date.fromisoformat(_text(answer, "issueDate"))
        checked_at = datetime.datetime.fromisoformat(_text(answer, "checkedAt"))
        datafile = base64.b64decode(_text(answer, "dataFile"), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise _bad(f"日期、时间或数据文件格式错误：{exc}") from exc
    if checked_at.tzinfo is None:
        raise _bad("checkedAt 没有时区")
    if not isinstance(answer.get("isRed"), bool) or not isinstance(answer.get("genuine"), bool):
        raise _bad("isRed 或 genuine 不是布尔值")
    return ForeignReceipt(
        province=province,
        receipt_code=receipt_code,
        number=number,
        check_code=_text(answer, "checkCode"),
        issue_date=issue_date,
        total_amount=_money(answer.get("totalAmount"), "totalAmount"),
        unit_code=_text(answer, "unitCode"),
        unit_name=_text(answer, "unitName"),
        kind_code=_text(answer, "kindCode"),
        is_red=answer["isRed"],
        status=status,
        statuses=tuple(statuses),
        genuine=answer["genuine"],
        checked_at=checked_at,
        datafile=datafile,
    )


def _text(answer: dict[str, Any], name: str) -> str:
    value = answer.get(name)
    if not isinstance(value, str):
        raise _bad(f"{name} 不是字符串")
    return value
