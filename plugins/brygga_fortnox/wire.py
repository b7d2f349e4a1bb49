"""Fortnox API v3 wire format as the adapter reads it: wrapped resources, list pages, errors.

Property names and types follow the Fortnox OpenAPI spec (reference/erp-apis.md §2.2, §2.3,
§2.6 [spec F1]; the same schemas fortpyx validates against, real-peers §C3). Amounts are
``Decimal``: msgspec reads a JSON number or a numeric string into one, which the spec needs
(``SalesPrice`` is a string in article list items and a number in the single article).
Unknown properties are ignored (the API adds fields over time); ``null`` reads as empty.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Generic, TypeVar

import msgspec

__all__ = [
    "Article",
    "ArticlePage",
    "ArticleWrap",
    "Customer",
    "CustomerPage",
    "CustomerWrap",
    "Invoice",
    "InvoicePage",
    "InvoicePayment",
    "InvoicePaymentPage",
    "InvoiceWrap",
    "Meta",
    "Order",
    "OrderPage",
    "OrderWrap",
    "Page",
    "encode_json",
    "error_text",
]

T = TypeVar("T")

_ENCODER = msgspec.json.Encoder(decimal_format="number")


def encode_json(obj: Any) -> bytes:
    """JSON with Decimals as numbers (``Price`` etc. are ``number`` in the spec)."""
    return _ENCODER.encode(obj)


def _finite(value: Decimal | None, field: str) -> None:
    if value is not None and not value.is_finite():
        raise ValueError(f"{field} must be a finite number")


class _In(msgspec.Struct, frozen=True, kw_only=True, rename="pascal"):
    """A response Struct (PascalCase names)."""


class Meta(msgspec.Struct, frozen=True, kw_only=True):
    """``MetaInformation`` of a list answer (reference §2.3)."""

    total_resources: int = msgspec.field(name="@TotalResources")
    total_pages: int = msgspec.field(name="@TotalPages")
    current_page: int = msgspec.field(name="@CurrentPage")


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """What every list page has: its items (per resource) and ``MetaInformation``."""

    meta: Meta = msgspec.field(name="MetaInformation")


class Customer(_In, frozen=True, kw_only=True):
    customer_number: str
    name: str | None = None
    email: str | None = None
    organisation_number: str | None = None


class Article(_In, frozen=True, kw_only=True):
    article_number: str
    description: str | None = None
    sales_price: Decimal | None = None
    vat: Decimal | None = msgspec.field(default=None, name="VAT")
    active: bool | None = None
    quantity_in_stock: Decimal | None = None
    disposable_quantity: Decimal | None = None
    stock_goods: bool | None = None
    expired: bool | None = None
    ean: str | None = msgspec.field(default=None, name="EAN")

    def __post_init__(self) -> None:
        _finite(self.sales_price, "SalesPrice")
        _finite(self.vat, "VAT")
        _finite(self.quantity_in_stock, "QuantityInStock")
        _finite(self.disposable_quantity, "DisposableQuantity")


class Invoice(_In, frozen=True, kw_only=True):
    document_number: str
    customer_number: str | None = None
    external_invoice_reference1: str | None = None
    your_order_number: str | None = None
    booked: bool | None = None
    cancelled: bool | None = None
    balance: Decimal | None = None
    total: Decimal | None = None

    def __post_init__(self) -> None:
        _finite(self.balance, "Balance")
        _finite(self.total, "Total")


class Order(_In, frozen=True, kw_only=True):
    document_number: str
    customer_number: str | None = None
    external_invoice_reference1: str | None = None
    cancelled: bool | None = None
    invoice_reference: str | None = None


class InvoicePayment(_In, frozen=True, kw_only=True):
    """A list item of ``/3/invoicepayments`` (``fortnox_InvoicePaymentListItem``: the spec
    types ``InvoiceNumber`` as an integer, ``Number`` as a string; either is read)."""

    invoice_number: int | str
    number: str | int | None = None


class CustomerWrap(msgspec.Struct, frozen=True):
    Customer: Customer


class ArticleWrap(msgspec.Struct, frozen=True):
    Article: Article


class InvoiceWrap(msgspec.Struct, frozen=True):
    Invoice: Invoice


class OrderWrap(msgspec.Struct, frozen=True):
    Order: Order


class CustomerPage(Page[Customer], frozen=True, kw_only=True):
    items: list[Customer] = msgspec.field(name="Customers")


class ArticlePage(Page[Article], frozen=True, kw_only=True):
    items: list[Article] = msgspec.field(name="Articles")


class InvoicePage(Page[Invoice], frozen=True, kw_only=True):
    items: list[Invoice] = msgspec.field(name="Invoices")


class OrderPage(Page[Order], frozen=True, kw_only=True):
    items: list[Order] = msgspec.field(name="Orders")


class InvoicePaymentPage(Page[InvoicePayment], frozen=True, kw_only=True):
    items: list[InvoicePayment] = msgspec.field(name="InvoicePayments")


def _lower_keys(value: Any) -> dict[str, Any]:
    return {str(k).casefold(): v for k, v in value.items()} if isinstance(value, dict) else {}


def error_text(document: Any) -> tuple[str, str]:
    """(message, code) of an ``ErrorInformation`` document, its keys read case-insensitively
    (the responses page spells them lowercase, the OpenAPI schema ``Error``/``Message``/
    ``Code``: reference §2.5); empty strings when the document has none. Also reads the
    OAuth2 error shape (``error``, ``error_description``) of the token endpoint."""
    outer = _lower_keys(document)
    inner = _lower_keys(outer.get("errorinformation")) or outer
    message = inner.get("message") or inner.get("error_description") or ""
    code = inner.get("code")
    if code is None and isinstance(inner.get("error"), str):
        code = inner["error"]
    return (
        str(message) if isinstance(message, str | int) else "",
        "" if code is None else str(code),
    )
