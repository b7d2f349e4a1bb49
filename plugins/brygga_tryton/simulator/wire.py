"""The simulator's own Tryton JSON-RPC wire helpers (never the adapter's).

trytond 8.2 ``trytond/protocols/jsonrpc.py``: typed values as ``{"__class__": ...}`` objects
(Decimal, date, datetime, time, timedelta, bytes) both ways; answers ``{"id", "result"}`` or
``{"id", "error"}`` where ``error`` is the exception's args (reference erp-apis.md §5.1, §5.3).
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["SimUserError", "dumps", "loads"]


class SimUserError(Exception):
    """A Tryton ``UserError``: answered as ``["UserError", [message, description, domain]]``."""

    def __init__(self, message: str, description: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.description = description

    def args_array(self) -> list[Any]:
        return ["UserError", [self.message, self.description, ""]]


def _hook(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj.get("hour", 0),
            obj.get("minute", 0),
            obj.get("second", 0),
            obj.get("microsecond", 0),
        )
    if kind == "timedelta":
        return timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def loads(body: bytes) -> Any:
    return json.loads(body, object_hook=_hook)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, default=_default, separators=(",", ":")).encode()
