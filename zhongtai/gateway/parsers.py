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
            return json.load(
                stream,
                parse_float=Decimal,
                parse_constant=self._reject_constant,
            )
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc

    @staticmethod
    def _reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")
