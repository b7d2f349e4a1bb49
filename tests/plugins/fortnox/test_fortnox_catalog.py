"""Fortnox as a catalog source: articles, sales prices and stock read by ``lastmodified``.

Reference/erp-apis.md §2.3 (``lastmodified`` ``YYYY-MM-DD HH:MM``, ``filter=active|
inactive`` on articles, [doc F4] https://www.fortnox.se/developer/guides-and-good-to-know/
parameters), §2.6 (Article: ``SalesPrice``, ``VAT``, ``StockGoods``, ``DisposableQuantity``;
list items carry the prices as strings, [spec F1]).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.registers import ProductSource, StockSource
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio


async def test_the_feed_names_the_articles_changed_since_the_window_start(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    # past the 2 hours the feed reads early (the zone of lastmodified is undocumented)
    clock.advance(3 * 3600)
    since = clock.now()
    clock.advance(60)
    sim.set_article("TE-100", SalesPrice=Decimal("47.50"))
    until = clock.now() + timedelta(seconds=1)
    async with open_adapter() as adapter:
        assert isinstance(adapter, ProductSource) and isinstance(adapter, StockSource)
        changes = [c async for c in adapter.changed_articles(since, until)]
        assert [(c.sku, c.modified_at) for c in changes] == [("TE-100", since)]
        article = await adapter.fetch_article("TE-100")
    assert article is not None
    assert (article.name, article.price, article.vat_rate, article.currency) == (
        "Te Earl Grey 100 g",
        Decimal("47.50"),
        Decimal(12),
        "SEK",
    )


async def test_all_articles_reads_active_and_inactive_ones(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    sim.set_article("TROJA-L", Active=False)
    async with open_adapter() as adapter:
        articles = {a.sku: a async for a in adapter.all_articles()}
        count = await adapter.article_count()
    assert set(articles) == set(sim.state.table("articles"))
    assert count == len(articles)
    # list items carry no Active: only the filter=inactive read can tell
    assert articles["TROJA-L"].active is False and articles["TROJA-M"].active is True
    assert articles["KAFFE-500"].price == Decimal("89.00")


async def test_stock_is_the_disposable_quantity_of_stock_articles(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(1800)
    since = clock.now()
    sim.set_stock("KAFFE-500", Decimal(12))
    sim.set_article("fraktavg", Description="Frakt ny")  # a service article changes too
    async with open_adapter() as adapter:
        levels = [s async for s in adapter.changed_stock(since, clock.now())]
        assert [(s.sku, s.quantity) for s in levels] == [("KAFFE-500", Decimal(12))]
        level = await adapter.stock_of("KAFFE-500")
        assert level is not None and level.quantity == Decimal(12)
        assert await adapter.stock_of("NO-SUCH") is None
        with pytest.raises(PermanentError, match="no stock article"):
            await adapter.stock_of("fraktavg")


async def test_price_lists_yield_every_price_of_the_chosen_lists(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    """§2.6: prices per list and quantity at ``/3/prices/sublist/{list}/{article}``."""
    from fortnox_support import config_for

    from brygga_fortnox.simulator.records import put_price

    for article, list_code, from_quantity, price in (
        ("KAFFE-500", "B", 0, Decimal("79.00")),
        ("KAFFE-500", "B", 10, Decimal("69.00")),
        ("TE-100", "A", 0, Decimal("40.00")),
    ):
        put_price(
            sim.state,
            {
                "ArticleNumber": article,
                "PriceList": list_code,
                "FromQuantity": from_quantity,
                "Price": price,
            },
            create=True,
        )
    since = clock.now()
    async with open_adapter(config=config_for(sim, price_lists=["B"])) as adapter:
        prices = [p async for p in adapter.changed_list_prices(since, clock.now())]
    assert [(p.price_list, p.sku, p.min_quantity, p.price) for p in prices] == [
        ("B", "KAFFE-500", Decimal(1), Decimal("79.00")),
        ("B", "KAFFE-500", Decimal(10), Decimal("69.00")),
    ]
    assert all(p.currency == "SEK" for p in prices)
    async with open_adapter() as adapter:
        every = [p async for p in adapter.changed_list_prices(since, clock.now())]
    assert {(p.price_list, p.sku) for p in every} == {("B", "KAFFE-500"), ("A", "TE-100")}
