"""e-conomic as product target: requests per article, and exactly-once creation with the index.

What the documented API allows (reference/erp-apis.md §1.3, e-conomic/slate
``source/includes/_introduction.md``, https://restapi.e-conomic.com/): collections are read
with ``?skippages=N&pagesize=M``, at most 1000 per page; §1.6 (``_products.md``): products are
keyed by ``productNumber`` (POST ``/products`` creates, GET/PUT ``/products/{productNumber}``).
So knowing which of N products exist costs ``ceil(N / 1000)`` list reads, and creating N
products N POSTs: ``put_article`` must not spend a ``GET /products/{number}`` per new article.

Exactly once rests on the ``productNumber`` key: a create of a number that exists is refused
(the simulator's E00140), and an in-doubt create is looked up before it is repeated.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from brygga.catalog import Article
from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.testing.simulators import Fault
from brygga_economic.product_index import COUNT_AFTER, TTL
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

AT = datetime(2026, 1, 1, tzinfo=UTC)
PRICE = Decimal("100.00")
#: the adapter's limiter lifted (as in benchmarks/initial_sync.py): at the default 10 requests/s
#: the fake clock would pass the index's TTL during a long run, and re-reads are tested apart
UNLIMITED = {"requests": 1_000_000, "per_seconds": 0.001}


@pytest.fixture
def sim(clock: FakeClock) -> EconomicSimulator:
    """An agreement without products (reference data and product groups only)."""
    return EconomicSimulator(clock=clock, seed_catalog=False)


def article(sku: str, **fields: Any) -> Article:
    base: dict[str, Any] = {
        "sku": sku,
        "name": f"Artikel {sku}",
        "currency": "SEK",
        "price": PRICE,
        "vat_rate": Decimal("25"),
        "modified_at": AT,
    }
    return Article(**(base | fields))


def seed(sim: EconomicSimulator, count: int, prefix: str = "E") -> list[str]:
    skus = [f"{prefix}{i:05d}" for i in range(count)]
    for sku in skus:
        sim.add_article(sku, f"Artikel {sku}", PRICE, Decimal("25"))
    return skus


def product_requests(sim: EconomicSimulator, since: int = 0) -> dict[str, int]:
    """The product requests served since index ``since``, by kind."""
    kinds = {"list": 0, "single": 0, "post": 0, "put": 0}
    for method, path in sim.requests[since:]:
        if path == "/products":
            kinds["list" if method == "GET" else "post"] += 1
        elif path.startswith("/products/"):
            kinds["single" if method == "GET" else "put"] += 1
    return kinds


async def test_new_articles_cost_a_list_read_per_thousand_and_one_post_each(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    n = 2100
    async with open_adapter(product_group=1, rate_limit=UNLIMITED) as adapter:
        for i in range(n):
            result = await adapter.put_article(article(f"N{i:05d}"), create=True, update=True)
            assert result == "created"
    counts = product_requests(sim)
    assert counts["post"] == n
    assert counts["put"] == 0
    assert len(sim.state.products) == n
    # a few single look-ups before the list is worth reading, one count, then list pages
    assert counts["single"] <= COUNT_AFTER
    assert counts["list"] <= math.ceil(n / 1000) + 2
    total = sum(counts.values())
    assert total <= n + math.ceil(n / 1000) + COUNT_AFTER + 2  # was 2 n: a GET before each POST


async def test_existing_unchanged_articles_cost_no_write_and_no_get_each(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    skus = seed(sim, 1200)
    async with open_adapter(product_group=1, rate_limit=UNLIMITED) as adapter:
        for sku in skus:
            assert await adapter.put_article(article(sku), create=True, update=True) == (
                "unchanged"
            )
    counts = product_requests(sim)
    assert counts["post"] == counts["put"] == 0
    assert counts["single"] <= COUNT_AFTER
    assert counts["list"] <= math.ceil(len(skus) / 1000) + 1


async def test_a_changed_article_is_read_whole_and_written_once(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    skus = seed(sim, 20)
    async with open_adapter(product_group=1) as adapter:
        for sku in skus:  # the index is read on the way
            await adapter.put_article(article(sku), create=True, update=True)
        before = len(sim.requests)
        changed = article(skus[-1], price=Decimal("120.50"))
        assert await adapter.put_article(changed, create=True, update=True) == "updated"
    # PUT replaces the full entity: the document is read fresh, then written once
    assert sim.requests[before:] == [
        ("GET", f"/products/{skus[-1]}"),
        ("PUT", f"/products/{skus[-1]}"),
    ]
    stored = sim.product(skus[-1])
    assert stored is not None and stored["salesPrice"] == Decimal("120.50")


async def test_a_product_created_by_someone_else_after_the_index_was_read_is_not_created_twice(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(product_group=1) as adapter:
        for i in range(COUNT_AFTER + 2):  # enough look-ups for the index to be read
            await adapter.put_article(article(f"N{i:05d}"), create=True, update=True)
        assert adapter._product_index is not None and adapter._product_index.fresh()
        # a person creates LATE-1 in e-conomic after the index was read
        sim.add_article("LATE-1", "Someone else's", Decimal("80.00"), Decimal("25"))
        before = len(sim.requests)
        result = await adapter.put_article(article("LATE-1"), create=True, update=True)
        assert result == "updated"  # not "created": it exists, with other values
        again = await adapter.put_article(article("LATE-1"), create=True, update=True)
        assert again == "unchanged"
    served = sim.requests[before:]
    # the index did not know it: the create was tried, refused, then the product read
    assert served[0] == ("POST", "/products")
    assert ("GET", "/products/LATE-1") in served
    assert [r for r in served if r[0] == "POST"] == [("POST", "/products")]
    stored = sim.product("LATE-1")
    assert stored is not None
    assert stored["name"] == "Artikel LATE-1" and stored["salesPrice"] == PRICE


async def test_a_create_whose_answer_is_lost_is_looked_up_not_repeated(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(product_group=1) as adapter:
        for i in range(COUNT_AFTER + 2):
            await adapter.put_article(article(f"N{i:05d}"), create=True, update=True)
        assert adapter._product_index is not None and adapter._product_index.fresh()
        sim.faults.add(
            Fault("commit_then_fail", methods=frozenset({"POST"}), path="^/products$", times=1)
        )
        with pytest.raises(TransientError):
            await adapter.put_article(article("LOST-1"), create=True, update=True)
        assert sim.faults.fired.get("commit_then_fail") == 1
        assert sim.product("LOST-1") is not None  # it landed, the answer did not
        before = len(sim.requests)
        assert await adapter.put_article(article("LOST-1"), create=True, update=True) == (
            "unchanged"
        )
    # the repeat asked e-conomic first (the index may not answer for an in-doubt create)
    assert sim.requests[before:] == [("GET", "/products/LOST-1")]
    assert [p for p in sim.state.products if p == "LOST-1"] == ["LOST-1"]


async def test_a_late_landing_create_and_its_repeat_make_one_product(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(product_group=1) as adapter:
        for i in range(COUNT_AFTER + 2):
            await adapter.put_article(article(f"N{i:05d}"), create=True, update=True)
        sim.faults.add(
            Fault("late_commit", methods=frozenset({"POST"}), path="^/products$", times=1)
        )
        with pytest.raises(TransientError):
            await adapter.put_article(article("SLOW-1"), create=True, update=True)
        # not landed yet: the look-up sees nothing, so the repeat creates it
        assert await adapter.put_article(article("SLOW-1"), create=True, update=True) == ("created")
        assert await sim.faults.land_held() == 1  # the first POST arrives late: refused
        assert sim.product("SLOW-1") is not None
        posts = product_requests(sim)["post"]
        assert await adapter.put_article(article("SLOW-1"), create=True, update=True) == (
            "unchanged"
        )
    assert product_requests(sim)["post"] == posts  # no third create
    assert len([p for p in sim.state.products if p.startswith("SLOW")]) == 1


async def test_the_index_is_trusted_only_for_its_ttl(
    sim: EconomicSimulator, open_adapter: Any, clock: FakeClock
) -> None:
    skus = seed(sim, 20)
    async with open_adapter(product_group=1) as adapter:
        for sku in skus:
            await adapter.put_article(article(sku), create=True, update=True)
        index = adapter._product_index
        assert index is not None and index.fresh()
        # deleted in e-conomic behind the index's back: within the TTL the index still
        # answers, after it the product is looked up again and created anew
        sim.remove_article(skus[0])
        clock.advance(TTL + 1)
        assert not index.fresh()
        assert await adapter.put_article(article(skus[0]), create=True, update=True) == ("created")
    assert sim.product(skus[0]) is not None


async def test_a_stale_changed_entry_is_compared_again_before_writing(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    skus = seed(sim, 20)
    async with open_adapter(product_group=1) as adapter:
        for sku in skus:
            await adapter.put_article(article(sku), create=True, update=True)
        # someone already set the new price in e-conomic; the index holds the old one
        sim.set_price(skus[1], Decimal("150.00"))
        before = len(sim.requests)
        result = await adapter.put_article(
            article(skus[1], price=Decimal("150.00")), create=True, update=True
        )
    assert result == "unchanged"
    assert sim.requests[before:] == [("GET", f"/products/{skus[1]}")]  # read, nothing written
