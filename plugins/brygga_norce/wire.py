"""Norce Commerce wire shapes as the adapter reads them (msgspec Structs), and decoders.

Pushed ``OrderRequest`` (Connect Order Service schemas [NO5]; the Header fields are
[unknown] in the reference and modelled), Query OData answers ([NO10], [NO11]), Connect
``JobResponse``/``JobDto``/``JobLogDto`` ([NO9]) and the OAuth2 token answer ([NO1]).
Unknown fields are ignored; money decodes to Decimal, never float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from brygga.errors import PermanentError

__all__ = [
    "ClientCustomerWire",
    "ErrorWire",
    "JobDtoWire",
    "JobLogWire",
    "JobResponseWire",
    "LocationRowWire",
    "OrderItemWire",
    "OrderRequestWire",
    "PriceListRowWire",
    "ProductSkuWire",
    "PushIdsWire",
    "QueryOrderHead",
    "QueryOrderWire",
    "QueryPageWire",
    "TokenWire",
    "WarehouseRowWire",
    "decode",
    "decode_query",
    "decode_query_as",
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
    """A Query order row as the change feed needs it: the documented ``Orders/Orders`` fields
    (docs.norce.io/api-reference/query/queryorders/openapi/orders/orders.md: ``Id``,
    ``ApplicationId``, ``QuotationId``, ``OrderNo``, ``StatusId``; ``Created``/``Updated``
    as on the other Query 2.0 entities). Read through :func:`decode_query`, so the 3.0
    camelCase names are read too."""

    id: int | str | None = None
    application_id: int | None = None
    #: "The quotation identifier": the basket id a push carries as ``ClientOrderRef``
    quotation_id: int | None = None
    #: "commonly same as quotation id unless overriden from the ERP confirmation response"
    order_no: str | None = None
    status_id: int | None = None
    created: datetime | None = None
    updated: datetime | None = None


class QueryOrderWire(_Pascal, kw_only=True):
    id: int | str | None = None
    quotation_id: int | None = None
    order_no: str | None = None
    application_id: int | None = None
    status_id: int
    #: modelled: the documented order has ``CurrencyId`` only
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
    """A Query on-hand row: ``partNo``, ``warehouseId``, ``locationId``, ``onHandValue``,
    ``isActive`` (docs.norce.io/api-reference/query/openapi/schemas/clientproductskuonhandinfo)."""

    warehouse_id: int | None = None
    location_id: int | None = None
    on_hand_value: Decimal | None = None
    is_active: bool | None = None


class SkuPriceWire(_Pascal, kw_only=True):
    """A Query SKU price row: ``partNo``, ``priceListId``, ``currencyId``, ``priceSale``,
    ``isActive`` (docs.norce.io/api-reference/query/openapi/products/products_productskus)."""

    price_list_id: int | None = None
    currency_id: int | None = None
    price_sale: Decimal | None = None
    is_active: bool | None = None


class ProductSkuWire(_Pascal, kw_only=True):
    part_no: str
    on_hands: list[OnHandWire] | None = None
    price_lists: list[SkuPriceWire] | None = None


class PriceListRowWire(_Pascal, kw_only=True):
    """``Application/ClientPriceLists`` (Query 2.0 ``PriceListClient``: ``PriceListId``,
    ``Agreement`` ("called Code in the admin tool, and in connect"), ``CurrencyId``)."""

    price_list_id: int | None = None
    agreement: str | None = None
    currency_id: int | None = None


class LocationRowWire(_Pascal, kw_only=True):
    location_id: int | None = None
    code: str | None = None


class WarehouseRowWire(_Pascal, kw_only=True):
    """``Application/ClientWarehouses`` (modelled on the documented ClientWarehouseLocation
    ``warehouseId``, ``locationId``, ``code``): a warehouse's code and its locations."""

    warehouse_id: int | None = None
    code: str | None = None
    locations: list[LocationRowWire] | None = None


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


_ANY = msgspec.json.Decoder(float_hook=Decimal)


def _pascal(value: Any) -> Any:
    """``value`` with every object key's first letter upper case (camelCase → PascalCase)."""
    if isinstance(value, dict):
        return {
            (k[:1].upper() + k[1:] if isinstance(k, str) else k): _pascal(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_pascal(v) for v in value]
    return value


def decode_query(raw: bytes | msgspec.Raw, type_: type[T]) -> T:
    """A Query API row as ``type_``, whatever the casing of its names: the Query 2.0
    reference shows PascalCase (``QuotationId``), the 3.0 reference camelCase
    (``quotationId``). Numbers with a fraction are Decimal. Raises msgspec.DecodeError (or
    RecursionError) when the row does not fit."""
    return msgspec.convert(_pascal(_ANY.decode(raw)), type=type_)


def decode_query_as(raw: bytes | msgspec.Raw, type_: type[T], what: str) -> T:
    """:func:`decode_query`, a PermanentError naming ``what`` when the answer does not fit."""
    try:
        return decode_query(raw, type_)
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
