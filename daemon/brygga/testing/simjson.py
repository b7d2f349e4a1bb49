"""What the modelled simulators share (never an adapter's): JSON, öre, times, request checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "CENT",
    "Refusal",
    "contains",
    "handled",
    "instant",
    "json_object",
    "json_response",
    "money",
    "number",
    "parse_instant",
    "read_json",
    "time_window",
]

CENT = Decimal("0.01")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def money(value: Decimal) -> Decimal:
    """Rounded to öre, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def instant(moment: datetime) -> str:
    """A time as the modelled APIs write it: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> datetime | None:
    """ISO 8601 text with a zone as a time; None when it is not."""
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
    """``data`` as a JSON response (Decimals as JSON numbers)."""
    return Response(_ENCODER.encode(data), status_code=status, media_type="application/json")


class Refusal(Exception):
    """A request a simulator refuses: ``response`` is the system's error answer."""

    response: Response


def handled(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Any]:
    """The route endpoint of ``handler``: a :class:`Refusal` it raises becomes its response."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Refusal as exc:
            return exc.response

    return endpoint


async def json_object(request: Request) -> dict[str, Any] | None:
    """The request body as a JSON object; None when it is anything else."""
    body = read_json(await request.body())
    return body if isinstance(body, dict) else None


def contains(value: Any, wanted: str) -> bool:
    """The modelled search: case-insensitive "contains" (the worst case for an adapter)."""
    return wanted.casefold() in str(value or "").casefold()


def number(value: Any) -> Decimal | None:
    """A JSON number (or numeric text) as a finite Decimal; None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        found = Decimal(value)
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def time_window(
    request: Request,
    names: tuple[str, str],
    key: str,
    rows: Iterable[dict[str, Any]],
    invalid: Callable[[str], Refusal],
) -> list[dict[str, Any]]:
    """The ``rows`` whose time ``key`` lies in the window the query parameters ``names``
    (from, inclusive; to, exclusive; either may be absent) give; ``invalid(name)`` is raised
    for a parameter that is not an ISO 8601 time with a zone."""
    bounds: list[datetime | None] = []
    for name in names:
        text = request.query_params.get(name)
        moment = parse_instant(text) if text else None
        if text and moment is None:
            raise invalid(name)
        bounds.append(moment)
    low, high = bounds
    kept = []
    for row in rows:
        moment = parse_instant(row[key])
        assert moment is not None
        if (low is None or moment >= low) and (high is None or moment < high):
            kept.append(row)
    return kept
