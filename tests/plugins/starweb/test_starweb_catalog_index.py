"""The Starweb SKU index kept compact (issue [9/9], "big catalog": an initial sync into a big
shop must not grow by a kilobyte per SKU): places as read are packed, and come back exactly.

What the index is for (reference/shop-apis.md §2.5: ``filterSku`` is documented for "a product
with the specified SKU" only, so the adapter indexes the shop's SKUs; §2.9: a price or stock
write goes to ``/products/{pid}/variants/{vid}/…``, so the variant's ids must be known).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

import pytest

from brygga.catalog import Article
from brygga.clock import FakeClock
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.catalog import INDEX_FRESH
from brygga_starweb.catalog_index import Place, SkuIndex
from brygga_starweb.simulator import StarwebSimulator

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]
ID = re.compile(r"/\d+")


def test_a_place_comes_back_exactly_as_read() -> None:
    index = SkuIndex()
    prices = {1: (Decimal("39.20"), None), 7: (Decimal("10.5"), Decimal("9.990"))}
    index.place_product(101, [("A", 11, 3, prices), ("B", 12, None, None), ("C", 13, None, {})])
    a, b, c = index.place_of("A"), index.place_of("B"), index.place_of("C")
    assert a == Place(101, 11, 3, prices=prices)
    assert a is not None and a.prices is not None
    # the decimal text too (not only the value): 39.20 stays 39.20, 9.990 stays 9.990
    assert [str(x) for x in (*a.prices[1][:1], *a.prices[7])] == ["39.20", "10.5", "9.990"]
    assert b == Place(101, 12, None, prices=None)  # prices not read: not known
    assert c == Place(101, 13, None, prices={})  # read, none: a write there is a POST
    assert index.place_of("D") is None
    assert index.placed() == 3


def test_a_place_a_write_asked_for_keeps_what_the_write_noted() -> None:
    index = SkuIndex()
    index.place_product(5, [("A", 50, 1, {1: (Decimal(10), None)})])
    place = index.place_of("A")
    assert place is not None
    place.written = Decimal(4)
    assert place.prices is not None
    place.prices[1] = (Decimal(12), None)
    again = index.place_of("A")
    assert again is place and again.written == Decimal(4)
    assert again.prices == {1: (Decimal(12), None)}
    # read again: the shop's values replace what was noted (they may be newer)
    index.place_product(5, [("A", 50, 2, {1: (Decimal(11), None)})])
    fresh = index.place_of("A")
    assert fresh == Place(5, 50, 2, prices={1: (Decimal(11), None)})
    assert fresh is not place and fresh.written is None


def test_a_sku_a_product_no_longer_has_is_forgotten_one_moved_away_is_not() -> None:
    index = SkuIndex()
    index.place_product(1, [("A", 10, None, None), ("B", 11, None, None)])
    index.place_product(2, [("C", 20, None, None)])
    # B moved to product 2 (admin), then product 1 is read again with A only
    index.place_product(2, [("C", 20, None, None), ("B", 21, None, None)])
    index.place_product(1, [("A", 10, None, None)])
    assert index.place_of("B") == Place(2, 21, None)
    # product 2 read again without C: C goes, B stays
    index.place_product(2, [("B", 21, None, None)])
    assert index.place_of("C") is None and index.place_of("B") == Place(2, 21, None)
    # product 1 read with no variant left: A goes
    index.place_product(1, [])
    assert index.place_of("A") is None
    assert index.placed() == 1


def test_a_looked_up_place_and_forget() -> None:
    index = SkuIndex()
    index.add(7, ["X"], "", None)
    looked = Place(7, 70, None, prices={1: (Decimal(1), None)})
    index.place("X", looked)
    assert index.place_of("X") is looked
    # the product read later without X (it moved): X is forgotten there
    index.place_product(7, [])
    assert index.place_of("X") is None
    index.place("X", Place(8, 80, None))
    index.forget("X")
    assert "X" not in index.skus and index.place_of("X") is None
    # a product read again with X does not find the forgotten place in its list
    index.place_product(8, [("Y", 81, None, None)])
    assert index.placed() == 1


@pytest.mark.anyio
async def test_products_a_sync_created_are_read_back_into_places_that_take_one_write_each(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    """The initial sync's creates, read back by the index's refresh, are packed places: a
    price write to each afterwards is one ``PUT`` to the right variant, the same price is
    ``unchanged`` without a request (the price came back exactly from the packed place)."""
    skus = [f"NY-{i:03d}" for i in range(30)]
    async with open_adapter() as adapter:
        for i, sku in enumerate(skus):
            article = Article(
                sku=sku,
                name=f"Artikel {sku}",
                currency="SEK",
                price=Decimal("39.20") + i,
                vat_rate=Decimal(25),
                modified_at=clock.now(),
            )
            assert await adapter.put_article(article, create=True, update=True) == "created"
        clock.advance(INDEX_FRESH + 1)  # the next write reads the products changed since
        for i, sku in enumerate(skus):
            same = await adapter.put_price(sku, "SEK", Decimal("39.2") + i, None)
            assert same == "unchanged"
        before = len(sim.requests)
        for i, sku in enumerate(skus):
            assert await adapter.put_price(sku, "SEK", Decimal(50 + i), None) == "updated"
        writes = [(m, ID.sub("/{n}", p)) for m, p in sim.requests[before:]]
    assert writes == [("PUT", "/products/{n}/variants/{n}/prices/{n}")] * len(skus)
    assert [sim.price(sku) for sku in skus] == [(Decimal(50 + i), None) for i in range(30)]
