"""The Starweb adapter as a product source: variants as articles, the change feed, streaming.

Spec: the OpenAPI spec in starweb/shop-api-sdk-php (resources/specification/openapi.json),
summarised in reference/shop-apis.md §2.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

import pytest
from starweb_support import collect, utc

from brygga.clock import FakeClock
from brygga.registers import ProductSource
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]

TROJA = ["TROJA-S", "TROJA-M", "TROJA-L"]


def gets(sim: StarwebSimulator, since: int = 0) -> list[str]:
    return [path for method, path in sim.requests[since:] if method == "GET"]


async def test_the_adapter_is_a_product_source(open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        assert isinstance(adapter, ProductSource)


async def test_a_variant_is_its_own_article_grouped_by_product_sku(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    # Spec, listProducts include: "Only one variant ... is included ... To fetch all variants,
    # instead use /products/x/variants". filterSku is [unknown] for variants (§2.5): the
    # shop here matches only the primary variant, and the adapter still finds TROJA-L.
    sim.knobs.filter_sku_matches_variants = False
    async with open_adapter() as adapter:
        large = await adapter.fetch_article("TROJA-L")
        alone = await adapter.fetch_article("KAFFE-500")
    assert large is not None and alone is not None
    assert (large.sku, large.product_sku, large.variant_name) == ("TROJA-L", "TROJA", "L")
    # a variant is named as a system without variants keeps it (brygga.catalog.variant_title)
    assert (large.name, large.price, large.vat_rate) == ("Tröja L", Decimal("299"), Decimal(25))
    assert (alone.product_sku, alone.variant_name) == ("", "")
    assert "/products/7/variants" in gets(sim)


async def test_product_sku_of_a_product_without_external_id_is_its_primary_sku(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    sim.catalog_product("TROJA-M").external_id = ""  # made in the admin: no externalId
    async with open_adapter() as adapter:
        middle = await adapter.fetch_article("TROJA-M")
    assert middle is not None and middle.product_sku == "TROJA-S"


async def test_prices_are_read_excluding_vat_with_the_campaign_price(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    # Spec, ProductVariantPriceModel: priceExVat "The price excluding vat", specialPriceExVat
    # "The special price excluding vat (a discounted price)".
    sim.set_price("KAFFE-500", Decimal("89.00"), Decimal("79.20"))
    async with open_adapter() as adapter:
        article = await adapter.fetch_article("KAFFE-500")
    assert article is not None
    assert (article.price, article.campaign_price) == (Decimal("89.00"), Decimal("79.20"))
    assert (article.currency, article.vat_rate) == ("SEK", Decimal(25))


async def test_an_unknown_sku_is_none(open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        assert await adapter.fetch_article("FINNS-EJ") is None
        assert await adapter.fetch_article("med mellanslag") is None


async def test_all_articles_streams_a_page_at_a_time(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    for n in range(8):  # 7 seed products + 8 = three pages of five
        sim.add_product(f"EXTRA-{n}", f"Extra {n}", price=Decimal(10 + n))
    async with open_adapter() as adapter:
        articles = adapter.all_articles()
        first = await anext(articles)
        pages_read = [p for p in gets(sim) if p == "/products"]
        rest = [article async for article in articles]
    assert first.sku == "KAFFE-500"
    assert pages_read == ["/products"]  # only the first page while its articles are used
    skus = [first.sku, *(a.sku for a in rest)]
    assert len(skus) == len(set(skus)) == 9 + 8
    assert [a.product_sku for a in rest if a.sku in TROJA] == ["TROJA"] * 3
    assert [a.variant_name for a in rest if a.sku in TROJA] == ["S", "M", "L"]


async def test_the_change_feed_pages_and_keeps_the_window(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    clock.advance(10)
    sim.set_price("TE-100", Decimal(50))  # changed before the window: not reported
    clock.advance(10)
    since = clock.now()
    clock.advance(10)
    for n in range(6):  # with TROJA, seven changed products: two pages of five
        sim.add_product(f"NY-{n}", f"Ny {n}", price=Decimal(20))
    sim.set_stock("TROJA-M", Decimal(3))  # one variant changed: the product's modifiedAt moves
    clock.advance(10)
    until = clock.now()
    sim.set_price("BOK-01", Decimal(1))  # at ``until``: the next window's
    async with open_adapter() as adapter:
        before = len(sim.requests)
        changes = await collect(adapter.changed_articles(since, until))
    assert sorted(c.sku for c in changes) == sorted([*(f"NY-{n}" for n in range(6)), *TROJA])
    assert {c.modified_at for c in changes} == {utc(2026, 2, 2, 8, 0, 30)}
    assert gets(sim, before).count("/products") == 2  # two pages of the product list


async def test_a_variant_without_sku_is_skipped_with_a_sentence(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    clock.advance(5)
    since = clock.now()
    sim.variant("TROJA-M").sku = ""
    clock.advance(5)
    sim.touch_product("TROJA-S")
    clock.advance(5)
    async with open_adapter() as adapter:
        articles = await collect(adapter.all_articles())
        changes = await collect(adapter.changed_articles(since, clock.now()))
        skipped = adapter.skipped_records
    assert [a.sku for a in articles if a.product_sku == "TROJA"] == ["TROJA-S", "TROJA-L"]
    assert [c.sku for c in changes] == ["TROJA-S", "TROJA-L"]
    assert len(skipped) == 2
    variant_id = sim.catalog_product("TROJA-S").variants[1].variant_id
    assert f"Starweb product 7, variant {variant_id} has no SKU" in skipped[0]
    assert "give the variant an SKU" in skipped[0]


async def test_an_unreadable_product_row_does_not_stop_the_stream(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    original = sim.catalog_product("TE-100").wire

    def broken(includes: frozenset[str] = frozenset()) -> dict[str, object]:
        row = original(includes)
        row["modifiedAt"] = "not a time"
        return row

    sim.catalog_product("TE-100").wire = broken  # type: ignore[method-assign]
    async with open_adapter() as adapter:
        articles = await collect(adapter.all_articles())
        skipped = adapter.skipped_records
    assert "TE-100" not in {a.sku for a in articles} and len(articles) == 8
    assert skipped and skipped[0].startswith("Starweb product 3: ")


async def test_a_product_deleted_while_the_feed_pages_costs_no_other_change(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    clock.advance(10)
    since = clock.now()
    for sku in ("KAFFE-500", "MUGG-VIT", "TE-100", "CHOKLAD-70", "BOK-01", "TIDNING-12"):
        sim.touch_product(sku)
    sim.touch_product("TROJA-S")
    clock.advance(10)

    def delete_the_first(page: int) -> None:
        if page == 1 and 1 in sim.catalog.products:
            del sim.catalog.products[1]  # KAFFE-500, after page 1 was read

    sim.knobs.on_products_page = delete_the_first
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_articles(since, clock.now()))
    # the rows after the deleted one moved up a place: without reading again from page 1,
    # TIDNING-12 (the sixth row, now the fifth) would never be seen
    assert {"TIDNING-12", *TROJA} <= {c.sku for c in changes}


async def test_article_count_is_the_first_pages_total_of_products(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    # listProducts answers with meta.pagination {current_page, per_page, total, count,
    # total_pages} (reference/shop-apis.md §2); ``total`` counts products, not variants
    for n in range(8):  # 7 seed products + 8: three pages of five
        sim.add_product(f"EXTRA-{n}", f"Extra {n}", price=Decimal(10 + n))
    before = len(sim.requests)
    async with open_adapter() as adapter:
        count = await adapter.article_count()
        asked = gets(sim, before)
        articles = await collect(adapter.all_articles())
    assert count == 7 + 8 == len(sim.catalog.products)
    assert asked.count("/products") == 1  # one request, whatever the size of the shop
    # the shop's Tröja has three variants: the count is a lower bound of the articles
    assert len(articles) == count + 2
