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

Memory: the index holds the whole shop, so it is kept compact (issue [9/9], "big catalog"):
a place as read is one short ``bytes`` (MessagePack of its ids, status and prices; a price is
kept as the decimal text the shop sent, so it comes back exactly) and becomes a
:class:`Place` object only when a stock or price write asks for it (:meth:`SkuIndex.place_of`;
from then on that object is the place, so what the write notes in it is kept); the SKUs of a
product are one string (a tuple with several variants), not a set. About 0.3 KB an SKU
instead of about 1 KB with an object, a dict of prices and a set per SKU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import msgspec

__all__ = ["Place", "Prices", "SkuIndex"]

#: a variant's prices: pricelistId -> (priceExVat, specialPriceExVat)
Prices = dict[int, tuple[Decimal, Decimal | None]]


@dataclass(slots=True)
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


class _Packed(msgspec.Struct, array_like=True, frozen=True):
    """A place as read, in the index: ``prices`` None (not read) or (list, price, special)."""

    product_id: int
    variant_id: int
    status: int | None
    prices: list[tuple[int, Decimal, Decimal | None]] | None


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Packed).decode


def _pack(product_id: int, variant_id: int, status: int | None, prices: Prices | None) -> bytes:
    rows = None if prices is None else [(k, p, s) for k, (p, s) in prices.items()]
    return _encode(_Packed(product_id, variant_id, status, rows))


def _unpack(packed: bytes) -> Place:
    row = _decode(packed)
    prices = None if row.prices is None else {k: (p, s) for k, p, s in row.prices}
    return Place(row.product_id, row.variant_id, row.status, prices=prices)


def _members(held: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if held is None:
        return ()
    return (held,) if isinstance(held, str) else held


@dataclass
class SkuIndex:
    """``skus``: variant SKU → product id; ``groups``: product group key (``externalId``, or
    the primary variant's SKU of a product with several variants) → product id; and per
    variant SKU where its stock is written (:meth:`place_of`)."""

    skus: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    #: the newest product ``modifiedAt`` seen (the next refresh reads from here on)
    newest: datetime | None = None
    #: when the product list was last read into the index (the adapter clock's monotonic
    #: seconds; None: never)
    read_at: float | None = None
    #: variant SKU → its place as read, packed (see the module notes)
    _packed: dict[str, bytes] = field(default_factory=dict)
    #: variant SKU → its place as an object, once a write asked for it (or it was placed so)
    _live: dict[str, Place] = field(default_factory=dict)
    #: product id → the SKUs placed in it (one string, or a tuple of several)
    _placed: dict[int, str | tuple[str, ...]] = field(default_factory=dict)

    def add(
        self,
        product_id: int,
        skus: list[str],
        group: str,
        modified_at: datetime | None,
    ) -> None:
        for sku in skus:
            # the key becomes this string (the one the places hold), not the first one seen
            self.skus.pop(sku, None)
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
        for sku in _members(self._placed.pop(product_id, None)):
            if sku not in new and self._product_of(sku) == product_id:
                self._unplace(sku)
        for sku, variant_id, status, prices in variants:
            self._unplace(sku)
            self._packed[sku] = _pack(product_id, variant_id, status, prices)
            self._join(product_id, sku)

    def place(self, sku: str, place: Place) -> None:
        """``place`` is where ``sku`` is written from now on (the object itself is kept)."""
        self._unplace(sku)
        self._live[sku] = place
        self._join(place.product_id, sku)

    def place_of(self, sku: str) -> Place | None:
        """Where ``sku``'s stock and prices are written (None: not placed). The same object
        until the SKU is placed again or forgotten, so what a write notes in it is kept."""
        place = self._live.get(sku)
        if place is None:
            packed = self._packed.pop(sku, None)
            if packed is None:
                return None
            place = self._live[sku] = _unpack(packed)
        return place

    def placed(self) -> int:
        """How many SKUs have a place."""
        return len(self._packed) + len(self._live)

    def forget(self, sku: str) -> None:
        self.skus.pop(sku, None)
        self._unplace(sku)

    def _product_of(self, sku: str) -> int | None:
        live = self._live.get(sku)
        if live is not None:
            return live.product_id
        packed = self._packed.get(sku)
        return None if packed is None else _decode(packed).product_id

    def _unplace(self, sku: str) -> None:
        """Take ``sku``'s place out (and the SKU out of its product's list)."""
        old = self._product_of(sku)
        if old is None:
            return
        self._live.pop(sku, None)
        self._packed.pop(sku, None)
        held = _members(self._placed.get(old))
        if sku in held:
            rest = tuple(s for s in held if s != sku)
            if not rest:
                del self._placed[old]
            else:
                self._placed[old] = rest[0] if len(rest) == 1 else rest

    def _join(self, product_id: int, sku: str) -> None:
        held = self._placed.get(product_id)
        if held is None:
            self._placed[product_id] = sku
        elif sku not in _members(held):
            self._placed[product_id] = (*_members(held), sku)
