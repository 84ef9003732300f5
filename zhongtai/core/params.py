"""Validation of query-string parameters, with Chinese messages and INVALID_INPUT."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from zhongtai.core.errors import ApplicationError, CommonError


def invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(CommonError.INVALID_INPUT, "请求参数校验未通过。", {"fields": {field: message}})


def param_date(params: Mapping[str, str], name: str, *, required: bool = True) -> datetime.date | None:
    value = params.get(name, "")
    if not value:
        if required:
            raise invalid(name, "该参数为必填项，格式 YYYY-MM-DD。")
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise invalid(name, "应为 YYYY-MM-DD 格式的日期。") from None


def param_int(params: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int) -> int:
    value = params.get(name, "")
    if value == "":
        return default
    # isascii(): str.isdigit() is also true for "²" or "١", which int() refuses or misreads.
    if not (value.isascii() and value.isdigit()) or not minimum <= int(value) <= maximum:
        raise invalid(name, f"应为 {minimum} 到 {maximum} 之间的整数。")
    return int(value)


def param_choice(params: Mapping[str, str], name: str, *, choices: tuple[str, ...], default: str) -> str:
    value = params.get(name, "") or default
    if value not in choices:
        raise invalid(name, f"应为以下之一：{'、'.join(choices)}。")
    return value
