"""Starweb API v2 JSON as msgspec Structs; decoding names the order and field on failure."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

import msgspec

from brygga.errors import PermanentError

__all__ = [
    "AddressWire",
    "AddressesWire",
    "CustomerWire",
    "ErrorWire",
    "ExternalServiceWire",
    "Included",
    "ItemWire",
    "OrderSummary",
    "OrderWire",
    "Pagination",
    "StatusWire",
    "TokenWire",
    "UnreadableRow",
    "decode_error",
    "decode_external_service",
    "decode_order",
    "decode_order_page",
    "decode_order_row",
    "decode_statuses",
    "decode_token",
]

T = TypeVar("T")

#: Starweb sends ISO-8601 with an offset; a timestamp without one is garbage, not local time.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
# msgspec cannot constrain Decimal ranges: VAT rates and non-negative amounts are checked
# in mapping.py, where the message can name the order and row.
Rate = Decimal
NonNegative = Decimal
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
CountryCode = Annotated[str, msgspec.Meta(pattern=r"^([A-Za-z]{2})?$")]


class _Wire(msgspec.Struct, kw_only=True, rename="camel"):
    """Starweb JSON: camelCase, unknown fields ignored (the API grows), known ones typed."""


class Included(msgspec.Struct, Generic[T], kw_only=True):
    """An included child, which Starweb wraps as ``{"data": ...}``."""

    data: T


class TokenWire(msgspec.Struct, kw_only=True):
    access_token: Annotated[str, msgspec.Meta(min_length=1)]
    expires_in: Annotated[int, msgspec.Meta(gt=0)] = 3600
    scope: str | None = None


class ErrorWire(msgspec.Struct, kw_only=True):
    error: str = ""
    error_description: str = ""


class Pagination(msgspec.Struct, kw_only=True):
    current_page: int
    per_page: int
    total: int
    count: int
    total_pages: int


class _ListMeta(msgspec.Struct, kw_only=True):
    pagination: Pagination


class _RawPage(msgspec.Struct, kw_only=True):
    data: list[msgspec.Raw]
    meta: _ListMeta | None = None


class _RawSingle(msgspec.Struct, kw_only=True):
    data: msgspec.Raw


class LanguageName(_Wire, kw_only=True):
    lang_code: str | None = None
    name: str | None = None


class StatusWire(_Wire, kw_only=True):
    status_id: int
    id_code: str | None = None
    should_send_email: bool | None = None
    languages: list[LanguageName] = []

    @property
    def code(self) -> str:
        """What brygga calls this status: the ``idCode``, or the id for custom statuses."""
        return self.id_code or str(self.status_id)


class ItemWire(_Wire, kw_only=True):
    item_id: int | None = None
    sku: str | None = None
    description: str | None = None
    #: an int in the spec; decimals are accepted (weighed goods)
    quantity: Decimal
    #: excluding VAT
    unit_price: Decimal
    vat_rate: Rate
    discount: NonNegative | None = None
    discount_type: Literal["amount", "percent"] | None = None
    sort_index: int | None = None


class AddressWire(_Wire, kw_only=True):
    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    care_of: str | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country_code: CountryCode | None = None
    phone_no: str | None = None
    mobile_phone_no: str | None = None


class AddressesWire(_Wire, kw_only=True):
    original_invoice: AddressWire | None = None
    original_delivery: AddressWire | None = None
    customer_invoice: AddressWire | None = None
    customer_delivery: AddressWire | None = None
    payment_method_invoice: AddressWire | None = None
    payment_method_delivery: AddressWire | None = None


class CustomerWire(_Wire, kw_only=True):
    customer_id: int
    type: Literal["person", "company"] | None = None
    email: str | None = None
    national_id_no: str | None = None
    vat_no: str | None = None
    pricelist_id: int | None = None


class ExternalServiceWire(_Wire, kw_only=True):
    service_name: str
    external_id_value: str | None = None
    read_only: bool = False


class OrderSummary(_Wire, kw_only=True):
    """The fields of an order-list row the change feed needs."""

    order_id: int
    modified_at: AwareDatetime
    status_id: int
    status: Included[StatusWire] | None = None
    #: narrows the list when orders with equal ``modifiedAt`` straddle pages (feed.py)
    created_at: AwareDatetime | None = None


class OrderWire(_Wire, kw_only=True):
    order_id: int
    created_at: AwareDatetime
    modified_at: AwareDatetime
    customer_id: int | None = None
    status_id: int
    is_complete: bool = True
    payment_status: str | None = None
    payment_reference: str | None = None
    currency_code: Currency
    total_amount: Decimal
    total_vat: Decimal
    amount_to_pay: Decimal
    amount_paid: Decimal | None = None
    shipping_method_name: str | None = None
    shipping_cost: NonNegative | None = None
    shipping_vat_rate: Rate | None = None
    shipping_tracking_no: str | None = None
    payment_method_name: str | None = None
    payment_method_id_code: str | None = None
    payment_fee: NonNegative | None = None
    payment_vat_rate: Rate | None = None
    discount_code: str | None = None
    original_customer_email: str | None = None
    original_customer_national_id_no: str | None = None
    original_customer_vat_no: str | None = None
    custom_info1: str | None = None
    custom_info2: str | None = None
    custom_info3: str | None = None
    custom_info4: str | None = None
    items: Included[list[ItemWire]] | None = None
    addresses: Included[AddressesWire] | None = None
    customer: Included[CustomerWire | None] | None = None
    status: Included[StatusWire] | None = None
    external_services: Included[list[ExternalServiceWire]] | None = None


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)

#: what decoding hostile bytes can raise: msgspec's own errors, invalid UTF-8 inside a
#: string, and nesting deeper than msgspec's recursion guard
DecodeFailure = msgspec.MsgspecError | UnicodeDecodeError | RecursionError
_DECODE_FAILURES = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError)


def _problem(exc: DecodeFailure, body: bytes) -> tuple[str, str]:
    """(readable field path, problem) from a decode error; ``.data`` wrappers dropped.

    Invalid UTF-8 is recognised from the bytes themselves, not from the decoder's exception
    (msgspec reports it as a DecodeError with its own text, older versions as
    UnicodeDecodeError)."""
    if isinstance(exc, UnicodeDecodeError) or not _is_utf8(body):
        return "", "the text is not valid UTF-8"
    if isinstance(exc, RecursionError):
        return "", "the JSON is nested too deeply"
    match = _AT.match(str(exc))
    message, path = (match.group("msg"), match.group("path") or "") if match else (str(exc), "")
    path = path.replace(".data", "").lstrip(".")
    return path, message


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _garbage(subject: str, exc: DecodeFailure, body: bytes) -> PermanentError:
    path, message = _problem(exc, body)
    where = f"field `{path}`" if path else "the payload"
    return PermanentError(
        f"{subject}: {where} is not what the Starweb API documents ({message}); fix the "
        "value in Starweb admin or report it to Starweb, then retry"
    )


def decode_order(body: bytes, shop_order_id: str) -> OrderWire:
    """One order (``{"data": {...}}``); garbage is a PermanentError naming order and field."""
    subject = f"Starweb order {shop_order_id}"
    try:
        raw = msgspec.json.decode(body, type=_RawSingle)
        return msgspec.json.decode(raw.data, type=OrderWire)
    except _DECODE_FAILURES as exc:
        raise _garbage(subject, exc, body) from None


@dataclass(frozen=True)
class UnreadableRow:
    """A row of the order list that does not decode, with what could still be read of it."""

    page: int
    row: int
    order_id: int | None
    modified_at: datetime | None
    status_id: int | None
    message: str


class _Salvage(msgspec.Struct, kw_only=True):
    orderId: object = None
    modifiedAt: object = None
    statusId: object = None


def _salvage(row: msgspec.Raw, page: int, index: int) -> UnreadableRow:
    """What is readable of a bad row: its order id, modifiedAt and statusId, if sound."""
    try:
        found = msgspec.json.decode(row, type=_Salvage)
    except _DECODE_FAILURES:
        found = _Salvage()
    order_id, status_id = found.orderId, found.statusId
    try:
        modified_at: datetime | None = msgspec.convert(found.modifiedAt, AwareDatetime)
    except msgspec.ValidationError:
        modified_at = None
    return UnreadableRow(
        page=page,
        row=index + 1,
        order_id=order_id if type(order_id) is int and order_id > 0 else None,
        modified_at=modified_at,
        status_id=status_id if type(status_id) is int else None,
        message="",
    )


def decode_order_row(row: msgspec.Raw, shop_order_id: str) -> OrderWire:
    """One order as a row of the order list (``GET /orders?include=…``) holds it in full."""
    try:
        return msgspec.json.decode(row, type=OrderWire)
    except _DECODE_FAILURES as exc:
        raise _garbage(f"Starweb order {shop_order_id}", exc, bytes(row)) from None


def decode_order_page(
    body: bytes,
    page: int,
    unreadable: list[UnreadableRow] | None = None,
    full: dict[int, msgspec.Raw] | None = None,
) -> tuple[list[OrderSummary], Pagination]:
    """One page of ``GET /orders``. A bad row is a PermanentError naming its order id, or,
    when ``unreadable`` is given, is appended there and skipped so the other rows count.
    ``full`` collects each readable row's raw JSON by order id (decoded later, and only for
    the orders a transfer reads: :func:`decode_order_row`)."""
    try:
        raw = msgspec.json.decode(body, type=_RawPage)
    except _DECODE_FAILURES as exc:
        raise _garbage(f"Starweb order list page {page}", exc, body) from None
    rows = []
    for index, row in enumerate(raw.data):
        try:
            rows.append(msgspec.json.decode(row, type=OrderSummary))
            if full is not None:
                full[rows[-1].order_id] = row
        except _DECODE_FAILURES as exc:
            salvaged = _salvage(row, page, index)
            subject = (
                f"Starweb order {salvaged.order_id}"
                if salvaged.order_id is not None
                else f"Starweb order list page {page}, row {index + 1}"
            )
            error = _garbage(subject, exc, bytes(row))
            if unreadable is None:
                raise error from None
            unreadable.append(replace(salvaged, message=str(error)))
    if raw.meta is None:
        raise PermanentError(
            f"Starweb order list page {page}: the answer has no `meta.pagination`; check that "
            "base_url points at the Starweb API v2"
        )
    return rows, raw.meta.pagination


def decode_statuses(body: bytes) -> tuple[list[StatusWire], Pagination | None]:
    try:
        raw = msgspec.json.decode(body, type=_RawPage)
        statuses = [msgspec.json.decode(r, type=StatusWire) for r in raw.data]
    except _DECODE_FAILURES as exc:
        raise _garbage("Starweb order statuses", exc, body) from None
    return statuses, raw.meta.pagination if raw.meta else None


def decode_external_service(body: bytes, subject: str) -> ExternalServiceWire:
    try:
        raw = msgspec.json.decode(body, type=_RawSingle)
        return msgspec.json.decode(raw.data, type=ExternalServiceWire)
    except _DECODE_FAILURES as exc:
        raise _garbage(subject, exc, body) from None


def decode_token(body: bytes) -> TokenWire:
    try:
        return msgspec.json.decode(body, type=TokenWire)
    except _DECODE_FAILURES as exc:
        raise _garbage("Starweb token response", exc, body) from None


def decode_error(body: bytes) -> ErrorWire:
    """Starweb's ErrorModel; an unreadable body gives an empty one."""
    try:
        return msgspec.json.decode(body, type=ErrorWire)
    except _DECODE_FAILURES:
        return ErrorWire()
