"""Starweb API v2 catalog JSON (products, variants, prices, stock, price lists) as msgspec Structs.

Shapes from the OpenAPI spec (starweb/shop-api-sdk-php, resources/specification/openapi.json):
``ProductModel``, ``ProductVariantModel``, ``ProductVariantPriceModel``,
``ProductVariantStockResponseModel``, ``PricelistModel``, ``StockLocationModel``,
``ProductStockStatusModel``, ``ShopModel``, ``ProductVariantAttributeModel`` and
``ProductVariantAttributeValueModel``. Unknown fields are ignored (the API grows).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import msgspec

from brygga.errors import PermanentError
from brygga_starweb.wire import (
    _DECODE_FAILURES,
    AwareDatetime,
    Included,
    LanguageName,
    Pagination,
    _Wire,
)

__all__ = [
    "AttributeValueWire",
    "AttributeWire",
    "PriceWire",
    "PricelistWire",
    "ProductWire",
    "ShopWire",
    "StockLocationWire",
    "StockStatusWire",
    "StockWire",
    "UnreadableProduct",
    "VariantWire",
    "decode_list",
    "decode_one",
    "decode_product_page",
    "included",
]

T = TypeVar("T")


class PriceWire(_Wire, kw_only=True):
    """``ProductVariantPriceModel``: excl. VAT (the spec: "The price excluding vat")."""

    pricelist_id: int
    price_ex_vat: Decimal | None = None
    #: "The special price excluding vat (a discounted price)"; brygga's campaign price
    special_price_ex_vat: Decimal | None = None


class AttributeValueWire(_Wire, kw_only=True):
    attribute_value_id: int | None = None
    #: the model types it as a plain array; an included ``{"data": [...]}`` is accepted too
    languages: list[LanguageName] | Included[list[LanguageName]] | None = None

    @property
    def name(self) -> str:
        return next((lang.name for lang in included(self.languages) if lang.name), "")

    @property
    def names(self) -> list[str]:
        return [lang.name for lang in included(self.languages) if lang.name]


class AttributeWire(_Wire, kw_only=True):
    """``ProductVariantAttributeModel``: an attribute (e.g. "Storlek") and its names."""

    attribute_id: int
    languages: list[LanguageName] | Included[list[LanguageName]] | None = None

    @property
    def names(self) -> list[str]:
        return [lang.name for lang in included(self.languages) if lang.name]


class VariantWire(_Wire, kw_only=True):
    """``ProductVariantModel``. The spec model has no ``variantId``; the C# library's
    response model (and every call that addresses a variant) has it."""

    variant_id: int | None = None
    sku: str | None = None
    is_active: bool = True
    stock_status_id: int | None = None
    stock_quantity: Decimal | None = None
    weight_in_kg: Decimal | None = None
    ean: str | None = None
    prices: Included[list[PriceWire]] | list[PriceWire] | None = None
    attribute_values: Included[list[AttributeValueWire]] | list[AttributeValueWire] | None = None

    def price_in(self, pricelist_id: int) -> PriceWire | None:
        return next((p for p in included(self.prices) if p.pricelist_id == pricelist_id), None)

    @property
    def name(self) -> str:
        """The variant's name: its attribute values' names, e.g. "Blå / M"."""
        return " / ".join(v.name for v in included(self.attribute_values) if v.name)


class ProductWire(_Wire, kw_only=True):
    """``ProductModel``. ``defaultVatRate`` is typed as a (nullable) string in the spec;
    a number is accepted too."""

    product_id: int
    external_id: str | None = None
    modified_at: AwareDatetime
    default_vat_rate: Decimal | None = None
    visibility: str | None = None
    has_several_variants: bool = False
    primary_variant: Included[VariantWire | None] | None = None
    languages: Included[list[LanguageName]] | None = None

    @property
    def primary(self) -> VariantWire | None:
        return self.primary_variant.data if self.primary_variant else None

    @property
    def name(self) -> str:
        """The name in the language the list or detail call included (only one, the spec
        says: the primary)."""
        return next((lang.name for lang in included(self.languages) if lang.name), "")


class PricelistWire(_Wire, kw_only=True):
    pricelist_id: int
    name: str = ""
    external_id: str | None = None
    is_master: bool = False
    is_active: bool = True
    currency_code: str | None = None
    is_customer_pricelist: bool = False
    is_country_pricelist: bool = False


class StockLocationWire(_Wire, kw_only=True):
    stock_location_id: int
    ecommerce_stock_location: bool = False


class StockStatusWire(_Wire, kw_only=True):
    stock_status_id: int
    id_code: str | None = None
    in_stock: bool = False


class StockWire(_Wire, kw_only=True):
    """``ProductVariantStockResponseModel``: ``stockQuantity`` is a float there."""

    stock_location_id: int | None = None
    stock_status_id: int | None = None
    stock_quantity: Decimal | None = None


class ShopWire(_Wire, kw_only=True):
    default_lang_code: str | None = None
    base_currency: str | None = None


class _RawPage(msgspec.Struct, kw_only=True):
    data: list[msgspec.Raw]
    meta: _Meta | None = None


class _Meta(msgspec.Struct, kw_only=True):
    pagination: Pagination | None = None


class _RawSingle(msgspec.Struct, kw_only=True):
    data: msgspec.Raw


class _ProductId(msgspec.Struct, kw_only=True):
    productId: object = None


def included(value: Included[list[T]] | list[T] | None) -> list[T]:
    """The rows of an included child, wrapped (``{"data": [...]}``) or not."""
    if value is None:
        return []
    return value.data if isinstance(value, Included) else value


def _garbage(subject: str, exc: Exception) -> PermanentError:
    message = str(exc).replace(".data", "")
    return PermanentError(
        f"{subject}: the answer is not what the Starweb API documents ({message}); fix the "
        "record in Starweb admin or report it to Starweb, then retry"
    )


def decode_one(body: bytes, type_: type[T], subject: str) -> T:
    """A single item ``{"data": {...}}``; garbage is a PermanentError naming ``subject``."""
    try:
        raw = msgspec.json.decode(body, type=_RawSingle)
        return msgspec.json.decode(raw.data, type=type_)
    except _DECODE_FAILURES as exc:
        raise _garbage(subject, exc) from None


def decode_list(body: bytes, type_: type[T], subject: str) -> tuple[list[T], Pagination | None]:
    """A collection ``{"data": [...], "meta": {"pagination": ...}}`` (some collections,
    e.g. variants, have no ``meta`` in the spec)."""
    try:
        raw = msgspec.json.decode(body, type=_RawPage)
        rows = [msgspec.json.decode(row, type=type_) for row in raw.data]
    except _DECODE_FAILURES as exc:
        raise _garbage(subject, exc) from None
    return rows, raw.meta.pagination if raw.meta else None


@dataclass(frozen=True)
class UnreadableProduct:
    """A product-list row that does not decode: its id if readable, and the sentence."""

    product_id: int | None
    message: str


def decode_product_page(
    body: bytes, page: int
) -> tuple[list[ProductWire], list[UnreadableProduct], Pagination]:
    """One page of ``GET /products``; rows that do not decode are returned apart, so one bad
    product does not stop the others."""
    subject = f"Starweb product list page {page}"
    try:
        raw = msgspec.json.decode(body, type=_RawPage)
    except _DECODE_FAILURES as exc:
        raise _garbage(subject, exc) from None
    if raw.meta is None or raw.meta.pagination is None:
        raise PermanentError(
            f"{subject}: the answer has no `meta.pagination`; check that base_url points at "
            "the Starweb API v2"
        )
    rows, bad = [], []
    for index, row in enumerate(raw.data):
        try:
            rows.append(msgspec.json.decode(row, type=ProductWire))
        except _DECODE_FAILURES as exc:
            try:
                found = msgspec.json.decode(row, type=_ProductId).productId
            except _DECODE_FAILURES:
                found = None
            product_id = found if type(found) is int else None
            who = (
                f"Starweb product {product_id}"
                if product_id is not None
                else f"{subject}, row {index + 1}"
            )
            bad.append(UnreadableProduct(product_id, str(_garbage(who, exc))))
    return rows, bad, raw.meta.pagination
