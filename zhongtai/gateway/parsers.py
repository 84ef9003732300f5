from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class DecimalJSONParser(JSONParser):
    """JSON with numbers parsed as Decimal, so that 0.1 stays exactly 0.1 (never a float)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = json.load(stream, parse_float=Decimal, parse_constant=self._reject_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if not _is_encodable(data):
            # "\ud800" is valid JSON syntax but no character: it could be neither stored nor echoed.
            raise ParseError("JSON parse error - lone surrogate escape")
        return data

    @staticmethod
    def _reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")


def _is_encodable(value: Any) -> bool:
    """True if every string (keys included) is valid Unicode without lone surrogates."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True
