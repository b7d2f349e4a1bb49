"""The Hogia simulator's error forms (its own); JSON, öre and times from brygga.testing.simjson."""

from __future__ import annotations

from starlette.responses import Response

from brygga.testing.simjson import CENT, instant, json_response, money, parse_instant, read_json

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


def problem(
    status: int, errors: dict[str, list[str]], title: str = "Validation failed"
) -> Response:
    """The RFC 7807 error form third-party clients show (reference/erp-apis.md §4.2 [H4])."""
    return json_response({"title": title, "status": status, "errors": errors}, status)


def error_list(status: int, code: str, message: str) -> Response:
    """The array error form ``[{errorCode, message, ...}]`` [H4]."""
    return json_response([{"errorCode": code, "message": message, "sourceHint": ""}], status)
