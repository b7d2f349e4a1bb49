"""The Starweb SKU index holds a bounded number of entries in memory, however big the shop
(issue [9/9], "big catalog": an initial sync of 50,000 products in flat memory): the index
lives in a scratch database on disk, and only the places stock and price writes asked for
lately are objects (at most ``LIVE``), written back to their rows when put out.

What the index is for (reference/shop-apis.md §2.5: ``filterSku`` is documented for "a product
with the specified SKU" only; §2.9: a stock or price write goes to ``/products/{pid}/variants/
{vid}/…``), and why a create stays exactly once (§2.4: Starweb is not documented to refuse a
second product with one SKU), are in ``brygga_starweb.catalog``.
"""

from __future__ import annotations

import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from pathlib import Path

import pytest

from brygga.catalog import Article, ArticleChange
from brygga.clock import FakeClock
from brygga.registers import Written
from brygga.store import Store
from brygga.store.sync_checkpoint import SyncCheckpoint
from brygga.sync.initial_sync import InitialSync
from brygga_starweb import catalog_index
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.catalog import INDEX_FRESH
from brygga_starweb.catalog_index import Place, SkuIndex
from brygga_starweb.simulator import StarwebSimulator

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]
#: places kept as objects in these tests
CAP = 16


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


@pytest.fixture(autouse=True)
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_index, "LIVE", CAP)


def article(clock: FakeClock, sku: str) -> Article:
    return Article(
        sku=sku,
        name=f"Artikel {sku}",
        currency="SEK",
        price=Decimal("39.20"),
        vat_rate=Decimal(25),
        modified_at=clock.now(),
    )


def test_a_place_a_write_still_holds_is_not_put_out_and_what_it_noted_is_kept() -> None:
    index = SkuIndex(live=2)
    index.place_product(1, [(f"S{i}", 10 + i, None, {1: (Decimal(5), None)}) for i in range(6)])
    held = index.place_of("S0")
    assert held is not None
    for i in range(1, 6):  # other writes go by meanwhile
        assert index.place_of(f"S{i}") is not None
    assert index.live() == 2  # the cap: the others went out, not the one a write holds
    assert index.place_of("S0") is held
    held.written = Decimal(7)  # the write in flight notes its outcome
    held.prices = {1: (Decimal(6), None)}
    del held
    for i in range(1, 6):
        index.place_of(f"S{i}")
    assert index.live() == 2
    back = index.place_of("S0")  # from its row, with what was noted
    assert back == Place(1, 10, None, Decimal(7), {1: (Decimal(6), None)})


@pytest.mark.anyio
async def test_stock_to_every_sku_of_a_big_shop_keeps_few_places_in_memory(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    """300 SKUs, stock written to each: at most ``CAP`` places are objects, and the levels
    noted in those put out are kept (the same levels again are ``unchanged``, no request)."""
    sim.knobs.page_size = 100
    skus = [f"LAGER-{i:03d}" for i in range(300)]
    async with open_adapter() as adapter:
        for sku in skus:
            assert await adapter.put_article(article(clock, sku), create=True, update=True) == (
                "created"
            )
        clock.advance(INDEX_FRESH + 1)
        for i, sku in enumerate(skus):
            assert await adapter.put_stock(sku, Decimal(i)) == "updated"
        index = adapter._catalog.index
        assert index is not None and index.placed() >= 300
        assert index.live() <= CAP
        before = len(sim.requests)
        for i, sku in enumerate(skus):
            assert await adapter.put_stock(sku, Decimal(i)) == "unchanged"
        assert sim.requests[before:] == []
        assert index.live() <= CAP
    assert [sim.stock(sku) for sku in skus[:3]] == [Decimal(0), Decimal(1), Decimal(2)]


class Source:
    """A ProductSource over ``n`` articles made afresh on every read."""

    def __init__(self, clock: FakeClock, n: int) -> None:
        self.clock, self.n = clock, n

    async def changed_articles(self, since: object, until: object) -> AsyncIterator[ArticleChange]:
        for _ in ():
            yield _

    async def fetch_article(self, sku: str) -> Article | None:
        return None

    async def all_articles(self) -> AsyncIterator[Article]:
        for i in range(self.n):
            yield article(self.clock, f"NY-{i:04d}")


class Killed(Exception):
    """The process died (no checkpoint of the batch in flight is saved)."""


class Target:
    """The adapter as the sync's target, moving the shop's clock 0.05 s a write (so the
    index's refreshes read back the run's own products) and dying after ``die_after``."""

    def __init__(self, adapter: StarwebAdapter, clock: FakeClock, die_after: int | None) -> None:
        self.adapter, self.clock, self.die_after, self.puts = adapter, clock, die_after, 0

    async def put_article(self, article: Article, *, create: bool, update: bool) -> Written:
        self.clock.advance(0.05)
        result = await self.adapter.put_article(article, create=create, update=update)
        self.puts += 1
        if self.puts == self.die_after:
            raise Killed
        return result


def sync(store: Store, source: Source, target: Target, clock: FakeClock) -> InitialSync:
    return InitialSync(
        source_name="erp",
        source=source,
        targets={"se": target},
        clock=clock,
        checkpoint=SyncCheckpoint(store.db, "bench", "erp"),
        batch_size=50,
    )


@pytest.mark.anyio
async def test_a_killed_sync_into_a_shop_resumes_exactly_once_in_bounded_memory(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open, store: Store
) -> None:
    """600 new articles, the process dying right after its 330th write (not marked), then
    a new process: every SKU once in the shop, one ``POST`` each over both runs, and the
    index's memory (objects and what ``catalog_index`` allocated) does not grow with the
    shop: the places live in the scratch database."""
    sim.knobs.page_size = 100
    n = 600
    source = Source(clock, n)
    with pytest.raises(Killed):
        async with open_adapter() as adapter:
            await sync(store, source, Target(adapter, clock, die_after=330), clock).run()
    tracemalloc.start()
    try:
        async with open_adapter() as adapter:
            tally = await sync(store, source, Target(adapter, clock, None), clock).run()
            index = adapter._catalog.index
            assert index is not None and len(index.skus) >= n and index.placed() > n // 2
            held = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(True, catalog_index.__file__)]
            )
            index_bytes = sum(stat.size for stat in held.statistics("filename"))
            assert index.live() <= CAP
    finally:
        tracemalloc.stop()
    # the write the process died after was done and not marked: found, not created again
    assert tally.ok and tally.unchanged == 1 and tally.earlier + tally.created == n - 1
    skus = Counter(v.sku for p in sim.catalog.products.values() for v in p.variants)
    assert {s for s, k in skus.items() if k > 1} == set()
    assert {f"NY-{i:04d}" for i in range(n)} <= set(skus)
    posts = [p for m, p in sim.requests if m == "POST" and p == "/products"]
    assert len(posts) == n
    # about 0.3 KB an SKU when the index was held in memory: 180 KB here
    assert index_bytes < 20_000, f"{index_bytes} bytes held by the index in memory"
