"""In-memory catalog of the Starweb simulator: products, variants, prices, stock, web hooks."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from brygga_starweb.simulator.records import ApiError, iso
from brygga_starweb.simulator.seed import SEED_CATALOG

__all__ = [
    "SEED_ATTRIBUTE",
    "WEBHOOK_EVENTS",
    "CatalogState",
    "SimAttribute",
    "SimPricelist",
    "SimProduct",
    "SimVariant",
    "SimWebhook",
]

WEBHOOK_EVENTS = frozenset(
    {
        "product-created",
        "product-updated",
        "product-removed",
        "order-created",
        "order-completed",
        "order-updated",
        "order-deleted",
        "order-status-changed",
        "customer-created",
        "customer-updated",
        "customer-deleted",
        "shop-opened",
        "shop-closed",
        "shop-removed",
    }
)

MASTER_PRICELIST = 1
ECOMMERCE_LOCATION = 1
IN_STOCK, OUT_OF_STOCK = 1, 2
#: the shop's default language (``GET /shop`` ``defaultLangCode``)
SHOP_LANGUAGE = "sv"
#: the attribute the seed's variant names (S, M, L) are values of
SEED_ATTRIBUTE = "Storlek"


def vat_text(rate: Decimal | None) -> str | None:
    """``defaultVatRate`` as the spec types it: a string (nullable), e.g. ``"25"``."""
    return None if rate is None else format(rate.normalize(), "f")


@dataclass
class SimVariant:
    variant_id: int
    sku: str
    name: str = ""
    is_active: bool = True
    stock_status_id: int = IN_STOCK
    stock_quantity: int | None = None
    ean: str = ""
    weight: Decimal | None = None
    #: the attribute value naming this variant (``name``); None for a lone variant
    attribute_value_id: int | None = None
    #: pricelistId -> (priceExVat, specialPriceExVat)
    prices: dict[int, tuple[Decimal, Decimal | None]] = field(default_factory=dict)
    #: stockLocationId -> (stockStatusId, stockQuantity)
    stocks: dict[int, tuple[int, Decimal]] = field(default_factory=dict)

    def __setattr__(self, name: str, value: Any) -> None:
        """A new ``sku`` is told to the catalog's SKU index (``_on_sku``, set by
        :meth:`CatalogState.add_variant`), wherever it is set."""
        object.__setattr__(self, name, value)
        hook: Callable[[SimVariant], None] | None = self.__dict__.get("_on_sku")
        if name == "sku" and hook is not None:
            hook(self)

    def price_wire(self, pricelist_id: int) -> dict[str, Any]:
        price, special = self.prices[pricelist_id]
        return {"pricelistId": pricelist_id, "priceExVat": price, "specialPriceExVat": special}

    def stock_wire(self, location_id: int) -> dict[str, Any]:
        status, quantity = self.stocks[location_id]
        return {
            "stockLocationId": location_id,
            "stockStatusId": status,
            "stockQuantity": quantity,
        }

    def wire(self, includes: frozenset[str] = frozenset()) -> dict[str, Any]:
        out: dict[str, Any] = {
            "variantId": self.variant_id,
            "sku": self.sku,
            "isActive": self.is_active,
            "stockStatusId": self.stock_status_id,
            "stockQuantity": self.stock_quantity,
            "weightInKg": self.weight,
            "costPrice": None,
            "ean": self.ean or None,
            "mpn": None,
            "imageFileId": None,
            "attributeValueLinks": (
                [self.attribute_value_id] if self.attribute_value_id is not None else []
            ),
        }
        if "prices" in includes:
            out["prices"] = {"data": [self.price_wire(p) for p in sorted(self.prices)]}
        if "attributeValues" in includes:
            values = (
                [
                    {
                        "attributeValueId": self.attribute_value_id,
                        "skuSuffix": "",
                        "sortIndex": 0,
                        "languages": [{"langCode": SHOP_LANGUAGE, "name": self.name}],
                    }
                ]
                if self.name and self.attribute_value_id is not None
                else []
            )
            out["attributeValues"] = {"data": values}
        return out


@dataclass
class SimAttribute:
    """``ProductVariantAttributeModel`` with its values (``ProductVariantAttributeValueModel``),
    one language (the shop's)."""

    attribute_id: int
    name: str
    #: attributeValueId -> name, in sort order
    values: dict[int, str] = field(default_factory=dict)

    def wire(self, includes: frozenset[str] = frozenset()) -> dict[str, Any]:
        out: dict[str, Any] = {"attributeId": self.attribute_id}
        if "languages" in includes:
            out["languages"] = {"data": [{"langCode": SHOP_LANGUAGE, "name": self.name}]}
        return out

    def value_wire(self, value_id: int) -> dict[str, Any]:
        return {
            "attributeValueId": value_id,
            "skuSuffix": "",
            "sortIndex": list(self.values).index(value_id),
            "languages": [{"langCode": SHOP_LANGUAGE, "name": self.values[value_id]}],
        }


@dataclass
class SimProduct:
    product_id: int
    name: str
    created_at: datetime
    modified_at: datetime
    default_vat_rate: Decimal | None = None
    visibility: str = "visible"
    #: ``externalId`` (brygga keeps the product's own SKU there when it groups variants)
    external_id: str = ""
    variants: list[SimVariant] = field(default_factory=list)

    def __setattr__(self, name: str, value: Any) -> None:
        """A new ``modified_at`` is told to the catalog's index by modifiedAt (set as
        ``_on_modified`` by :meth:`CatalogState.add_product`), wherever it is set."""
        old = self.__dict__.get(name)
        object.__setattr__(self, name, value)
        hook: Callable[[SimProduct, datetime], None] | None = self.__dict__.get("_on_modified")
        if name == "modified_at" and hook is not None and old is not None and old != value:
            hook(self, old)

    def variant(self, variant_id: int) -> SimVariant:
        for variant in self.variants:
            if variant.variant_id == variant_id:
                return variant
        raise ApiError(404, "not_found", f"Variant {variant_id} of product {self.product_id}")

    def wire(self, includes: frozenset[str] = frozenset()) -> dict[str, Any]:
        out: dict[str, Any] = {
            "productId": self.product_id,
            "externalId": self.external_id or None,
            "externalIdType": None,
            "createdAt": iso(self.created_at),
            "modifiedAt": iso(self.modified_at),
            "type": "basic",
            "visibility": self.visibility,
            "visibilityPricelistIds": [],
            "defaultVatRate": vat_text(self.default_vat_rate),
            "hasSeveralVariants": len(self.variants) > 1,
            "manufacturerId": None,
            "unitId": None,
            "accounting": None,
            "sortIndex": self.product_id,
        }
        primary = self.variants[0] if self.variants else None
        if "primaryVariant" in includes:
            sub = frozenset({"prices"}) if "primaryVariant.prices" in includes else frozenset()
            out["primaryVariant"] = {"data": primary.wire(sub) if primary else None}
        if "languages" in includes:
            out["languages"] = {"data": [self.language_wire()]}
        return out

    def language_wire(self) -> dict[str, Any]:
        return {
            "langCode": SHOP_LANGUAGE,
            "name": self.name,
            "shortDescription": "",
            "permalink": self.name.lower().replace(" ", "-"),
        }


@dataclass
class SimPricelist:
    pricelist_id: int
    name: str
    is_master: bool = False
    is_customer_pricelist: bool = False
    currency: str = "SEK"

    def wire(self) -> dict[str, Any]:
        return {
            "pricelistId": self.pricelist_id,
            "name": self.name,
            "isMaster": self.is_master,
            "isActive": True,
            "region": "all",
            "countryCodes": [],
            "currencyCode": self.currency,
            "parentPricelistId": None if self.is_master else MASTER_PRICELIST,
            "isCustomerPricelist": self.is_customer_pricelist,
            "isCountryPricelist": False,
        }


@dataclass
class SimWebhook:
    web_hook_id: int
    name: str
    event: str
    url: str
    status_id: int | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "webHookId": self.web_hook_id,
            "name": self.name,
            "event": self.event,
            "statusId": self.status_id,
            "url": self.url,
        }


class CatalogState:
    """Products with variants, price lists, stock locations and statuses, and web hooks."""

    def __init__(self, now: datetime, *, seed_catalog: bool) -> None:
        self.products: dict[int, SimProduct] = {}
        #: (modifiedAt, productId) of every product, in order: ``updatedSince`` bisects it
        self._by_modified: list[tuple[datetime, int]] = []
        self.pricelists = {
            MASTER_PRICELIST: SimPricelist(MASTER_PRICELIST, "SEK", is_master=True),
            2: SimPricelist(2, "Återförsäljare", is_customer_pricelist=True),
        }
        self.stock_locations = {ECOMMERCE_LOCATION: "Lager"}
        self.stock_statuses = {IN_STOCK: "inStock", OUT_OF_STOCK: "outOfStock", 3: "backOrder"}
        self.webhooks: dict[int, SimWebhook] = {}
        self.attributes: dict[int, SimAttribute] = {}
        self._next_attribute = 1
        self._next_product = 1
        self._next_variant = 1
        self._next_webhook = 1
        self._next_attribute_value = 1
        #: SKU -> where it was last found (a hint :meth:`find_sku` checks before use)
        self._by_sku: dict[str, tuple[SimProduct, SimVariant]] = {}
        if seed_catalog:
            self._seed(now)

    def _seed(self, now: datetime) -> None:
        by_product: dict[str, SimProduct] = {}
        for article in SEED_CATALOG:
            product = by_product.get(article.product)
            if product is None:
                product = self.add_product(article.name, article.vat_rate, now)
                by_product[article.product] = product
                if article.variant:
                    product.external_id = article.product
            variant = self.add_variant(product, article.sku, name=article.variant)
            variant.prices[MASTER_PRICELIST] = (article.price, None)
            variant.stocks[ECOMMERCE_LOCATION] = (IN_STOCK, Decimal(100))
            variant.stock_quantity = 100

    def add_product(self, name: str, vat_rate: Decimal | None, now: datetime) -> SimProduct:
        product = SimProduct(self._next_product, name, now, now, default_vat_rate=vat_rate)
        self._next_product += 1
        self.products[product.product_id] = product
        bisect.insort(self._by_modified, (now, product.product_id))
        product.__dict__["_on_modified"] = self._modified
        return product

    def _modified(self, product: SimProduct, old: datetime) -> None:
        entries = self._by_modified
        at = bisect.bisect_left(entries, (old, product.product_id))
        if at < len(entries) and entries[at] == (old, product.product_id):
            del entries[at]
        bisect.insort(entries, (product.modified_at, product.product_id))

    def modified_since(self, since: datetime) -> Iterator[SimProduct]:
        """The products with ``modifiedAt >= since``, oldest first (from the index by
        modifiedAt, not a scan; a product deleted from :attr:`products` is left out)."""
        entries = self._by_modified
        at = bisect.bisect_left(entries, (since, 0))
        while at < len(entries):
            modified, product_id = entries[at]
            at += 1
            product = self.products.get(product_id)
            if product is not None and product.modified_at == modified:
                yield product

    def add_variant(self, product: SimProduct, sku: str, *, name: str = "") -> SimVariant:
        if self.find_sku(sku) is not None:
            raise ApiError(400, "invalid_request", f"sku {sku!r} is already in use")
        variant = SimVariant(self._next_variant, sku, name=name)
        self._next_variant += 1
        if name:
            variant.attribute_value_id = self.attribute_value(SEED_ATTRIBUTE, name)
        product.variants.append(variant)
        self._by_sku[sku] = (product, variant)
        variant.__dict__["_on_sku"] = lambda v: self._by_sku.__setitem__(v.sku, (product, v))
        return variant

    def add_attribute(self, name: str) -> SimAttribute:
        attribute = SimAttribute(self._next_attribute, name)
        self._next_attribute += 1
        self.attributes[attribute.attribute_id] = attribute
        return attribute

    def add_attribute_value(self, attribute: SimAttribute, name: str) -> int:
        value_id = self._next_attribute_value
        self._next_attribute_value += 1
        attribute.values[value_id] = name
        return value_id

    def attribute_value(self, attribute_name: str, name: str) -> int:
        """The id of the value ``name`` of the attribute ``attribute_name`` (both created when
        missing; exact names, as an admin user would pick them)."""
        attribute = next(
            (a for a in self.attributes.values() if a.name == attribute_name), None
        ) or self.add_attribute(attribute_name)
        found = next((i for i, v in attribute.values.items() if v == name), None)
        return found if found is not None else self.add_attribute_value(attribute, name)

    def value_name(self, value_id: int) -> str | None:
        """The name of an attribute value, None when no attribute has it."""
        for attribute in self.attributes.values():
            if value_id in attribute.values:
                return attribute.values[value_id]
        return None

    def add_webhook(self, name: str, event: str, url: str, status_id: int | None) -> SimWebhook:
        hook = SimWebhook(self._next_webhook, name, event, url, status_id)
        self._next_webhook += 1
        self.webhooks[hook.web_hook_id] = hook
        return hook

    def product(self, product_id: int) -> SimProduct:
        product = self.products.get(product_id)
        if product is None:
            raise ApiError(404, "not_found", f"Product {product_id} was not found")
        return product

    def find_sku(self, sku: str) -> tuple[SimProduct, SimVariant] | None:
        """The product and variant with this SKU: from the SKU index when its entry still
        holds (tests edit variants and products directly, so an entry is checked, not
        trusted), else by a scan of the catalog that remembers what it finds. Every variant
        is indexed when added and again when its ``sku`` is set, so a SKU never indexed is
        not in the catalog: no scan for it (a create of a new SKU costs no scan)."""
        hit = self._by_sku.get(sku)
        if hit is None:
            return None
        product = self.products.get(hit[0].product_id)
        if product is hit[0] and hit[1].sku == sku and any(v is hit[1] for v in product.variants):
            return hit
        del self._by_sku[sku]
        for product in self.products.values():
            for variant in product.variants:
                if variant.sku == sku:
                    self._by_sku[sku] = (product, variant)
                    return product, variant
        return None

    def price_of(self, sku: str) -> tuple[SimProduct, SimVariant, Decimal]:
        """Product, variant and master price (campaign price first) of a SKU."""
        found = self.find_sku(sku)
        if found is None:
            raise KeyError(f"SKU {sku!r} is not in the simulated catalog")
        product, variant = found
        price = variant.prices.get(MASTER_PRICELIST)
        if price is None:
            raise KeyError(f"SKU {sku!r} has no price in the master price list")
        return product, variant, price[1] if price[1] is not None else price[0]
