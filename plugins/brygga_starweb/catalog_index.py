"""Where each SKU lives in a Starweb shop: product ids by variant SKU and by product group key,
and where each SKU's stock and prices are written.

Starweb finds a product by SKU only through ``filterSku``, and whether that matches other
variants than the primary one is not documented (reference/shop-apis.md §2.5). So the
adapter keeps this index, built by one walk over the product list (and the variants of every
product with several), and brought up to date before every lookup that misses by a read of
the products changed since the newest one it holds (``updatedSince``, inclusive).

The same walk gives each SKU's :class:`Place` (product id, variant id, the variant's stock
status and its prices per price list): a stock write goes straight to ``PUT /products/{pid}/
variants/{vid}/stocks/{stockLocationId}``, a price write to ``PUT|PATCH …/prices/{pricelistId}``
(or ``POST …/prices`` for a price list the variant has no price in), without a lookup per SKU
(a write that answers 404 forgets the place).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

__all__ = ["Place", "Prices", "SkuIndex"]

#: a variant's prices: pricelistId -> (priceExVat, specialPriceExVat)
Prices = dict[int, tuple[Decimal, Decimal | None]]


@dataclass
class Place:
    """Where a SKU's stock and prices are written, as the product list last showed it."""

    product_id: int
    variant_id: int
    #: the variant's ``stockStatusId`` as read (None: the shop showed none)
    status: int | None
    #: the quantity this adapter last wrote there since the place was read (None: none)
    written: Decimal | None = None
    #: the variant's prices as read, and as this adapter wrote them since (None: not known;
    #: a price list missing here has no price for the variant, so a write there is a POST)
    prices: Prices | None = None


@dataclass
class SkuIndex:
    """``skus``: variant SKU → product id; ``groups``: product group key (``externalId``, or
    the primary variant's SKU of a product with several variants) → product id; ``places``:
    variant SKU → where its stock is written."""

    skus: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)
    #: the newest product ``modifiedAt`` seen (the next refresh reads from here on)
    newest: datetime | None = None
    #: when the product list was last read into the index (the adapter clock's monotonic
    #: seconds; None: never)
    read_at: float | None = None
    #: product id → the SKUs placed in it
    _placed: dict[int, set[str]] = field(default_factory=dict)

    def add(
        self,
        product_id: int,
        skus: list[str],
        group: str,
        modified_at: datetime | None,
    ) -> None:
        for sku in skus:
            self.skus[sku] = product_id
        if group:
            self.groups[group] = product_id
        if modified_at is not None and (self.newest is None or modified_at > self.newest):
            self.newest = modified_at

    def place_product(
        self, product_id: int, variants: list[tuple[str, int, int | None, Prices | None]]
    ) -> None:
        """A product's variants as just read, ``(sku, variantId, stockStatusId, prices)``:
        their places replace what the index held of the product (a SKU the product no longer
        has is forgotten; what was written is forgotten too, the read may show newer values)."""
        new = {variant[0] for variant in variants}
        for sku in self._placed.pop(product_id, set()) - new:
            old = self.places.get(sku)
            if old is not None and old.product_id == product_id:
                del self.places[sku]
        for sku, variant_id, status, prices in variants:
            self.place(sku, Place(product_id, variant_id, status, prices=prices))

    def place(self, sku: str, place: Place) -> None:
        old = self.places.get(sku)
        if old is not None and old.product_id != place.product_id:
            self._placed.get(old.product_id, set()).discard(sku)
        self.places[sku] = place
        self._placed.setdefault(place.product_id, set()).add(sku)

    def forget(self, sku: str) -> None:
        self.skus.pop(sku, None)
        old = self.places.pop(sku, None)
        if old is not None:
            self._placed.get(old.product_id, set()).discard(sku)
