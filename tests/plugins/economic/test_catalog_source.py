"""e-conomic as a product source: the lastUpdated change feed, paging, fetch by SKU, full list.

Documented rules followed (e-conomic/slate ``source/includes/_introduction.md``: paging with
``skippages``/``pagesize``, ``filter=<prop>$gte:<value>``, ``sort=``; the products schema:
``productNumber`` string, ``salesPrice`` number, ``lastUpdated`` "updated either directly or
through inventory changed"; reference/erp-apis.md §1.3, §1.6, §1.8).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from economic_support import economic_config

from brygga.adapters import AdapterContext
from brygga.catalog import Article
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

START = datetime(2026, 1, 1, tzinfo=UTC)  # the FakeClock's start: every seeded product


def product_gets(sim: EconomicSimulator) -> int:
    return sum(1 for method, path in sim.requests if (method, path) == ("GET", "/products"))


async def test_changed_feed_asks_e_conomic_to_filter_on_last_updated(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(60)
    since = clock.now()
    clock.advance(5)
    sim.set_price("TE-100", Decimal("47.00"))
    sim.set_product("MUGG-VIT", name="Mugg vit 30 cl")
    sim.set_stock("BOK-01", Decimal(3))  # a stock change moves lastUpdated too
    clock.advance(5)
    async with open_adapter(page_size=2) as adapter:
        changes = [c async for c in adapter.changed_articles(since, clock.now())]
    assert sorted(c.sku for c in changes) == ["BOK-01", "MUGG-VIT", "TE-100"]
    assert {c.modified_at for c in changes} == {since + timedelta(seconds=5)}
    # 3 matches at 2 a page: e-conomic filtered (19 products would take 10 pages)
    assert product_gets(sim) == 2


async def test_changed_feed_keeps_to_its_window(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(60)
    sim.set_price("TE-100", Decimal("47.00"))  # at START + 60 s
    clock.advance(60)
    sim.set_price("KAFFE-500", Decimal("95.00"))  # at START + 120 s: after ``until``
    async with open_adapter() as adapter:
        window = [
            c.sku
            async for c in adapter.changed_articles(
                START + timedelta(seconds=30), START + timedelta(seconds=90)
            )
        ]
        # a window starting inside the second of a change still reads it (whole seconds)
        same_second = [
            c.sku
            async for c in adapter.changed_articles(
                START + timedelta(seconds=60, milliseconds=400), START + timedelta(seconds=90)
            )
        ]
    assert window == ["TE-100"]
    assert same_second == ["TE-100"]


async def test_changed_feed_pages_through_every_change(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(60)
    since = clock.now()
    numbers = [f"ART-{n:03d}" for n in range(7)]
    for number in numbers:
        sim.add_article(number, f"Artikel {number}", Decimal("10.00"), Decimal("25"))
    clock.advance(1)
    async with open_adapter(page_size=3) as adapter:
        skus = [c.sku async for c in adapter.changed_articles(since, clock.now())]
    assert skus == numbers  # sort=productNumber, each once
    assert product_gets(sim) == 3


async def test_a_product_deleted_while_the_feed_reads_costs_no_other_product(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(60)
    since = clock.now()
    numbers = [f"ART-{n:03d}" for n in range(6)]
    for number in numbers:
        sim.add_article(number, f"Artikel {number}", Decimal("10.00"), Decimal("25"))
    clock.advance(1)
    seen: list[str] = []
    async with open_adapter(page_size=2) as adapter:
        async for change in adapter.changed_articles(since, clock.now()):
            seen.append(change.sku)
            if change.sku == "ART-001":  # the end of page 1: page 2 would start at ART-003
                sim.remove_article("ART-000")
    # skippages alone would have skipped ART-002 (it moved onto page 1); repeats are allowed
    assert set(numbers[1:]) <= set(seen)


async def test_a_product_changed_while_the_feed_reads_is_not_lost(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(60)
    since = clock.now()
    numbers = [f"ART-{n:03d}" for n in range(6)]
    for number in numbers:
        sim.add_article(number, f"Artikel {number}", Decimal("10.00"), Decimal("25"))
    clock.advance(1)
    until = clock.now() + timedelta(seconds=30)
    seen: list[str] = []
    async with open_adapter(page_size=2) as adapter:
        async for change in adapter.changed_articles(since, until):
            seen.append(change.sku)
            if change.sku == "ART-001":
                sim.set_price("ART-000", Decimal("11.00"))  # moves lastUpdated, keeps its place
                sim.add_article("ART-0001", "Ny", Decimal("5.00"), Decimal("25"))  # inserted
    assert set(numbers) <= set(seen)


async def test_fetch_article_maps_the_product(sim: EconomicSimulator, open_adapter: Any) -> None:
    sim.set_product("MUGG-VIT", barCode="7310000000017")
    async with open_adapter() as adapter:
        article = await adapter.fetch_article("MUGG-VIT")
        food = await adapter.fetch_article("TE-100")
    assert article == Article(
        sku="MUGG-VIT",
        name="Mugg vit",
        currency="SEK",
        price=Decimal("119.20"),
        vat_rate=Decimal("25"),  # from product group -> sales account -> VAT account
        ean="7310000000017",
        active=True,
        modified_at=START,
    )
    assert food is not None and food.vat_rate == Decimal("12")


async def test_prices_are_decimals_read_exactly(sim: EconomicSimulator, open_adapter: Any) -> None:
    # e-conomic writes prices as JSON numbers; a float would make 0.1 + 0.2 of them
    sim.set_price("TE-100", Decimal("0.10"))
    sim.set_price("BOK-01", Decimal("12345678.99"))
    async with open_adapter() as adapter:
        tea = await adapter.fetch_article("TE-100")
        book = await adapter.fetch_article("BOK-01")
    assert tea is not None and book is not None
    assert isinstance(tea.price, Decimal) and tea.price == Decimal("0.10")
    assert str(book.price) == "12345678.99"


async def test_fetch_article_of_unknown_sku_is_none(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        assert await adapter.fetch_article("FINNS-INTE") is None
        # longer than e-conomic's 25-character product numbers: cannot exist, not asked
        before = len(sim.requests)
        assert await adapter.fetch_article("X" * 26) is None
        assert len(sim.requests) == before


async def test_fetch_article_encodes_the_product_number(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    # the documented self-link encoding: "_" -> _8_, "/" -> _6_, " " -> _9_
    sim.add_article("KOPP_2/st 1", "Koppar", Decimal("20.00"), Decimal("25"))
    async with open_adapter() as adapter:
        article = await adapter.fetch_article("KOPP_2/st 1")
    assert article is not None and article.sku == "KOPP_2/st 1"
    assert ("GET", "/products/KOPP_8_2_6_st_9_1") in sim.requests


async def test_barred_product_reads_as_inactive(sim: EconomicSimulator, open_adapter: Any) -> None:
    sim.set_product("TROJA-L", barred=True)
    async with open_adapter() as adapter:
        article = await adapter.fetch_article("TROJA-L")
    assert article is not None and not article.active


async def test_all_articles_streams_page_by_page(sim: EconomicSimulator, open_adapter: Any) -> None:
    total = len(sim.state.products)
    async with open_adapter(page_size=4) as adapter:
        articles = [a async for a in adapter.all_articles()]
    assert len(articles) == total
    assert len({a.sku for a in articles}) == total
    assert product_gets(sim) == -(-total // 4)
    # one VAT chain read per product group, not per product
    assert sum(1 for _, path in sim.requests if path.endswith("/sales-accounts")) <= 4


async def test_a_server_that_ignores_skippages_stops_the_feed(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    # hostile: every page is the first one, with a nextPage link; brygga must not loop
    page = {
        "collection": [
            {"productNumber": "A-1", "name": "A", "lastUpdated": "2026-01-01T00:00:00Z"}
        ],
        "pagination": {"results": 5, "nextPage": "https://restapi.e-conomic.com/products?x"},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=page)

    context = AdapterContext(
        connection="test",
        instance="economic",
        http=HttpContext(
            transport=httpx.MockTransport(answer), clock=clock, limiters=RateLimiterRegistry(clock)
        ),
    )
    adapter = EconomicAdapter(economic_config(sim, page_size=1), context)
    try:
        with pytest.raises(PermanentError, match="same page twice"):
            async for _ in adapter.changed_articles(START, START + timedelta(seconds=1)):
                pass
    finally:
        await adapter.aclose()


async def test_article_count_is_one_small_page_s_pagination_results(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    # the collection's pagination object carries ``results`` (reference/erp-apis.md §1.3)
    sim.add_article("NY-1", "Ny kopp", Decimal("79.00"), Decimal(25))
    total = len(sim.state.products)
    async with open_adapter(page_size=4) as adapter:
        assert await adapter.article_count() == total
        assert len([a async for a in adapter.all_articles()]) == total
    assert product_gets(sim) == 1 + -(-total // 4)  # the count is one request


async def test_an_answer_without_a_count_is_none(clock: FakeClock, sim: EconomicSimulator) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.params["pagesize"] == "1"
        return httpx.Response(200, json={"collection": []})

    context = AdapterContext(
        connection="test",
        instance="economic",
        http=HttpContext(
            transport=httpx.MockTransport(answer), clock=clock, limiters=RateLimiterRegistry(clock)
        ),
    )
    adapter = EconomicAdapter(economic_config(sim), context)
    try:
        assert await adapter.article_count() is None
    finally:
        await adapter.aclose()
