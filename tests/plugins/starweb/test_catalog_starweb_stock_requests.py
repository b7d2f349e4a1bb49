"""What a Starweb stock write costs: one request per SKU once the shop's SKUs are known.

Spec (reference/shop-apis.md §2.8–2.9, the OpenAPI spec in starweb/shop-api-sdk-php):
``PUT /products/{pid}/variants/{vid}/stocks/{stockLocationId}`` with ``stockStatusId`` and
``stockQuantity``, both required, so no read is needed before it; the product list
(``GET /products``, ``include=primaryVariant``, ``updatedSince``) carries each primary
variant with its ``variantId``, ``sku`` and ``stockStatusId``, and ``GET
/products/{id}/variants`` the others (§2.3: list calls return only the primary variant).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

import pytest

from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.catalog import INDEX_FRESH
from brygga_starweb.simulator import StarwebSimulator
from brygga_starweb.simulator.catalog import ECOMMERCE_LOCATION, IN_STOCK

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]
STOCK_PUT = re.compile(r"^/products/\d+/variants/\d+/stocks/\d+$")
ID = re.compile(r"/\d+")
SKUS = [f"LAGER-{n:03d}" for n in range(40)]


def per_endpoint(sim: StarwebSimulator, since: int) -> dict[str, int]:
    """Requests since ``since`` by method and path, ids folded."""
    counts: dict[str, int] = {}
    for method, path in sim.requests[since:]:
        key = f"{method} {ID.sub('/{n}', path)}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def stocked(sim: StarwebSimulator, clock: FakeClock | None = None) -> None:
    """The shop sells ``SKUS`` (one product each; a second apart on ``clock``)."""
    for sku in SKUS:
        sim.add_product(sku, f"Artikel {sku}", price=Decimal(10), stock=Decimal(1))
        if clock is not None:
            clock.advance(1)


def list_pages(sim: StarwebSimulator) -> int:
    return -(-len(sim.catalog.products) // sim.knobs.page_size)  # page_size 5 here


async def test_each_sku_costs_one_write_once_the_shop_is_read(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    stocked(sim)
    async with open_adapter() as adapter:
        for sku in SKUS:  # looks SKUs up, then reads the shop's products a page at a time
            await adapter.put_stock(sku, Decimal(5))
        before = len(sim.requests)
        for n, sku in enumerate(SKUS):
            assert await adapter.put_stock(sku, Decimal(n)) == "updated"
    # no lookup (filterSku) and no read of the level before each write: one PUT per SKU
    assert per_endpoint(sim, before) == {"PUT /products/{n}/variants/{n}/stocks/{n}": len(SKUS)}
    assert [sim.stock(sku) for sku in SKUS] == list(map(Decimal, range(len(SKUS))))


async def test_many_skus_cost_at_most_two_list_reads_besides_their_writes(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    stocked(sim)
    pages = list_pages(sim)
    async with open_adapter() as adapter:
        for sku in SKUS:
            await adapter.put_stock(sku, Decimal(3))
    counts = per_endpoint(sim, 0)
    assert counts["PUT /products/{n}/variants/{n}/stocks/{n}"] == len(SKUS)
    # the list's size, one lookup per SKU until they cost as much as the list, the list
    assert counts["GET /products"] == 1 + pages + pages
    # the seed's one product with several variants is read once for its variants
    assert counts.get("GET /products/{n}/variants", 0) == 1
    reads = sum(v for k, v in counts.items() if k.startswith("GET"))
    assert reads <= 2 * pages + 4, counts  # + variants, stock locations, (stock statuses)


async def test_a_few_skus_after_a_start_do_not_read_the_whole_list(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    stocked(sim)
    async with open_adapter() as adapter:
        for sku in SKUS[:3]:
            await adapter.put_stock(sku, Decimal(2))
    counts = per_endpoint(sim, 0)
    assert counts["GET /products"] == 1 + 3  # the list's size, then one lookup per SKU
    assert counts["PUT /products/{n}/variants/{n}/stocks/{n}"] == 3
    assert [sim.stock(sku) for sku in SKUS[:4]] == [Decimal(2)] * 3 + [Decimal(1)]


async def test_a_further_variant_gets_its_own_variant_s_level(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    sim.knobs.filter_sku_matches_variants = False  # the spec leaves filterSku open (§2.5)
    async with open_adapter() as adapter:
        await adapter.put_stock("TROJA-M", Decimal(4))
    assert [sim.stock(s) for s in ("TROJA-S", "TROJA-M", "TROJA-L")] == [
        Decimal(100),
        Decimal(4),
        Decimal(100),
    ]


async def test_the_merchant_s_stock_status_is_kept_without_reading_the_level(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    back_order = next(i for i, code in sim.catalog.stock_statuses.items() if code == "backOrder")
    sim.variant("TE-100").stock_status_id = back_order
    sim.touch_product("TE-100")
    async with open_adapter() as adapter:
        await adapter.put_stock("TE-100", Decimal(0))
        await adapter.put_stock("KAFFE-500", Decimal(0))
    assert sim.variant("TE-100").stocks[ECOMMERCE_LOCATION] == (back_order, Decimal(0))
    assert sim.variant("KAFFE-500").stocks[ECOMMERCE_LOCATION] == (IN_STOCK, Decimal(0))
    assert not any(m == "GET" and STOCK_PUT.match(p) for m, p in sim.requests)


@pytest.mark.parametrize("indexed", [False, True], ids=["looked-up", "indexed"])
async def test_a_write_that_answers_404_finds_the_sku_again(
    sim: StarwebSimulator, open_adapter: Open, indexed: bool
) -> None:
    stocked(sim)
    async with open_adapter() as adapter:
        for sku in SKUS if indexed else ["LAGER-001"]:
            await adapter.put_stock(sku, Decimal(2))
        old = sim.catalog_product("LAGER-001").product_id
        del sim.catalog.products[old]  # deleted in admin, then created again
        sim.add_product("LAGER-001", "Artikel igen", price=Decimal(10))
        assert await adapter.put_stock("LAGER-001", Decimal(6)) == "updated"
        assert sim.stock("LAGER-001") == Decimal(6)
        del sim.catalog.products[sim.catalog_product("LAGER-001").product_id]
        with pytest.raises(PermanentError, match=r"^SKU LAGER-001: Starweb shop se has no"):
            await adapter.put_stock("LAGER-001", Decimal(7))


async def test_a_sku_moved_in_admin_is_written_to_its_new_variant_after_the_refresh(
    sim: StarwebSimulator, open_adapter: Open, clock: FakeClock
) -> None:
    stocked(sim, clock)
    async with open_adapter() as adapter:
        for sku in SKUS:  # the index is read by now
            await adapter.put_stock(sku, Decimal(2))
        clock.advance(INDEX_FRESH)
        # in admin: the old variant gets another SKU, a new product takes LAGER-001
        sim.variant("LAGER-001").sku = "LAGER-001-GAMMAL"
        sim.touch_product("LAGER-001-GAMMAL")
        sim.add_product("LAGER-001", "Ny artikel", price=Decimal(10))
        before = len(sim.requests)
        await adapter.put_stock("LAGER-001", Decimal(9))
    assert sim.stock("LAGER-001") == Decimal(9)
    assert sim.stock("LAGER-001-GAMMAL") == Decimal(2)
    # one read of the products changed since the newest one the index held (here: every
    # product, all were written since), not a walk per SKU
    assert per_endpoint(sim, before).get("GET /products", 0) <= list_pages(sim)


async def test_the_same_level_again_is_unchanged_without_a_request(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    stocked(sim)
    async with open_adapter() as adapter:
        assert await adapter.put_stock("LAGER-003", Decimal(8)) == "updated"
        before = len(sim.requests)
        assert await adapter.put_stock("LAGER-003", Decimal("8.0")) == "unchanged"
        assert len(sim.requests) == before
        assert await adapter.put_stock("LAGER-003", Decimal(7)) == "updated"
    assert sim.stock("LAGER-003") == Decimal(7)
