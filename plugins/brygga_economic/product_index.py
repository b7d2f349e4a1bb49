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

Memory (issue [9/9], "big catalog"): an entry is not the decoded product but one short
``bytes`` of the compared fields (MessagePack; the price as the decimal text e-conomic sent, so
it comes back exactly), turned back into a :class:`CatalogProduct` when asked
(:meth:`ProductIndex.get`): about 0.15 KB a product instead of about 0.5 KB, so the index of a
big catalog and what a long sync creates into it stay small.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

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


@dataclass
class ProductIndex:
    """Product number -> the product as the list gave it (or as this adapter wrote it), kept
    packed (:func:`pack`; :meth:`get` gives it back)."""

    now: Callable[[], float]
    ttl: float = TTL
    page: int = PAGE
    products: dict[str, bytes] = field(default_factory=dict)
    #: when the index was last read whole (``now()``), None: never or stale
    read_at: float | None = None
    #: how many products e-conomic had at the last read or count (None: not known yet)
    results: int | None = None
    #: single look-ups since the index was last fresh
    lookups: int = 0
    #: numbers whose create is in doubt (or which were changed behind the index's back)
    unsure: set[str] = field(default_factory=set)

    def fresh(self) -> bool:
        if self.read_at is None:
            return False
        if self.now() - self.read_at <= self.ttl:
            return True
        self.stale()
        return False

    def stale(self) -> None:
        self.read_at = None
        self.products.clear()
        self.lookups = 0

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
        packed = self.products.get(number)
        return None if packed is None else unpack(number, packed)

    def replace(self, products: dict[str, bytes], results: int) -> None:
        """The index as just read whole: product number -> :func:`pack` of the product."""
        self.products = products
        self.results = results
        self.read_at = self.now()
        self.lookups = 0

    def seen(self, product: CatalogProduct) -> None:
        """``product`` as e-conomic just answered it (created, read or written)."""
        number = product.product_number
        self.unsure.discard(number)
        if self.read_at is not None:
            if number not in self.products and self.results is not None:
                self.results += 1
            self.products[number] = pack(product)

    def doubt(self, number: str) -> None:
        """The create (or write) of ``number`` may or may not have landed: ask e-conomic."""
        self.unsure.add(number)
        self.products.pop(number, None)
