"""e-conomic legacy REST product and product-group Structs for the catalog registers.

Fields as the products schema documents them (``GET /products``: ``productNumber`` string,
``salesPrice`` number with at most two decimals, ``barCode``, ``barred``, ``lastUpdated``
ISO-8601 "updated either directly or through inventory changed", ``inventory.*`` read-only and
"only applicable if the inventory module is enabled"; ``GET /product-groups``:
``inventoryEnabled``; a currency-specific sales price: ``price`` and ``currency.code``).
Writes go as the full document read (PUT replaces the whole product), so only what the
adapter compares is typed here; the rest is echoed as read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

# the response conventions (and the product-group reference) of the adapter's other Structs
from brygga_economic.wire import _finite, _GroupRef, _In

__all__ = [
    "MAX_NAME",
    "MAX_PRODUCT_NUMBER",
    "CatalogGroup",
    "CatalogProduct",
    "CurrencyCode",
    "CurrencyPrice",
    "Inventory",
    "parse_last_updated",
]

#: ``productNumber`` is a string of 1-25 characters (POST /products schema; erp-apis.md §1.6)
MAX_PRODUCT_NUMBER = 25
#: ``name`` is required, 1-300 characters
MAX_NAME = 300


class Inventory(_In, frozen=True, kw_only=True):
    """``product.inventory``: present only on agreements with the inventory module."""

    available: Decimal | None = None
    in_stock: Decimal | None = None
    inventory_last_updated: str = ""

    def __post_init__(self) -> None:
        _finite(self.available, "inventory.available")
        _finite(self.in_stock, "inventory.inStock")


class CatalogProduct(_In, frozen=True, kw_only=True):
    """One product as the catalog registers read it."""

    product_number: str
    name: str = ""
    sales_price: Decimal | None = None
    bar_code: str = ""
    #: false booleans are left out of answers: a missing ``barred`` is false
    barred: bool = False
    product_group: _GroupRef | None = None
    last_updated: str = ""
    inventory: Inventory | None = None

    def __post_init__(self) -> None:
        _finite(self.sales_price, "salesPrice")


class CurrencyCode(_In, frozen=True, kw_only=True):
    """``currency`` of a currency-specific sales price: the ISO 4217 ``code``."""

    code: str


class CurrencyPrice(_In, frozen=True, kw_only=True):
    """``GET /products/:productNumber/pricing/currency-specific-sales-prices/:currencyCode``:
    the product's sales price in one currency other than the base currency (``price``,
    ``currency.code``; e-conomic/slate ``source/includes/_products.md``)."""

    price: Decimal
    currency: CurrencyCode

    def __post_init__(self) -> None:
        _finite(self.price, "price")


class CatalogGroup(_In, frozen=True, kw_only=True):
    """One item of ``GET /product-groups``."""

    product_group_number: int
    name: str = ""
    inventory_enabled: bool = False


def parse_last_updated(text: str) -> datetime | None:
    """``lastUpdated`` as an aware UTC datetime; None when missing or unreadable.

    The schema says only "formatted according to ISO-8601": a value without an offset is
    taken as UTC (our choice), a date alone as its midnight.
    """
    text = text.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
