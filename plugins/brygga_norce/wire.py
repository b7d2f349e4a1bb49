"""Norce Commerce wire shapes as the adapter reads them (msgspec Structs), and decoders.

Pushed ``OrderRequest`` (Connect Order Service schemas [NO5]; the Header fields are
[unknown] in the reference and modelled), Query OData answers ([NO10], [NO11]), Connect
``JobResponse``/``JobDto``/``JobLogDto`` ([NO9]) and the OAuth2 token answer ([NO1]).
Unknown fields are ignored; money decodes to Decimal, never float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import msgspec

from brygga.errors import PermanentError

__all__ = [
    "ClientCustomerWire",
    "ErrorWire",
    "JobDtoWire",
    "JobLogWire",
    "JobResponseWire",
    "OrderItemWire",
    "OrderRequestWire",
    "ProductSkuWire",
    "PushIdsWire",
    "QueryOrderHead",
    "QueryOrderWire",
    "QueryPageWire",
    "TokenWire",
    "decode",
]

T = TypeVar("T")


class _Pascal(msgspec.Struct, rename="pascal", kw_only=True):
    """Norce's PascalCase JSON."""


class OrderResponseWire(_Pascal, kw_only=True):
    """The synchronous answer Norce expects to an order push (shop-apis.md §4.3, [NO9-order]:
    ``{StatusCode: "OK"|"Failed", HasErpOrderNo, ErpOrderNo, Description}``)."""

    status_code: str
    has_erp_order_no: bool = False
    erp_order_no: str | None = None
    description: str = ""


class AddressWire(_Pascal, kw_only=True):
    line1: str | None = None
    line2: str | None = None
    care_of: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country: str | None = None


class PersonWire(_Pascal, kw_only=True):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    cell_phone: str | None = None
    private_phone: str | None = None
    work_phone: str | None = None
    customer_code: str | None = None
    address: AddressWire | None = None


class CompanyWire(_Pascal, kw_only=True):
    code: str | None = None
    name: str | None = None
    vat_no: str | None = None


class ClientCustomerWire(_Pascal, kw_only=True):
    person: PersonWire | None = None
    company: CompanyWire | None = None


class OrderItemWire(_Pascal, kw_only=True):
    line_no: int | None = None
    part_no: str | None = None
    description: str | None = None
    quantity: int | None = None
    quantity2: Decimal | None = None
    unit_price: Decimal | None = None
    unit_price_original: Decimal | None = None
    unit_vat: Decimal | None = None
    vat_rate: Decimal | None = None
    type: str | None = None
    type_group: str | None = None


class PaymentWire(_Pascal, kw_only=True):
    payment_method_code: str | None = None
    payment_name: str | None = None
    payment_ref: str | None = None
    amount: Decimal | None = None
    currency_code: str | None = None


class FeeWire(_Pascal, kw_only=True):
    amount: Decimal | None = None
    description: str | None = None
    type: int | None = None
    vat_rate: Decimal | None = None


class DiscountWire(_Pascal, kw_only=True):
    amount: Decimal | None = None
    code: str | None = None


class HeaderWire(_Pascal, kw_only=True):
    client_order_ref: int
    application_id: int | None = None
    currency_code: str | None = None
    order_date: datetime | None = None
    source: str | None = None
    buyer_reference: str | None = None


class OrderRequestWire(_Pascal, kw_only=True):
    header: HeaderWire
    buyer: ClientCustomerWire | None = None
    ship_to: ClientCustomerWire | None = None
    items: list[OrderItemWire]
    payments: list[PaymentWire] | None = None
    fees: list[FeeWire] | None = None
    discounts: list[DiscountWire] | None = None


class _PushHeader(_Pascal, kw_only=True):
    client_order_ref: int
    application_id: int | None = None


class PushIdsWire(_Pascal, kw_only=True):
    """Just what identifies a push: its basket id and channel."""

    header: _PushHeader


class QueryItemWire(_Pascal, kw_only=True):
    line_no: int | None = None
    part_no: str | None = None
    product_name: str | None = None
    quantity: int | None = None
    price_sale: Decimal | None = None
    price_sale_original: Decimal | None = None
    vat_rate: Decimal | None = None
    type: str | None = None
    type_group: str | None = None


class QueryBuyerWire(_Pascal, kw_only=True):
    first_name: str | None = None
    last_name: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    company_name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country_code: str | None = None


class QueryOrderHead(_Pascal, kw_only=True):
    """A Query order row as the change feed needs it."""

    basket_id: int
    application_id: int | None = None
    status_id: int | None = None
    erp_order_no: str | None = None
    created: datetime | None = None
    updated: datetime | None = None


class QueryOrderWire(_Pascal, kw_only=True):
    id: int
    basket_id: int
    application_id: int | None = None
    status_id: int
    erp_order_no: str | None = None
    currency_code: str | None = None
    order_date: datetime | None = None
    created: datetime
    updated: datetime | None = None
    items: list[QueryItemWire] | None = None
    buyer: QueryBuyerWire | None = None


class QueryPageWire(msgspec.Struct, kw_only=True):
    value: list[msgspec.Raw]
    next_link: str | None = msgspec.field(default=None, name="@odata.nextLink")


class OnHandWire(_Pascal, kw_only=True):
    warehouse_code: str | None = None
    location_code: str | None = None
    on_hand_value: Decimal | None = None
    is_active: bool | None = None


class SkuPriceWire(_Pascal, kw_only=True):
    price_list_code: str | None = None
    currency_code: str | None = None
    price_sale: Decimal | None = None
    is_active: bool | None = None


class ProductSkuWire(_Pascal, kw_only=True):
    part_no: str
    on_hands: list[OnHandWire] | None = None
    price_lists: list[SkuPriceWire] | None = None


class ValidationSummaryWire(_Pascal, kw_only=True):
    nr_of_items_in_total: int = 0
    nr_of_validation_failures: int = 0
    messages: list[str] | None = None


class JobResponseWire(_Pascal, kw_only=True):
    status_code: str | None = None
    description: str | None = None
    #: documented as ``string <int32>``
    job_id: str | int | None = None
    validation_summary: ValidationSummaryWire | None = None


class JobDtoWire(_Pascal, kw_only=True):
    job_id: int
    status_id: int
    is_finished: bool
    fail: int = 0
    totals: int = 0


class JobLogWire(_Pascal, kw_only=True):
    severity_id: int = 1
    message: str | None = None
    imported_row: str | None = None


class TokenWire(msgspec.Struct, kw_only=True):
    access_token: str
    expires_in: int = 3600


class ErrorWire(msgspec.Struct, kw_only=True):
    """``{"Message": …}`` (Connect/Query) or an OAuth2 ``{"error", "error_description"}``."""

    message: str | None = msgspec.field(default=None, name="Message")
    error: str | None = None
    error_description: str | None = None


def decode(raw: bytes | msgspec.Raw, type_: type[T], what: str) -> T:
    """``raw`` as ``type_``; a PermanentError naming ``what`` and the bad field when not."""
    try:
        return msgspec.json.decode(raw, type=type_)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise PermanentError(
            f"{what}: Norce answered something brygga cannot read ({str(exc)[:200]}); report it "
            "to Norce or check base_url"
        ) from None


def decode_error(raw: bytes) -> ErrorWire:
    """The error body, or an empty one when it is no such JSON."""
    try:
        return msgspec.json.decode(raw, type=ErrorWire)
    except (msgspec.DecodeError, RecursionError):
        return ErrorWire()
