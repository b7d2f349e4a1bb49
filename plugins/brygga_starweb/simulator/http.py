"""HTTP helpers of the Starweb simulator: JSON bodies, envelopes, paging, parameter parsing."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from brygga_starweb.simulator.records import ApiError

__all__ = [
    "body_json",
    "error_response",
    "get_bool",
    "get_decimal",
    "get_int",
    "get_str",
    "includes",
    "json_response",
    "page_of",
    "query_datetime",
    "query_int",
    "require",
]

T = TypeVar("T")

# Money goes out as JSON numbers, like Starweb's own (never as strings).
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_BODY = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(_ENCODER.encode(payload), status, media_type="application/json")


def error_response(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _bad(description: str) -> ApiError:
    return ApiError(400, "invalid_request", description)


async def body_json(request: Request) -> dict[str, Any]:
    """The request's JSON object body (numbers with a fraction become Decimal)."""
    raw = await request.body()
    try:
        return _BODY.decode(raw)
    except msgspec.DecodeError:
        raise _bad("The request body must be a JSON object") from None


def query_int(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _bad(f"{name} must be an integer") from None


def query_datetime(request: Request, name: str) -> datetime | None:
    """An ISO-8601 filter value with offset. An unencoded ``+`` arrives as a space: rejected."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad(f"{name} must be an ISO-8601 date-time (URL-encode the '+')") from None
    if when.tzinfo is None:
        raise _bad(f"{name} needs a UTC offset")
    return when


def includes(request: Request, allowed: frozenset[str]) -> frozenset[str]:
    raw = request.query_params.get("include", "")
    wanted = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(wanted - allowed)
    if unknown:
        raise _bad(f"Unknown include {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
    return wanted


def page_of(
    rows: Sequence[T], request: Request, per_page: int, *, overlap: bool = False
) -> tuple[list[T], dict[str, Any]]:
    """The requested page of ``rows`` and Starweb's ``meta`` block. With ``overlap`` page N+1
    starts with the last row of page N (a hostile-server knob)."""
    page = query_int(request, "page", 1)
    assert page is not None
    if page < 1:
        raise _bad("page must be 1 or more")
    start = (page - 1) * per_page
    if overlap and page > 1:
        start -= 1
    chunk = list(rows[start : (page - 1) * per_page + per_page])
    total = len(rows)
    meta = {
        "pagination": {
            "current_page": page,
            "per_page": per_page,
            "total": total,
            "count": len(chunk),
            "total_pages": max(1, math.ceil(total / per_page)),
        }
    }
    return chunk, meta


def _field(body: dict[str, Any], name: str, types: tuple[type, ...], what: str) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in types:
        raise _bad(f"{name} must be {what}")
    if not isinstance(value, types):
        raise _bad(f"{name} must be {what}")
    return value


def get_int(body: dict[str, Any], name: str) -> int | None:
    value = _field(body, name, (int,), "an integer")
    return None if value is None else int(value)


def get_bool(body: dict[str, Any], name: str) -> bool | None:
    value = _field(body, name, (bool,), "true or false")
    return None if value is None else bool(value)


def get_str(body: dict[str, Any], name: str, max_length: int) -> str | None:
    value = _field(body, name, (str,), "a string")
    if value is not None and len(value) > max_length:
        raise _bad(f"{name} is longer than {max_length} characters")
    return None if value is None else str(value)


def get_decimal(body: dict[str, Any], name: str) -> Decimal | None:
    value = _field(body, name, (int, Decimal), "a number")
    return None if value is None else Decimal(value)


def require(value: T | None, name: str) -> T:
    if value is None:
        raise _bad(f"{name} is required")
    return value
