"""The Specter simulator's error form (its own); JSON, öre and times from brygga.testing.simjson."""

from __future__ import annotations

from starlette.responses import Response

from brygga.testing.simjson import CENT, instant, json_response, money, parse_instant, read_json

__all__ = ["CENT", "error", "instant", "json_response", "money", "parse_instant", "read_json"]


def error(status: int, code: str, message: str, field: str = "") -> Response:
    """The modelled error shape ``{"Errors": [{"Code", "Message", "Field"}]}``."""
    item = {"Code": code, "Message": message, **({"Field": field} if field else {})}
    return json_response({"Errors": [item]}, status)
