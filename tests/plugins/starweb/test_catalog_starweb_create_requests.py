"""What creating new Starweb products costs, and that a create stays exactly-once.

Spec (reference/shop-apis.md §2.3–2.5, §2.9; the OpenAPI spec in starweb/shop-api-sdk-php):
``POST /products`` takes the product with its variant and prices (one write per article);
``GET /products`` pages at the server's page size (100) and takes ``updatedSince``; whether
``filterSku`` matches other variants than the primary one is not documented, so the adapter
keeps an SKU index of the shop (read a page at a time) instead of a lookup per SKU.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

import pytest

from brygga.catalog import Article
from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.testing.simulators import Fault
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.catalog import CREATE_FRESH
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]
ID = re.compile(r"/\d+")


def lands_unanswered() -> Fault:
    """The next ``POST /products`` is stored, then answered 500 (the client cannot tell)."""
    return Fault("commit_then_fail", methods=frozenset({"POST"}), path=r"/products$", times=1)


def article(clock: FakeClock, sku: str, **fields: Any) -> Article:
    values: dict[str, Any] = {
        "name": f"Artikel {sku}",
        "currency": "SEK",
        "price": Decimal("39.20"),
        "vat_rate": Decimal("25.00"),
        "modified_at": clock.now(),
    }
    return Article(sku=sku, **(values | fields))


def per_endpoint(sim: StarwebSimulator, since: int = 0) -> dict[str, int]:
    counts: dict[str, int] = {}
    for method, path in sim.requests[since:]:
        key = f"{method} {ID.sub('/{n}', path)}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def products_with(sim: StarwebSimulator, sku: str) -> int:
    return sum(1 for p in sim.catalog.products.values() if any(v.sku == sku for v in p.variants))


async def test_new_skus_cost_one_post_each_and_the_index_pages(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    sim.knobs.page_size = 100  # the server's page size (§2.3)
    n = 400
    async with open_adapter() as adapter:
        for i in range(n):
            sku = f"NY-{i:04d}"
            assert await adapter.put_article(article(clock, sku), create=True, update=True) == (
                "created"
            )
            clock.advance(0.05)  # 20 creates a second: 20 s in all, two refresh windows
    counts = per_endpoint(sim)
    assert counts["POST /products"] == n
    # the first SKU's lookup (filterSku), the whole list (the seed: one page) and its first
    # refresh; then a refresh per CREATE_FRESH seconds, reading back the run's own new
    # products (about n / 100 pages, a page more per refresh for the inclusive second)
    refreshes = math.ceil(n * 0.05 / CREATE_FRESH)
    assert counts["GET /products"] <= 3 + math.ceil(n / 100) + refreshes, counts
    assert sum(counts.values()) <= 1.1 * n, counts
    assert all(products_with(sim, f"NY-{i:04d}") == 1 for i in range(n))


async def test_a_sku_created_elsewhere_after_the_index_was_read_is_not_created_again(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        await adapter.put_article(article(clock, "NY-1"), create=True, update=True)  # index read
        clock.advance(1)
        sim.add_product("NY-2", "Från admin", price=Decimal(10), stock=Decimal(1))
        clock.advance(CREATE_FRESH)  # the index is older than a create trusts
        written = await adapter.put_article(article(clock, "NY-2"), create=True, update=True)
    assert written == "updated"
    assert products_with(sim, "NY-2") == 1
    assert sim.catalog_product("NY-2").name == "Artikel NY-2"


async def test_a_refused_create_is_looked_up_before_the_next_one(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    """Within CREATE_FRESH a product made elsewhere is not seen (the documented limit); the
    simulator refuses a second product with one SKU, and the SKU is then in doubt: the next
    put looks it up and updates it, no second create."""
    async with open_adapter() as adapter:
        await adapter.put_article(article(clock, "NY-1"), create=True, update=True)
        sim.add_product("NY-2", "Från admin", price=Decimal(10), stock=Decimal(1))
        with pytest.raises(PermanentError):
            await adapter.put_article(article(clock, "NY-2"), create=True, update=True)
        before = per_endpoint(sim).get("POST /products", 0)
        written = await adapter.put_article(article(clock, "NY-2"), create=True, update=True)
    assert written == "updated"
    assert per_endpoint(sim).get("POST /products", 0) == before
    assert products_with(sim, "NY-2") == 1


async def test_a_create_that_landed_unanswered_is_found_by_the_retry(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        await adapter.put_article(article(clock, "NY-0"), create=True, update=True)  # index
        sim.faults.add(lands_unanswered())
        with pytest.raises(TransientError):  # landed, answered 500
            await adapter.put_article(article(clock, "NY-1"), create=True, update=True)
        assert await adapter.put_article(article(clock, "NY-1"), create=True, update=True) == (
            "unchanged"
        )
    assert products_with(sim, "NY-1") == 1


async def test_a_killed_run_whose_post_landed_then_a_repeat_makes_one_product(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    skus = [f"NY-{i}" for i in range(4)]
    async with open_adapter() as adapter:  # the run that is killed after NY-1's POST landed
        await adapter.put_article(article(clock, skus[0]), create=True, update=True)
        sim.faults.add(lands_unanswered())
        with pytest.raises(TransientError):
            await adapter.put_article(article(clock, skus[1]), create=True, update=True)
    clock.advance(1)
    async with open_adapter() as adapter:  # the repeat: a new process, a new index
        results = [
            await adapter.put_article(article(clock, sku), create=True, update=True)
            for sku in reversed(skus)
        ]
    assert results == ["created", "created", "unchanged", "unchanged"]
    assert [products_with(sim, sku) for sku in skus] == [1, 1, 1, 1]
    assert per_endpoint(sim)["POST /products"] == 4  # NY-0, NY-1 (landed), NY-3, NY-2


async def test_updated_since_answers_as_a_scan_of_the_catalog_would(
    sim: StarwebSimulator, clock: FakeClock, api: Callable[..., Any]
) -> None:
    """The simulator answers ``updatedSince`` from its index by modifiedAt (§2.5: inclusive,
    products in id order); edits, a back-dated product and a deletion keep it right."""
    for i in range(12):
        sim.add_product(f"T-{i}", f"T {i}", price=Decimal(1), stock=Decimal(0))
        clock.advance(1)
    sim.touch_product("T-2")  # now the newest
    sim.catalog_product("T-9").modified_at = sim.catalog_product("T-0").modified_at
    since = sim.catalog_product("T-5").modified_at
    async with api() as client:
        assert (await client.delete(f"products/{sim.catalog_product('T-7').product_id}")).is_success
        ids: list[int] = []
        for page in (1, 2, 3):
            params = {"updatedSince": since.isoformat(), "page": page}
            ids += [
                p["productId"] for p in (await client.get("products", params=params)).json()["data"]
            ]
    scan = sorted(p.product_id for p in sim.catalog.products.values() if p.modified_at >= since)
    assert ids == scan
    assert [sim.catalog.products[i].variants[0].sku for i in ids] == [
        "T-2",
        "T-5",
        "T-6",
        "T-8",
        "T-10",
        "T-11",
    ]
