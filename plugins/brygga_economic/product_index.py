"""Which product numbers e-conomic holds, read a page of 1,000 at a time instead of one GET each.

``put_article`` must know whether a product exists before it creates one. Asking
``GET /products/{number}`` per article costs a request per article (a 404 for every new one);
``GET /products?pagesize=1000`` (the maximum page size, reference/erp-apis.md §1.3) tells the
same about 1,000 products in one request. This index holds, per product number, the fields
``put_article`` compares (``name``, ``salesPrice``, ``barCode``, ``barred``, ``productGroup``,
all in the products collection as in the single product).

When it pays: reading the index costs ``ceil(products / 1000)`` requests, so it is read only
after that many single look-ups since it was last fresh (rent, then buy: never more than about
twice the cheaper of the two). Before the first read the size is learned with one
``GET /products?pagesize=1`` after a few look-ups, so a daemon that puts one changed article
now and then keeps its one GET per article and a big sync reads the list.

Exactly once: the index is a hint, e-conomic's ``productNumber`` key is the guard.

- A number the index does not hold is created with ``POST /products``; when e-conomic refuses
  it (someone created it after the index was read), the caller reads the product and compares
  as usual, so a stale index can never make a second product.
- A create whose outcome is unknown (timeout, dropped connection, 5xx) marks the number
  *unsure*: until a look-up sees it, it is read with ``GET /products/{number}`` (the
  find-before-create of the in-doubt rule), not taken from the index.
- Entries are kept at most ``ttl`` seconds (default 60) after the index was read; then the
  index is stale and read again when it pays. What this adapter creates goes in at once.

Memory (issue [9/9], "big catalog": flat in the size of the agreement's catalog): an entry is
one short ``bytes`` of the compared fields (MessagePack; the price as the decimal text
e-conomic sent, so it comes back exactly), turned back into a :class:`CatalogProduct` when
asked (:meth:`ProductIndex.get`), and the entries live in a private scratch database on disk
(:class:`brygga.scratch.Scratch`, SQLite's temporary database, a page cache of
:data:`~brygga.scratch.CACHE_KIB` KiB), written a page of the list at a time: reading the
list of a big agreement, and what a long sync creates into it, take no memory per product.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from brygga.scratch import Scratch
from brygga_economic.catalog_wire import CatalogProduct
from brygga_economic.wire import _GroupRef

__all__ = ["ProductIndex"]

#: e-conomic's largest page (``maxPageSizeAllowed``, reference/erp-apis.md §1.3)
PAGE = 1000
#: single look-ups before the collection's size is asked (one ``pagesize=1`` request)
COUNT_AFTER = 8
#: seconds an index read stays trusted
TTL = 60.0


class _Known(msgspec.Struct, array_like=True, frozen=True):
    """What the index keeps of a product: the fields ``put_article`` compares."""

    name: str
    sales_price: Decimal | None
    bar_code: str
    barred: bool
    group: int | None


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Known).decode


def pack(product: CatalogProduct) -> bytes:
    """``product``'s compared fields, as the index keeps them."""
    group = product.product_group
    return _encode(
        _Known(
            product.name,
            product.sales_price,
            product.bar_code,
            product.barred,
            None if group is None else group.product_group_number,
        )
    )


def unpack(number: str, packed: bytes) -> CatalogProduct:
    known = _decode(packed)
    group = None if known.group is None else _GroupRef(product_group_number=known.group)
    return CatalogProduct(
        product_number=number,
        name=known.name,
        sales_price=known.sales_price,
        bar_code=known.bar_code,
        barred=known.barred,
        product_group=group,
    )


_SCHEMA = "CREATE TABLE product (number TEXT PRIMARY KEY, known BLOB NOT NULL) WITHOUT ROWID;"


@dataclass
class ProductIndex:
    """Product number -> the product as the list gave it (or as this adapter wrote it), kept
    packed (:func:`pack`; :meth:`get` gives it back) in a scratch database."""

    now: Callable[[], float]
    ttl: float = TTL
    page: int = PAGE
    #: when the index was last read whole (``now()``), None: never or stale
    read_at: float | None = None
    #: how many products e-conomic had at the last read or count (None: not known yet)
    results: int | None = None
    #: single look-ups since the index was last fresh
    lookups: int = 0
    #: numbers whose create is in doubt (or which were changed behind the index's back)
    unsure: set[str] = field(default_factory=set)
    _scratch: Scratch | None = field(default=None, init=False, repr=False)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._scratch is None:
            self._scratch = Scratch(_SCHEMA)
        return self._scratch.db

    def fresh(self) -> bool:
        if self.read_at is None:
            return False
        if self.now() - self.read_at <= self.ttl:
            return True
        self.stale()
        return False

    def stale(self) -> None:
        self.read_at = None
        self.lookups = 0
        if self._scratch is not None:
            self._db.execute("DELETE FROM product")

    def knows(self, number: str) -> bool:
        """True when the index can answer for ``number`` (fresh and not unsure)."""
        return number not in self.unsure and self.fresh()

    def wants_count(self) -> bool:
        return self.results is None and self.lookups >= COUNT_AFTER

    def worth_reading(self) -> bool:
        """True when single look-ups have cost as much as reading the index would."""
        if self.results is None:
            return False
        return self.lookups >= max(1, math.ceil(self.results / self.page))

    def get(self, number: str) -> CatalogProduct | None:
        """The product as the index holds it (the compared fields only), None: not held."""
        row = self._db.execute("SELECT known FROM product WHERE number = ?", (number,)).fetchone()
        return None if row is None else unpack(number, row[0])

    def held(self) -> int:
        """How many products the index holds."""
        return int(self._db.execute("SELECT count(*) FROM product").fetchone()[0])

    def begin(self) -> None:
        """A read of the whole list starts: the old entries go (the index is stale)."""
        self.stale()

    def add_page(self, products: Iterable[CatalogProduct]) -> int:
        """One page of the list as read (see :meth:`begin`); how many it held."""
        rows = [(p.product_number, pack(p)) for p in products if p.product_number.strip()]
        with self._scratch_batch() as db:
            db.executemany(
                "INSERT INTO product (number, known) VALUES (?, ?) ON CONFLICT (number)"
                " DO UPDATE SET known = excluded.known",
                rows,
            )
        return len(rows)

    def finish(self, results: int) -> None:
        """The whole list was read (:meth:`add_page`): ``results`` products; fresh from now."""
        self.results = results
        self.read_at = self.now()
        self.lookups = 0

    def replace(self, products: dict[str, bytes], results: int) -> None:
        """The index as just read whole: product number -> :func:`pack` of the product."""
        self.begin()
        with self._scratch_batch() as db:
            db.executemany("INSERT INTO product (number, known) VALUES (?, ?)", products.items())
        self.finish(results)

    def seen(self, product: CatalogProduct) -> None:
        """``product`` as e-conomic just answered it (created, read or written)."""
        number = product.product_number
        self.unsure.discard(number)
        if self.read_at is not None:
            cursor = self._db.execute(
                "INSERT INTO product (number, known) VALUES (?, ?) ON CONFLICT (number) DO NOTHING",
                (number, pack(product)),
            )
            if cursor.rowcount > 0:
                if self.results is not None:
                    self.results += 1
            else:
                self._db.execute(
                    "UPDATE product SET known = ? WHERE number = ?", (pack(product), number)
                )

    def doubt(self, number: str) -> None:
        """The create (or write) of ``number`` may or may not have landed: ask e-conomic."""
        self.unsure.add(number)
        if self._scratch is not None:
            self._db.execute("DELETE FROM product WHERE number = ?", (number,))

    def _scratch_batch(self) -> AbstractContextManager[sqlite3.Connection]:
        self._db  # noqa: B018 - opened on first use
        assert self._scratch is not None
        return self._scratch.batch()
