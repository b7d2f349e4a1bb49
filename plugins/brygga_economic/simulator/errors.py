"""Error bodies of the e-conomic simulator: the annotated 400 shape and the plain error shape."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

__all__ = [
    "REQUIRED",
    "Annotations",
    "ApiError",
    "error_body",
]

#: Codes the docs show (E04500, E04730, E04740, E06000) plus codes we made up for the
#: simulator where the docs show none (required, null, format, length, duplicate).
REQUIRED = "E00100"
NULL_VALUE = "E00110"
BAD_VALUE = "E00120"
TOO_LONG = "E00130"
DUPLICATE = "E00140"
NO_PRODUCT_ID = "E04500"
NO_QUANTITY = "E04730"
PRICE_SCALE = "E04740"
NOT_FOUND = "E06000"


class ApiError(Exception):
    """Raised by handlers; the app turns it into a JSON response with this status and body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def error_body(
    status: int,
    message: str,
    hint: str,
    now: datetime,
    *,
    error_code: str | None = None,
    errors: Any = None,
) -> dict[str, Any]:
    """The top-level error document: message, developerHint, logId, httpStatusCode, logTime."""
    body: dict[str, Any] = {"message": message}
    if error_code:
        body["errorCode"] = error_code
    body["developerHint"] = hint
    body["logId"] = str(uuid.uuid4())
    body["httpStatusCode"] = status
    if errors is not None:
        body["errors"] = errors
    body["logTime"] = now.strftime("%Y-%m-%dT%H:%M:%S")
    return body


class Annotations:
    """Collects validation errors in a document that mirrors the request body.

    A path is a tuple of property names and list indexes, e.g. ``("lines", 0, "unitNetPrice")``;
    list items become objects with ``arrayIndex`` as in the documented example.
    """

    _MISSING = object()

    def __init__(self) -> None:
        self.root: dict[str, Any] = {}

    def __bool__(self) -> bool:
        return bool(self.root)

    def add(
        self,
        path: tuple[str | int, ...],
        code: str,
        message: str,
        *,
        value: Any = _MISSING,
        hint: str = "Please check your request data.",
    ) -> None:
        node: dict[str, Any] = self.root
        for index, step in enumerate(path):
            if isinstance(step, int):
                continue
            nxt = path[index + 1] if index + 1 < len(path) else None
            if isinstance(nxt, int):
                items: list[dict[str, Any]] = node.setdefault(step, [])
                item = next((i for i in items if i["arrayIndex"] == nxt), None)
                if item is None:
                    item = {"arrayIndex": nxt}
                    items.append(item)
                node = item
            else:
                node = node.setdefault(step, {})
        entry: dict[str, Any] = {"errorCode": code, "message": message}
        if value is not self._MISSING:
            entry["value"] = value
        entry["developerHint"] = hint
        node.setdefault("errors", []).append(entry)

    def raise_if_any(self, now: datetime) -> None:
        if self.root:
            raise ApiError(
                400,
                error_body(
                    400,
                    "Validation error.",
                    "Inspect validation errors and correct your request.",
                    now,
                    errors=self.root,
                ),
            )
