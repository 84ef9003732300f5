"""The control state: injected failures, delay, and counters (tests and demos only).

It lives in the serving process's memory on purpose: it describes how this one simulator
behaves now, and ``POST /control/reset`` (or a restart) puts it back to normal. Stored data is
in SQLite and is not touched by a reset.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

FAIL_MODES = ("error", "timeout", "drop_answer")
COUNTERS = (
    "requests",
    "eventRequests",
    "failuresInjected",
    "accepted",
    "duplicates",
    "retries",
    "rejected",
    "lookups",
    "authFailures",
)
DEFAULTS: dict[str, Any] = {"failRate": 0.0, "failMode": "error", "delayMs": 0, "timeoutSeconds": 30.0, "seed": None}


class ControlError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ControlState:
    settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS))
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    _random: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, changes: Any) -> dict[str, Any]:
        """Apply ``{"failRate", "failMode", "delayMs", "timeoutSeconds", "seed"}`` (any of them), all or none."""
        if not isinstance(changes, dict):
            raise ControlError("INVALID_CONTROL", "控制参数必须是 JSON 对象。")
        unknown = sorted(set(changes) - set(DEFAULTS))
        if unknown:
            raise ControlError("INVALID_CONTROL", f"未知的控制参数：{', '.join(unknown)}。")
        checked = {key: _check(key, value) for key, value in changes.items()}
        with self._lock:
            self.settings.update(checked)
            if "seed" in checked:
                self._random.seed(checked["seed"])
            return self.snapshot_locked()

    def reset(self) -> dict[str, Any]:
        with self._lock:
            self.settings = dict(DEFAULTS)
            self.counters = dict.fromkeys(COUNTERS, 0)
            self._random = random.Random()
            return self.snapshot_locked()

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counters[name] += by

    def failure_for_this_request(self) -> str | None:
        """The failure mode to inject into this events request, or None (draws once, under the lock)."""
        with self._lock:
            rate = self.settings["failRate"]
            if rate <= 0 or self._random.random() >= rate:
                return None
            self.counters["failuresInjected"] += 1
            return str(self.settings["failMode"])

    def delay_seconds(self) -> float:
        with self._lock:
            return float(self.settings["delayMs"]) / 1000

    def timeout_seconds(self) -> float:
        with self._lock:
            return float(self.settings["timeoutSeconds"])

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.snapshot_locked()

    def snapshot_locked(self) -> dict[str, Any]:
        return {"settings": dict(self.settings), "counters": dict(self.counters)}


def _number(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ControlError("INVALID_CONTROL", f"控制参数 {key} 必须是 {low:g} 到 {high:g} 之间的数。")
    return value


def _check(key: str, value: Any) -> Any:
    if key == "failRate":
        return float(_number(key, value, 0, 1))
    if key == "failMode":
        if value not in FAIL_MODES:
            raise ControlError("INVALID_CONTROL", f"控制参数 failMode 必须是 {' / '.join(FAIL_MODES)} 之一。")
        return value
    if key == "delayMs":
        if isinstance(value, float) and not value.is_integer():
            raise ControlError("INVALID_CONTROL", "控制参数 delayMs 必须是整数毫秒。")
        return int(_number(key, value, 0, 600_000))
    if key == "timeoutSeconds":
        return float(_number(key, value, 0, 3600))
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ControlError("INVALID_CONTROL", "控制参数 seed 必须是整数或 null。")
    return value
