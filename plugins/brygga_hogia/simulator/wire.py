"""The Hogia simulator's own JSON helpers (never the adapter's): decode, encode, errors, times."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import msgspec
from starlette.responses import Response

__all__ = [
    "CENT",
    "error_list",
    "instant",
    "json_response",
    "money",
    "parse_instant",
    "problem",
    "read_json",
]

CENT = Decimal("0.01")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def money(value: Decimal) -> Decimal:
    """Rounded to öre, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def instant(moment: datetime) -> str:
    """A time as the modelled API writes it: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def read_json(body: bytes) -> Any:
    """The request body as JSON (numbers with decimals as Decimal); None when it is not."""
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError:
        return None


def json_response(data: Any, status: int = 200) -> Response:
    return Response(_ENCODER.encode(data), status_code=status, media_type="application/json")


def problem(
    status: int, errors: dict[str, list[str]], title: str = "Validation failed"
) -> Response:
    """The RFC 7807 error form third-party clients show (reference/erp-apis.md §4.2 [H4])."""
    return json_response({"title": title, "status": status, "errors": errors}, status)


def error_list(status: int, code: str, message: str) -> Response:
    """The array error form ``[{errorCode, message, ...}]`` [H4]."""
    return json_response([{"errorCode": code, "message": message, "sourceHint": ""}], status)
