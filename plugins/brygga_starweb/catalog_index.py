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

Memory (issue [9/9], "big catalog": flat in the size of the shop): the index lives in a
private scratch database on disk (:class:`brygga.scratch.Scratch`, SQLite's temporary
database with a page cache of :data:`~brygga.scratch.CACHE_KIB` KiB), one row per SKU: the
product its SKU is in, and its place packed (MessagePack of its ids, stock status, prices as
the decimal text the shop sent, so they come back exactly, and the quantity this adapter last
wrote there); one row per product group key. Only the places that stock and price writes
asked for lately are objects in memory, at most :data:`LIVE` of them (least recently used
first out, written back to their row); a place that a write in flight still holds is never
put out (its object stays the place until the write is done), so what a write notes in it is
never lost. A refresh, a create and a lookup are a few indexed statements of microseconds.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import msgspec

from brygga.scratch import Scratch

__all__ = ["LIVE", "Place", "Prices", "SkuIndex"]

#: a variant's prices: pricelistId -> (priceExVat, specialPriceExVat)
Prices = dict[int, tuple[Decimal, Decimal | None]]

#: places kept as objects in memory at most (the stock and price hot path's working set)
LIVE = 4096

_SCHEMA = """
CREATE TABLE sku (
    sku TEXT PRIMARY KEY,
    product INTEGER,    -- the product whose variant has this SKU (NULL: not indexed)
    placed_in INTEGER,  -- the product of the SKU's place (NULL: not placed)
    place BLOB          -- the place packed (NULL: not placed)
) WITHOUT ROWID;
CREATE INDEX sku_placed ON sku (placed_in) WHERE placed_in IS NOT NULL;
CREATE TABLE grp (key TEXT PRIMARY KEY, product INTEGER NOT NULL) WITHOUT ROWID;
"""


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
    """A place in its row: ``prices`` None (not read) or (list, price, special)."""

    product_id: int
    variant_id: int
    status: int | None
    prices: list[tuple[int, Decimal, Decimal | None]] | None
    written: Decimal | None = None


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Packed).decode


def _pack(place: Place) -> bytes:
    prices = place.prices
    rows = None if prices is None else [(k, p, s) for k, (p, s) in prices.items()]
    return _encode(_Packed(place.product_id, place.variant_id, place.status, rows, place.written))


def _unpack(packed: bytes) -> Place:
    row = _decode(packed)
    prices = None if row.prices is None else {k: (p, s) for k, p, s in row.prices}
    return Place(row.product_id, row.variant_id, row.status, row.written, prices)


#: references to a live place that nobody else holds while :meth:`SkuIndex._put_out` looks
#: at it: the ``OrderedDict``, its local name, ``sys.getrefcount``'s argument
_UNHELD = 3


class _Column:
    """One column of the index read like a dict: ``get``, ``in``, ``len``."""

    def __init__(self, index: SkuIndex, table: str, where: str) -> None:
        self._index = index
        self._get = f"SELECT product FROM {table} WHERE {where} = ? AND product IS NOT NULL"
        self._table = table

    def get(self, key: str, default: int | None = None) -> int | None:
        row = self._index._db.execute(self._get, (key,)).fetchone()
        return default if row is None else int(row[0])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return self._index._count if self._table == "sku" else self._index._groups


class SkuIndex:
    """``skus``: variant SKU → product id; ``groups``: product group key (``externalId``, or
    the primary variant's SKU of a product with several variants) → product id; and per
    variant SKU where its stock is written (:meth:`place_of`)."""

    def __init__(self, *, live: int | None = None) -> None:
        self._scratch = Scratch(_SCHEMA)
        self._db = self._scratch.db
        self._live_max = LIVE if live is None else live
        #: variant SKU → its place as an object, once a write asked for it (newest last)
        self._live: OrderedDict[str, Place] = OrderedDict()
        self._count = 0  # SKUs in ``skus``
        self._groups = 0  # keys in ``groups``
        self.skus = _Column(self, "sku", "sku")
        self.groups = _Column(self, "grp", "key")
        #: the newest product ``modifiedAt`` seen (the next refresh reads from here on)
        self.newest: datetime | None = None
        #: when the product list was last read into the index (the adapter clock's monotonic
        #: seconds; None: never)
        self.read_at: float | None = None

    def add(
        self,
        product_id: int,
        skus: list[str],
        group: str,
        modified_at: datetime | None,
    ) -> None:
        db = self._db
        for sku in skus:
            row = db.execute("SELECT product FROM sku WHERE sku = ?", (sku,)).fetchone()
            if row is None:
                db.execute("INSERT INTO sku (sku, product) VALUES (?, ?)", (sku, product_id))
            elif row[0] != product_id:
                db.execute("UPDATE sku SET product = ? WHERE sku = ?", (product_id, sku))
            if row is None or row[0] is None:
                self._count += 1
        if group:
            cursor = db.execute(
                "INSERT INTO grp (key, product) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (group, product_id),
            )
            if cursor.rowcount > 0:
                self._groups += 1
            else:
                db.execute("UPDATE grp SET product = ? WHERE key = ?", (product_id, group))
        if modified_at is not None and (self.newest is None or modified_at > self.newest):
            self.newest = modified_at

    def place_product(
        self, product_id: int, variants: list[tuple[str, int, int | None, Prices | None]]
    ) -> None:
        """A product's variants as just read, ``(sku, variantId, stockStatusId, prices)``:
        their places replace what the index held of the product (a SKU the product no longer
        has is forgotten; what was written is forgotten too, the read may show newer values)."""
        db = self._db
        new = {variant[0] for variant in variants}
        held = db.execute("SELECT sku FROM sku WHERE placed_in = ?", (product_id,)).fetchall()
        for (sku,) in held:
            if sku not in new:
                self._unplace(sku)
        for sku, variant_id, status, prices in variants:
            self._live.pop(sku, None)
            self._store(
                sku, product_id, _pack(Place(product_id, variant_id, status, prices=prices))
            )

    def place(self, sku: str, place: Place) -> None:
        """``place`` is where ``sku`` is written from now on (the object itself is kept)."""
        self._live.pop(sku, None)
        self._store(sku, place.product_id, _pack(place))
        self._live[sku] = place
        self._put_out()

    def place_of(self, sku: str) -> Place | None:
        """Where ``sku``'s stock and prices are written (None: not placed). The same object
        until the SKU is placed again or forgotten, or put out of memory while no write holds
        it (then its row has what was noted in it), so what a write notes in it is kept."""
        live = self._live
        place = live.get(sku)
        if place is not None:
            live.move_to_end(sku)
            return place
        row = self._db.execute("SELECT place FROM sku WHERE sku = ?", (sku,)).fetchone()
        if row is None or row[0] is None:
            return None
        place = live[sku] = _unpack(row[0])
        self._put_out()
        return place

    def placed(self) -> int:
        """How many SKUs have a place."""
        row = self._db.execute("SELECT count(*) FROM sku WHERE placed_in IS NOT NULL").fetchone()
        return int(row[0])

    def live(self) -> int:
        """How many places are objects in memory now (at most ``live`` plus those in use)."""
        return len(self._live)

    def forget(self, sku: str) -> None:
        self._live.pop(sku, None)
        row = self._db.execute("SELECT product FROM sku WHERE sku = ?", (sku,)).fetchone()
        if row is None:
            return
        if row[0] is not None:
            self._count -= 1
        self._db.execute("DELETE FROM sku WHERE sku = ?", (sku,))

    def close(self) -> None:
        self._live.clear()
        self._scratch.close()

    def _store(self, sku: str, product_id: int, packed: bytes) -> None:
        self._db.execute(
            "INSERT INTO sku (sku, placed_in, place) VALUES (?, ?, ?) ON CONFLICT (sku) DO"
            " UPDATE SET placed_in = excluded.placed_in, place = excluded.place",
            (sku, product_id, packed),
        )

    def _unplace(self, sku: str) -> None:
        """Take ``sku``'s place out (its row goes when the SKU is not indexed either)."""
        self._live.pop(sku, None)
        db = self._db
        db.execute("UPDATE sku SET placed_in = NULL, place = NULL WHERE sku = ?", (sku,))
        db.execute("DELETE FROM sku WHERE sku = ? AND product IS NULL", (sku,))

    def _put_out(self) -> None:
        """Keep at most ``live`` places in memory: the least recently used go back to their
        rows, what was noted in them included, except one that a caller still holds (a
        write in flight may note its outcome in it yet)."""
        live = self._live
        for _ in range(len(live)):
            if len(live) <= self._live_max:
                return
            sku = next(iter(live))
            place = live[sku]
            if sys.getrefcount(place) > _UNHELD:
                live.move_to_end(sku)
                continue
            del live[sku]
            self._db.execute(
                "UPDATE sku SET place = ? WHERE sku = ? AND placed_in = ?",
                (_pack(place), sku, place.product_id),
            )
