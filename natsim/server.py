"""The simulator's HTTP server: the standard library's ThreadingHTTPServer, JSON in and out.

Routes (docs/national.md):

* signed (HMAC, :mod:`natsim.protocol`): ``POST /v1/events``, ``GET /v1/receipts/{code}/{number}``,
  ``GET /v1/reconciliation``, ``GET /v1/reconciliation/receipts``;
* unsigned: ``GET /health``; with ``--control`` only: ``GET|POST /control``, ``POST /control/reset``,
  ``POST /control/purge``, ``GET /control/events``, ``POST /control/provinces``.
"""

from __future__ import annotations

import datetime
import hmac
import json
import os
import re
import sys
import threading
import time
import traceback
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from natsim import protocol
from natsim.checks import AMOUNT_RE, CHECK_CODE_RE, MAX_NUMBER, RECEIPT_CODE_RE, EventRefused, certificates_in
from natsim.control import ControlError, ControlState
from natsim.service import Simulator
from natsim.store import Province, ProvinceRegistry, Store

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_EVENTS = 100
_RECEIPT_PATH = re.compile(r"/v1/receipts/([^/]+)/([^/]+)\Z")
_SECRET_RE = re.compile(r"[\x21-\x7e]{8,256}\Z")


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class NatsimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], *, data_dir: Path, control: bool) -> None:
        self.store = Store(data_dir)
        self.provinces = ProvinceRegistry(data_dir)
        self.simulator = Simulator(self.store, self.provinces)
        self.control_enabled = control
        self.control = ControlState()
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    server: NatsimServer
    protocol_version = "HTTP/1.1"
    server_version = "natsim/1.0"

    # --- plumbing -----------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"natsim {self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _send(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(status, {"code": code, "message": message})

    def _body(self) -> bytes:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            if self.command == "POST":
                raise HttpError(411, "LENGTH_REQUIRED", "请求缺少 Content-Length。")
            return b""
        if not length_text.isdigit():
            raise HttpError(400, "INVALID_REQUEST", "Content-Length 不是整数。")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise HttpError(413, "BODY_TOO_LARGE", "请求体超过 64 MiB。")
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        path, _, query = self.path.partition("?")
        try:
            body = self._body()
            self.server.control.count("requests")
            if path == "/health" and method == "GET":
                self._send(200, {"status": "ok"})
            elif path == "/control" or path.startswith("/control/"):
                self._control(method, path, query, body)
            elif path.startswith("/v1/"):
                self._v1(method, path, query, body)
            else:
                raise HttpError(404, "NO_SUCH_ENDPOINT", f"没有这个接口：{path}")
        except HttpError as error:
            self.close_connection = True
            self._error(error.status, error.code, error.message)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug or a broken data folder: say so, and keep serving
            self.close_connection = True
            traceback.print_exc(file=sys.stderr)
            self._error(500, "INTERNAL_ERROR", "模拟器内部错误（详见模拟器日志）。")

    # --- signed interface -----------------------------------------------------------------------

    def _authenticate(self, method: str, path: str, query: str, body: bytes) -> Province:
        try:
            return self._check_signature(method, path, query, body)
        except HttpError:
            self.server.control.count("authFailures")
            raise

    def _check_signature(self, method: str, path: str, query: str, body: bytes) -> Province:
        headers = {name: self.headers.get(name, "") for name in ("X-Province", "X-Timestamp", "X-Nonce", "X-Signature")}
        missing = [name for name, value in headers.items() if not value]
        if missing:
            raise HttpError(401, "AUTH_MISSING", f"请求未签名：缺少 {', '.join(missing)}。")
        stamp = headers["X-Timestamp"]
        now = time.time()
        if not stamp.isdigit() or abs(now - int(stamp)) > protocol.TIMESTAMP_WINDOW_SECONDS:
            raise HttpError(401, "AUTH_TIMESTAMP", "X-Timestamp 无效或与服务器时间相差超过 300 秒。")
        if not protocol.NONCE_RE.match(headers["X-Nonce"]):
            raise HttpError(401, "AUTH_NONCE_INVALID", "X-Nonce 必须是 16 到 64 位的字母、数字或连字符。")
        code = headers["X-Province"]
        province = self.server.provinces.get(code) if protocol.PROVINCE_RE.match(code) else None
        if province is None:
            raise HttpError(401, "AUTH_PROVINCE_UNKNOWN", f"未登记的省份：{code}。")
        expected = protocol.request_signature(
            secret=province.secret,
            method=method,
            path=path,
            query=query,
            timestamp=stamp,
            nonce=headers["X-Nonce"],
            body=body,
        )
        if not hmac.compare_digest(expected, headers["X-Signature"]):
            raise HttpError(401, "AUTH_SIGNATURE_INVALID", "请求签名不正确。")
        # Recorded only once the signature is right, so that nobody can burn a province's nonces.
        if not self.server.store.nonce_claim(
            province=code, nonce=headers["X-Nonce"], now=now, lifetime=protocol.NONCE_LIFETIME_SECONDS
        ):
            raise HttpError(401, "AUTH_NONCE_REPLAYED", "X-Nonce 已使用过（重放的请求）。")
        return province

    def _v1(self, method: str, path: str, query: str, body: bytes) -> None:
        receipt_path = _RECEIPT_PATH.match(path)
        if path == "/v1/events":
            allowed = "POST"
        elif receipt_path or path in ("/v1/reconciliation", "/v1/reconciliation/receipts"):
            allowed = "GET"
        else:
            raise HttpError(404, "NO_SUCH_ENDPOINT", f"没有这个接口：{path}")
        if method != allowed:
            raise HttpError(405, "METHOD_NOT_ALLOWED", f"{path} 只接受 {allowed}。")
        province = self._authenticate(method, path, query, body)
        delay = self.server.control.delay_seconds()
        if delay:
            time.sleep(delay)
        if path == "/v1/events":
            self._events(body, province)
        elif receipt_path:
            self._lookup(receipt_path.group(1), receipt_path.group(2), query)
        else:
            day = _query_date(query)
            simulator = self.server.simulator
            if path == "/v1/reconciliation":
                self._send(200, simulator.reconciliation(province=province.code, day=day))
            else:
                self._send(200, simulator.reconciliation_receipts(province=province.code, day=day))

    def _events(self, body: bytes, province: Province) -> None:
        control = self.server.control
        control.count("eventRequests")
        events = _events_of(body)
        failure = control.failure_for_this_request()
        if failure == "error":
            raise HttpError(503, "INJECTED_FAILURE", "模拟故障：全国平台暂时不可用（未保存任何事件）。")
        if failure == "timeout":
            time.sleep(control.timeout_seconds())
            raise HttpError(504, "INJECTED_TIMEOUT", "模拟超时：全国平台未在时限内应答（未保存任何事件）。")
        results = []
        for raw in events:
            result = self.server.simulator.event_offer(raw, province=province)
            control.count(
                {"accepted": "accepted", "duplicate": "duplicates", "retry": "retries"}.get(result.status, "rejected")
            )
            results.append(result.as_dict())
        if failure == "drop_answer":
            raise HttpError(503, "INJECTED_LOST_ANSWER", "模拟故障：事件已保存，但应答丢失。")
        self._send(200, {"results": results})

    def _lookup(self, code: str, number_text: str, query: str) -> None:
        self.server.control.count("lookups")
        params = _params(query, {"checkCode", "issueDate", "totalAmount"})
        if not RECEIPT_CODE_RE.match(code):
            raise HttpError(400, "INVALID_QUERY", "票据代码必须是 8 位数字。")
        if not number_text.isdigit() or len(number_text) > 10 or not 1 <= int(number_text) <= MAX_NUMBER:
            raise HttpError(400, "INVALID_QUERY", "票据号码必须是 1 到 9999999999 之间的整数。")
        check_code = params.get("checkCode", "")
        if not CHECK_CODE_RE.match(check_code.lower()):
            raise HttpError(400, "INVALID_QUERY", "checkCode 必须是 6 位十六进制校验码。")
        issue_date = params.get("issueDate")
        if issue_date is not None:
            issue_date = _date_value(issue_date, "issueDate").isoformat()
        total = params.get("totalAmount")
        if total is not None and not AMOUNT_RE.match(total):
            raise HttpError(400, "INVALID_QUERY", "totalAmount 必须是两位小数的金额。")
        found = self.server.simulator.lookup(
            receipt_code=code,
            number=int(number_text),
            check_code=check_code.lower(),
            issue_date=issue_date,
            total_amount=Decimal(total) if total is not None else None,
        )
        if found is None:
            self._send(404, {"found": False, "code": "NOT_FOUND", "message": "查无此票"})
        else:
            self._send(200, found)

    # --- control interface ----------------------------------------------------------------------

    def _control(self, method: str, path: str, query: str, body: bytes) -> None:
        if not self.server.control_enabled:
            raise HttpError(403, "CONTROL_DISABLED", "控制接口未开启（模拟器启动时未带 --control）。")
        routes = {
            ("GET", "/control"): lambda: self.server.control.snapshot() | self._stored_counts(),
            ("POST", "/control"): lambda: self.server.control.update(_json(body)) | self._stored_counts(),
            ("POST", "/control/reset"): lambda: self.server.control.reset() | self._stored_counts(),
            ("POST", "/control/purge"): self._purge,
            ("GET", "/control/events"): lambda: self._events_listing(query),
            ("POST", "/control/provinces"): lambda: self._province_add(_json(body)),
        }
        handler = routes.get((method, path))
        if handler is None:
            if any(route_path == path for _, route_path in routes):
                raise HttpError(405, "METHOD_NOT_ALLOWED", f"{path} 不接受 {method}。")
            raise HttpError(404, "NO_SUCH_ENDPOINT", f"没有这个接口：{path}")
        try:
            self._send(200, handler())
        except ControlError as error:
            raise HttpError(400, error.code, error.message) from None

    def _stored_counts(self) -> dict[str, Any]:
        return {"stored": self.server.store.counts(), "provinces": self.server.provinces.codes()}

    def _purge(self) -> dict[str, Any]:
        self.server.store.purge()
        return {"purged": True} | self._stored_counts()

    def _events_listing(self, query: str) -> dict[str, Any]:
        params = _params(query, {"receiptCode", "number"})
        code = params.get("receiptCode") or None
        number_text = params.get("number") or None
        if code is not None and not RECEIPT_CODE_RE.match(code):
            raise HttpError(400, "INVALID_QUERY", "receiptCode 必须是 8 位数字。")
        if number_text is not None and (not number_text.isdigit() or len(number_text) > 10):
            raise HttpError(400, "INVALID_QUERY", "number 必须是整数。")
        number = int(number_text) if number_text is not None else None
        return {"events": self.server.simulator.events_listing(receipt_code=code, number=number)}

    def _province_add(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise ControlError("INVALID_CONTROL", "请求体必须是 JSON 对象。")
        code, secret = payload.get("code"), payload.get("secret")
        root, extra = payload.get("rootPem"), payload.get("caPem") or ""
        if not isinstance(code, str) or not protocol.PROVINCE_RE.match(code):
            raise ControlError("INVALID_CONTROL", "code 必须是省级 6 位区划代码（如 430000）。")
        if not isinstance(secret, str) or not _SECRET_RE.match(secret):
            raise ControlError("INVALID_CONTROL", "secret 必须是 8 到 256 位的可见 ASCII 字符。")
        if not isinstance(root, str) or not isinstance(extra, str):
            raise ControlError("INVALID_CONTROL", "rootPem、caPem 必须是 PEM 文本。")
        province_files_check(root.encode("ascii", "replace"), extra.encode("ascii", "replace"))
        self.server.provinces.add(
            code=code, secret=secret, root_pem=root.encode("ascii"), extra_ca_pem=extra.encode("ascii")
        )
        return {"province": code, "registered": True}


def province_files_check(root_pem: bytes, extra_ca_pem: bytes) -> None:
    """ControlError unless ``root_pem`` holds exactly one certificate and ``extra_ca_pem`` only certificates."""
    try:
        roots = certificates_in(root_pem) if b"-----BEGIN CERTIFICATE" in root_pem else []
        extras = certificates_in(extra_ca_pem) if extra_ca_pem else []
    except EventRefused:
        raise ControlError("INVALID_CONTROL", "证书无法读取（需要 PEM 格式的 X.509 证书）。") from None
    if len(roots) != 1:
        raise ControlError("INVALID_CONTROL", f"根证书应为恰好一个 PEM 证书，实际为 {len(roots)} 个。")
    if extra_ca_pem and not extras:
        raise ControlError("INVALID_CONTROL", "caPem 中没有证书。")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "INVALID_JSON", "请求体不是 UTF-8 编码的 JSON。") from None


def _events_of(body: bytes) -> list[Any]:
    payload = _json(body)
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise HttpError(400, "INVALID_BATCH", f'请求体必须是 {{"events": [...]}}，含 1 到 {MAX_EVENTS} 个事件。')
    return events


def _params(query: str, allowed: set[str]) -> dict[str, str]:
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query), max_num_fields=20)
    except ValueError:
        raise HttpError(400, "INVALID_QUERY", "查询字符串格式错误。") from None
    unknown = sorted(set(parsed) - allowed)
    if unknown:
        raise HttpError(400, "INVALID_QUERY", f"未定义的查询参数：{', '.join(unknown)}。")
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise HttpError(400, "INVALID_QUERY", f"查询参数重复：{', '.join(repeated)}。")
    return {name: values[0] for name, values in parsed.items()}


def _date_value(text: str, name: str) -> datetime.date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise HttpError(400, "INVALID_QUERY", f"{name} 必须是存在的日期（YYYY-MM-DD）。") from None


def _query_date(query: str) -> datetime.date:
    params = _params(query, {"date"})
    if "date" not in params:
        raise HttpError(400, "INVALID_QUERY", "缺少查询参数 date（YYYY-MM-DD）。")
    return _date_value(params["date"], "date")


def _exit_with(parent_pid: int) -> None:
    """End this process once ``parent_pid`` is gone (a test run killed without its teardown)."""
    while True:
        time.sleep(1)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            continue  # alive, owned by someone else


def serve(*, data_dir: Path, host: str, port: int, control: bool, parent_pid: int | None = None) -> None:
    server = NatsimServer((host, port), data_dir=data_dir, control=control)
    if parent_pid is not None:
        threading.Thread(target=_exit_with, args=(parent_pid,), daemon=True, name="parent-watch").start()
    bound_host, bound_port = server.server_address[:2]
    print(
        f"全国平台模拟器已启动：http://{bound_host}:{bound_port}（数据目录 {data_dir}，"
        f"控制接口{'已开启' if control else '未开启'}）",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
