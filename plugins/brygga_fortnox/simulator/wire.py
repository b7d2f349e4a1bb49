"""The simulator's own Fortnox wire helpers: JSON with Decimal numbers, error bodies, paging.

Shapes follow the Fortnox OpenAPI spec (reference/erp-apis.md §2.2, §2.3, §2.5 [spec F1]):
single resources wrapped as ``{"Invoice": {...}}``, lists as ``{"Invoices": [...],
"MetaInformation": {"@TotalResources", "@TotalPages", "@CurrentPage"}}``, errors as
``{"ErrorInformation": {"error": 1, "message": ..., "code": ...}}`` (the lowercase spelling of
the responses page).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["error_body", "meta", "money", "to_json"]

_ENCODER = msgspec.json.Encoder(decimal_format="number")


def to_json(obj: Any) -> bytes:
    """JSON with Decimals as numbers (the spec types amounts as ``number``)."""
    return _ENCODER.encode(obj)


def money(value: Decimal) -> Decimal:
    """An amount with two decimals."""
    return value.quantize(Decimal("0.01"))


def error_body(code: int, message: str) -> dict[str, Any]:
    """Fortnox's error document (responses page spelling: lowercase keys)."""
    return {"ErrorInformation": {"error": 1, "message": message, "code": code}}


def meta(total: int, pages: int, current: int) -> dict[str, int]:
    """``MetaInformation`` of a list answer."""
    return {"@TotalResources": total, "@TotalPages": pages, "@CurrentPage": current}
