"""HTTP helpers of the Norce simulator: JSON bodies and answers (money as JSON numbers)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from brygga_norce.simulator.records import ApiError

__all__ = ["body_json", "error_response", "json_response"]

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_BODY = msgspec.json.Decoder(float_hook=Decimal)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(_ENCODER.encode(payload), status, media_type="application/json")


def error_response(error: ApiError) -> Response:
    if error.oauth:
        return json_response({"error": error.oauth, "error_description": error.message}, 400)
    return json_response({"Message": error.message}, error.status)


async def body_json(request: Request) -> Any:
    """The request's JSON body (numbers with a fraction become Decimal); 400 when not JSON."""
    try:
        return _BODY.decode(await request.body())
    except msgspec.DecodeError:
        raise ApiError(400, "The request body is not valid JSON") from None
