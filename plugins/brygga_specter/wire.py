"""Specter (SBM) v2 wire format, the adapter's side: every path, header and JSON shape.

**Modelled: no public documentation; correct here when the real API is known.** Specter
publishes no API description (reference/erp-apis.md §3, "3.4 Unknowns": paths, signing, JSON
shapes, paging, errors and limits are unknown). What *is* known comes from integrators
(§3.1-§3.3): v2 credentials ``ApiUserKey`` + ``IntegrationKey`` and an integer ``SBM ID``
routing to the tenant [S4][S5]; host ``https://api.specter.se`` [S5]; item fields
``ItemCode``, ``Description``, ``VatPercentage``, ``EanCode``, ``SalesPriceExVat`` (prices
excl. VAT), ``Stocks[]`` with ``AvailableStock``/``ShelfStock``/``IsDefaultStock``, price lists
[S6]; customer fields ``CustomerId``, ``Name`` (≤100), ``OrgNo`` (≤20), ``VatNo`` (≤30),
``EmailAddress`` (≤100), ``PhoneNo`` (≤50), type "C" [S5]; customer matching switches
``ignoreControlEmail``, ``ignoreControlOrgNo``, ``ForceCustomerUpdate`` [S7][S3]; the external
order number on create (v1 ``externalorderno``) [S1]; stock-change callbacks [S2].

Assumptions made here (each one a guess to correct):

1. Paths under ``base_url``: ``customers``, ``items``, ``orders``, ``invoices``,
   ``stockchanges``; ``GET <collection>/<id>`` reads one record (404 when none).
2. Authentication: headers ``ApiUserKey``, ``IntegrationKey`` and ``SbmId`` on every request
   (no request signing); a wrong key is HTTP 401.
3. JSON in PascalCase; money and quantities as JSON numbers; dates ``yyyy-MM-dd``; instants
   ISO 8601 UTC with ``Z``.
4. Lists are ``{"Data": [...], "Page": n, "TotalPages": m}``, asked with ``Page`` (from 1)
   and ``PageSize`` (at most 500).
5. Errors are ``{"Errors": [{"Code", "Message", "Field"}]}`` with a 4xx status.
6. Searches: ``customers?EmailAddress=`` / ``?OrgNo=`` and ``orders|invoices?ExternalOrderNo=``
   may match more than the exact value (assumed "contains", case-insensitive, the worst
   case): the adapter keeps exact matches only. ``orders?OrderNos=1,2`` and
   ``invoices?InvoiceNos=`` read many documents at once (for the order status).
7. Whether Specter refuses a second document with the same ``ExternalOrderNo`` is unknown
   (§3.4): assumed it does *not*, so the adapter never relies on it.
8. ``POST customers`` applies Specter's own matching (e-mail first, then ``OrgNo``) unless
   ``IgnoreControlEmail``/``IgnoreControlOrgNo`` say otherwise, and answers the matched
   customer (updated when ``ForceCustomerUpdate``) instead of a new one.
9. Variant structure: a variant item names its product in ``ParentItemCode`` and carries
   ``VariantName``; each variant has its own unique ``ItemCode`` [S3].
10. Invoices are created preliminary, or booked when ``Book`` is true; ``Status`` is
    ``Preliminary``/``Booked``/``Cancelled`` and ``RemainingAmount`` 0 means paid. Orders have
    ``Status`` ``Registered``/``PartlyDelivered``/``Delivered``/``Invoiced``/``Cancelled``, rows
    ``OrderedQuantity``/``DeliveredQuantity`` [S7], ``TrackingNo`` and ``DeliveryMethod``.
11. Stock-change callbacks [S2] are modelled as a change log the adapter polls
    (``stockchanges?ChangedFrom=&ChangedTo=``): brygga's webhook receiver serves shops only.
    Each entry names an item; the balance is then read from the item, as the callback
    instructions say [S2].
12. Price lists: ``PriceLists[]`` on an item (``PriceListId``, ``Currency``, ``Price``,
    ``FromQuantity``); a price-list change moves the item's ``Modified``.
13. Multishop (v2 is required for it [S4]): a document carries ``WebshopId``, the Specter
    id of the web shop it came from; customers are shared by the shops.
14. Orders are not booked or delivered by brygga: ``Book`` applies to invoices only.
15. ``POST orders/<OrderNo>/cancel`` and ``POST invoices/<InvoiceNo>/cancel`` cancel a
    registered order or a preliminary invoice (status ``Cancelled``); anything further along
    is a 400, an unknown number a 404.
16. A product with variants is an item of its own (the *parent*: the ``ParentItemCode`` its
    variants name). Nothing on the item says so; ``items?ParentItemCode=<code>`` lists its
    variants (assumed to match like the other searches, assumption 6: the adapter keeps exact
    matches only). A parent is the product, not a sellable article: its own price, stock and
    price-list prices are not a variant's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Generic, TypeVar
from urllib.parse import quote

import msgspec

__all__ = [
    "AUTH_HEADERS",
    "MAX_PAGE_SIZE",
    "Customer",
    "CustomerIn",
    "DocumentIn",
    "ErrorBody",
    "Invoice",
    "Item",
    "Order",
    "Page",
    "RowIn",
    "StockChange",
    "encode_json",
    "item_path",
]

T = TypeVar("T")

#: assumption 2: the header names of the three credentials
AUTH_HEADERS = ("ApiUserKey", "IntegrationKey", "SbmId")
#: assumption 4
MAX_PAGE_SIZE = 500

Positive = Annotated[int, msgspec.Meta(ge=1, le=2**53)]
Text = Annotated[str, msgspec.Meta(max_length=10_000)]


class _In(msgspec.Struct, rename="pascal", omit_defaults=True, kw_only=True):
    """A request body (PascalCase, empty fields left out)."""


class _Out(msgspec.Struct, rename="pascal", kw_only=True):
    """An answer (PascalCase; fields we do not read are ignored)."""


class Page(_Out, Generic[T]):
    data: list[T]
    page: Positive = 1
    total_pages: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 1


class ErrorItem(_Out):
    code: str = ""
    message: str = ""
    field: str = ""


class ErrorBody(_Out):
    errors: list[ErrorItem] = []


class AddressIn(_In):
    street: str = ""
    zip_code: str = ""
    city: str = ""
    country_code: str = ""


class CustomerIn(_In):
    name: str
    email_address: str
    customer_type: str = "P"
    org_no: str = ""
    vat_no: str = ""
    phone_no: str = ""
    contact_first_name: str = ""
    contact_last_name: str = ""
    currency: str = ""
    address: AddressIn | None = None
    ignore_control_email: bool = False
    ignore_control_org_no: bool = False
    force_customer_update: bool = False


class Customer(_Out):
    customer_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    name: str = ""
    email_address: str = ""
    org_no: str = ""


class RowIn(_In):
    item_code: str
    description: str
    quantity: Decimal
    price_ex_vat: Decimal
    vat_percentage: Decimal
    discount_percent: Decimal = Decimal(0)


class DocumentIn(_In):
    customer_id: str
    external_order_no: str
    order_date: str
    currency: str
    rows: list[RowIn]
    customer_order_reference: str = ""
    published_comment: str = ""
    webshop_id: str = ""
    stock_site_id: str = ""
    book: bool = False


class Stock(_Out):
    stock_site_id: str = ""
    available_stock: Decimal = Decimal(0)
    is_default_stock: bool = False


class ItemPrice(_Out):
    price_list_id: Annotated[str, msgspec.Meta(min_length=1)]
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    price: Decimal
    from_quantity: Decimal = Decimal(1)


class Item(_Out):
    item_code: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    description: Text = ""
    vat_percentage: Decimal | None = None
    ean_code: str = ""
    sales_price_ex_vat: Decimal | None = None
    campaign_price_ex_vat: Decimal | None = None
    currency: str = ""
    parent_item_code: str = ""
    variant_name: str = ""
    weight: Decimal | None = None
    show_in_webshop: bool = True
    stocks: list[Stock] = []
    price_lists: list[ItemPrice] = []
    modified: str = ""


class StockChange(_Out):
    change_id: Positive
    item_code: Annotated[str, msgspec.Meta(min_length=1)]
    changed: str


class OrderRow(_Out):
    item_code: str = ""
    ordered_quantity: Decimal = Decimal(0)
    delivered_quantity: Decimal = Decimal(0)


class Order(_Out):
    order_no: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    external_order_no: str = ""
    status: str = ""
    rows: list[OrderRow] = []
    tracking_no: str = ""
    delivery_method: str = ""
    invoice_no: str = ""


class Invoice(_Out):
    invoice_no: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    external_order_no: str = ""
    status: str = ""
    remaining_amount: Decimal | None = None


_ENCODER = msgspec.json.Encoder(decimal_format="number")


def encode_json(body: msgspec.Struct) -> bytes:
    """A request body as JSON (Decimals as JSON numbers, assumption 3)."""
    return _ENCODER.encode(body)


def item_path(code: str) -> str:
    """``items/<code>`` (assumption 1), the code percent-encoded as one path segment."""
    return "items/" + quote(code, safe="")
