"""JSON helpers the modelled simulators share (never an adapter's): decode, encode, öre, times."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import msgspec
from starlette.responses import Response

__all__ = ["CENT", "instant", "json_response", "money", "parse_instant", "read_json"]

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
