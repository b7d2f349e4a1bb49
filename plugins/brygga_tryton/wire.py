"""Tryton JSON-RPC wire format: the typed-value encoding, the error arrays and the rows read.

Facts from trytond 8.2 ``trytond/protocols/jsonrpc.py`` and ``dispatcher.py`` (reference
erp-apis.md §5.1–§5.3, real-peers.md §A "JSON-RPC protocol (as verified)"):

- Request ``{"id", "method", "params"}`` to ``POST /<db>/rpc/``; answer ``{"id", "result"}`` or
  ``{"id", "error"}`` with HTTP 200 when the request had exactly those three keys.
- Typed values are objects with ``__class__``: ``Decimal`` (``decimal`` as text), ``date``
  (year, month, day), ``datetime`` (… hour, minute, second, microsecond; naive, the server's
  UTC), ``time``, ``timedelta`` (``seconds``) and ``bytes`` (``base64``). The same objects are
  accepted in requests.
- ``error`` is the exception's arguments: ``["UserError", [message, description, domain]]``,
  ``["UserWarning", [name, message, description]]``, ``["ConcurrencyException", [message]]``,
  ``["LoginException", [name, message, type]]``, or ``[text, traceback]`` for anything else.
  Every call is one transaction, so an error answer means nothing was written.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "CategoryRow",
    "CompanyRow",
    "ContactRow",
    "CurrencyRow",
    "Envelope",
    "Fault",
    "IdRow",
    "IdentifierRow",
    "InvoiceRow",
    "MoveRow",
    "PartyRow",
    "ProductRow",
    "SaleRow",
    "ShipmentRow",
    "TaxRow",
    "TemplateRow",
    "decode_body",
    "encode_body",
    "from_wire",
    "naive_utc",
    "to_wire",
]


def naive_utc(moment: datetime) -> datetime:
    """An aware datetime as the naive UTC Tryton stores and compares."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def to_wire(value: Any) -> Any:
    """``value`` with Decimal, date, datetime, time, timedelta and bytes as Tryton's typed
    objects (aware datetimes sent as naive UTC)."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = naive_utc(value)
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
    if isinstance(value, time):
        return {
            "__class__": "time",
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        return {str(key): to_wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_wire(item) for item in value]
    raise TypeError(f"cannot send a {type(value).__name__} to Tryton")


def _typed(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind is None:
        return {key: from_wire(item) for key, item in obj.items()}
    try:
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
                tzinfo=UTC,
            )
        if kind == "time":
            return time(obj["hour"], obj["minute"], obj["second"], obj.get("microsecond", 0))
        if kind == "timedelta":
            return timedelta(seconds=obj["seconds"])
        if kind == "bytes":
            return base64.b64decode(obj["base64"])
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValueError(f"a malformed {kind} value ({type(exc).__name__})") from None
    raise ValueError(f"an unknown typed value {kind!r}")


def from_wire(value: Any) -> Any:
    """Decoded JSON with Tryton's typed objects turned into Python values (datetimes aware
    UTC: Tryton's are naive UTC)."""
    if isinstance(value, dict):
        return _typed(value)
    if isinstance(value, list):
        return [from_wire(item) for item in value]
    return value


_ENCODER = msgspec.json.Encoder()


def encode_body(request_id: int, method: str, params: list[Any]) -> bytes:
    return _ENCODER.encode({"id": request_id, "method": method, "params": to_wire(params)})


class Envelope(msgspec.Struct):
    id: int | str | None = None
    result: Any = None
    error: Any = None


def decode_body(content: bytes) -> Envelope:
    """The answer envelope, typed values decoded. Raises ValueError for anything else."""
    try:
        raw = msgspec.json.decode(content, type=Envelope)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a JSON-RPC answer ({exc})") from None
    return Envelope(id=raw.id, result=from_wire(raw.result), error=raw.error)


class Fault(msgspec.Struct, frozen=True):
    """A parsed ``error``: ``kind`` is UserError, UserWarning, ConcurrencyException,
    LoginException, … or ``"ServerError"`` for an unexpected exception (``message`` is its
    text, never the traceback)."""

    kind: str
    message: str
    description: str = ""
    name: str = ""

    @classmethod
    def parse(cls, error: Any) -> Fault:
        if isinstance(error, list) and error and isinstance(error[0], str):
            kind, args = error[0], error[1] if len(error) > 1 else []
            if isinstance(args, list):
                text = [a if isinstance(a, str) else "" for a in args]
                if kind == "UserWarning" and len(text) >= 2:
                    return cls(kind, text[1], text[2] if len(text) > 2 else "", name=text[0])
                if kind in ("UserError", "ConcurrencyException", "LoginException") and text:
                    if kind == "LoginException" and len(text) >= 2:
                        return cls(kind, text[1], name=text[0])
                    return cls(kind, text[0], text[1] if len(text) > 1 else "")
            # [text, traceback]: an unexpected server exception; keep its first line
            first = kind.strip().splitlines()[0] if kind.strip() else "unknown error"
            return cls("ServerError", first[:300])
        return cls("ServerError", "an error answer Tryton does not send")

    def text(self) -> str:
        parts = [self.message.strip(), self.description.strip()]
        return " ".join(p for p in parts if p)[:600]


# --- rows read (search_read answers; only the fields asked for) -------------------------------


class _Row(msgspec.Struct, kw_only=True):
    id: int


class IdRow(_Row, kw_only=True):
    """A row read for its id only (locations, countries)."""


class PartyRow(_Row, kw_only=True):
    code: str | None = None
    name: str | None = None


class ContactRow(_Row, kw_only=True):
    party: int
    value: str | None = None


class IdentifierRow(_Row, kw_only=True):
    party: int
    code: str | None = None


class ProductRow(_Row, kw_only=True):
    code: str | None = None
    name: str | None = None
    template: int
    active: bool = True
    default_uom: int | None = None
    salable: bool = True
    quantity: float | None = None
    forecast_quantity: float | None = None
    write_date: datetime | None = None
    create_date: datetime | None = None


class TemplateRow(_Row, kw_only=True):
    list_price: Decimal | None = None
    sale_uom: int | None = None
    default_uom: int | None = None
    account_category: int | None = None
    write_date: datetime | None = None
    create_date: datetime | None = None


class CategoryRow(_Row, kw_only=True):
    customer_taxes_used: list[int] = []


class TaxRow(_Row, kw_only=True):
    name: str | None = None
    type: str
    rate: Decimal | None = None


class SaleRow(_Row, kw_only=True):
    reference: str | None = None
    number: str | None = None
    state: str
    invoice_state: str | None = None
    shipment_state: str | None = None
    invoices: list[int] = []
    shipments: list[int] = []
    untaxed_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    total_amount: Decimal | None = None


class InvoiceRow(_Row, kw_only=True):
    number: str | None = None
    state: str


class ShipmentRow(_Row, kw_only=True):
    state: str
    number: str | None = None


class MoveRow(_Row, kw_only=True):
    product: int


class CompanyRow(_Row, kw_only=True):
    currency: int


class CurrencyRow(_Row, kw_only=True):
    code: str
