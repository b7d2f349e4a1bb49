"""The product ids the initial sync's walk over Starweb has seen, kept compact (issue [9/9],
"big catalog"), and still answered exactly.

Reference: reference/shop-apis.md §2.3 (``GET /products`` pages, ``sortBy=productId``,
``sortOrder``); a walk that finds the total shrunk reads from page 1 again, so rows repeat and
are deduplicated by product id.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

import pytest
from starweb_support import collect

from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.catalog_seen import SeenIds
from brygga_starweb.simulator import StarwebSimulator

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]


def test_ascending_ids_then_a_walk_from_the_start_again() -> None:
    seen = SeenIds()
    assert [seen.first_time(n) for n in (3, 5, 9, 12)] == [True] * 4
    # read from page 1 again: every id a repeat, a new one at the end is not
    assert [seen.first_time(n) for n in (3, 5, 9, 12, 14)] == [False] * 4 + [True]
    assert len(seen) == 5


def test_any_order_is_answered_as_a_set_would() -> None:
    rng = random.Random(7)
    ids = [rng.randrange(-50, 400) for _ in range(2000)] + [2**70, -(2**70), 2**70]
    seen, reference = SeenIds(), set()
    for n in ids:
        assert seen.first_time(n) is (n not in reference), n
        reference.add(n)
    assert len(seen) == len(reference)


@pytest.mark.anyio
async def test_a_walk_that_reads_from_page_1_again_yields_each_product_once(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    for n in range(12):
        sim.add_product(f"EXTRA-{n:02d}", f"Extra {n}", price=Decimal(10 + n))
    first = min(sim.catalog.products)

    def delete_the_first(page: int) -> None:
        if page == 2 and first in sim.catalog.products:
            del sim.catalog.products[first]  # after page 1 was read: the walk starts over

    sim.knobs.on_products_page = delete_the_first
    async with open_adapter() as adapter:
        articles = await collect(adapter.all_articles())
    counts = Counter(a.sku for a in articles)
    assert {f"EXTRA-{n:02d}" for n in range(12)} <= set(counts)
    assert all(n == 1 for n in counts.values()), counts
    # every product the shop still has (variants of one product are articles of their own)
    skus = {v.sku for p in sim.catalog.products.values() for v in p.variants}
    assert skus <= set(counts)
