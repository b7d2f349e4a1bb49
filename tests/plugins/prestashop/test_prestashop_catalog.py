"""The PrestaShop adapter's catalog side: articles, prices, group price lists.

Reference: shop-apis.md §3.6 (products ``price`` excl. VAT; combinations' ``price`` is an
impact on it, not a price [PS14]; ``quantity`` not writable; VAT via tax rules groups;
``specific_prices`` with ``id_group``, ``price`` absolute, ``from``/``to`` unlimited [PS8]),
§3.7 (price recipe: PATCH on 8.x), §3.3 (PUT resets omitted fields).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from prestashop_support import open_adapter, utc

from brygga.catalog import Article, ListPrice
from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.testing.simulators import Fault
from brygga_prestashop.simulator import PrestashopSimulator

pytestmark = pytest.mark.anyio


def _combo(sim: PrestashopSimulator, reference: str) -> dict[str, str]:
    return next(c for c in sim.state.table("combinations").values() if c["reference"] == reference)


def _product(sim: PrestashopSimulator, reference: str) -> dict[str, object]:
    return next(p for p in sim.state.table("products").values() if p["reference"] == reference)


def _article(sku: str, **fields: object) -> Article:
    base: dict[str, object] = {
        "name": "Ny vara",
        "currency": "SEK",
        "price": Decimal("10"),
        "vat_rate": Decimal(25),
        "modified_at": utc(2026, 2, 2, 8, 0, 0),
    }
    return Article(sku=sku, **(base | fields))  # type: ignore[arg-type]


async def test_all_articles_are_one_per_sku_with_absolute_prices(sim: PrestashopSimulator) -> None:
    async with open_adapter(sim) as adapter:
        articles = {a.sku: a async for a in adapter.all_articles()}
    assert sorted(articles) == sorted(sim.catalog_skus())
    troja = articles["TROJA-M"]
    assert (troja.price, troja.product_sku, troja.vat_rate) == (
        Decimal("299.000000"),
        "TROJA",
        Decimal("25.000"),
    )
    kaffe = articles["KAFFE-500"]
    assert (kaffe.price, kaffe.product_sku, kaffe.name) == (
        Decimal("89.000000"),
        "",
        "Kaffe mellanrost 500 g",
    )
    assert articles["BOK-01"].vat_rate == Decimal("6.000")


async def test_fetch_article(sim: PrestashopSimulator) -> None:
    async with open_adapter(sim) as adapter:
        assert (await adapter.fetch_article("TROJA-S")).sku == "TROJA-S"  # type: ignore[union-attr]
        assert await adapter.fetch_article("NOPE") is None
        with pytest.raises(PermanentError, match="has combinations"):
            await adapter.fetch_article("TROJA")


async def test_changed_articles_follow_the_products_date_upd(
    sim: PrestashopSimulator, clock: FakeClock
) -> None:
    clock.advance(60)
    since = clock.now()
    product = _product(sim, "TROJA")
    product["date_upd"] = sim.state.now()
    clock.advance(60)
    async with open_adapter(sim) as adapter:
        changed = sorted([c.sku async for c in adapter.changed_articles(since, clock.now())])
    assert changed == ["TROJA-L", "TROJA-M", "TROJA-S"]


async def test_a_combination_price_is_written_as_an_impact(sim: PrestashopSimulator) -> None:
    """§3.6 [PS14]: the combination's price is added to the product's base price."""
    async with open_adapter(sim) as adapter:
        assert await adapter.put_price("TROJA-L", "SEK", Decimal("329"), None) == "updated"
        assert await adapter.put_price("TROJA-L", "SEK", Decimal("329"), None) == "unchanged"
        assert await adapter.put_price("KAFFE-500", "SEK", Decimal("95.50"), None) == "updated"
    assert _combo(sim, "TROJA-L")["price"] == "50.000000"  # 279 + 50 = 329
    assert _product(sim, "TROJA")["price"] == "279.000000"  # the base is untouched
    assert _product(sim, "KAFFE-500")["price"] == "95.500000"
    assert [m for m, p in sim.requests if m != "GET"] == ["PATCH", "PATCH"]


async def test_a_price_on_17_puts_the_whole_product(clock: FakeClock) -> None:
    sim = PrestashopSimulator(clock=clock, version="1.7")
    async with open_adapter(sim, version="1.7") as adapter:
        assert await adapter.put_price("KAFFE-500", "SEK", Decimal("95"), None) == "updated"
    product = _product(sim, "KAFFE-500")
    assert product["price"] == "95.000000"
    assert product["name"] == {1: "Kaffe mellanrost 500 g"}  # sent back, not reset
    assert product["id_tax_rules_group"] == "1"
    assert [m for m, _ in sim.requests if m != "GET"] == ["PUT"]


async def test_a_price_in_another_currency_is_refused(sim: PrestashopSimulator) -> None:
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match="keeps its catalog in SEK"):
            await adapter.put_price("KAFFE-500", "NOK", Decimal("95"), None)


async def test_put_article_updates_what_differs(sim: PrestashopSimulator) -> None:
    async with open_adapter(sim) as adapter:
        same = await adapter.fetch_article("TE-100")
        assert same is not None
        assert await adapter.put_article(same, create=True, update=True) == "unchanged"
        changed = _article(
            "TE-100", name="Te Earl Grey 200 g", price=Decimal("79"), vat_rate=Decimal(12)
        )
        assert await adapter.put_article(changed, create=True, update=False) == "skipped"
        assert await adapter.put_article(changed, create=True, update=True) == "updated"
    product = _product(sim, "TE-100")
    assert (product["name"], product["price"]) == ({1: "Te Earl Grey 200 g"}, "79.000000")


async def test_put_article_creates_products_and_combinations(sim: PrestashopSimulator) -> None:
    async with open_adapter(sim) as adapter:
        new = _article("KOPP-01", name="Kopp", price=Decimal("59"), vat_rate=Decimal(12))
        assert await adapter.put_article(new, create=False, update=True) == "skipped"
        assert await adapter.put_article(new, create=True, update=True) == "created"
        xl = _article("TROJA-XL", name="Tröja", product_sku="TROJA", price=Decimal("319"))
        assert await adapter.put_article(xl, create=True, update=True) == "created"
        assert await adapter.put_article(xl, create=True, update=True) == "unchanged"
        assert (await adapter.fetch_article("TROJA-XL")).price == Decimal("319.000000")  # type: ignore[union-attr]
    kopp = _product(sim, "KOPP-01")
    assert (kopp["price"], kopp["id_tax_rules_group"]) == ("59.000000", "2")
    assert _combo(sim, "TROJA-XL")["price"] == "40.000000"
    assert sim.stock("TROJA-XL") == 0  # the shop gave it a stock row


async def test_a_vat_rate_without_a_tax_rules_group_is_refused(sim: PrestashopSimulator) -> None:
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match=r"no tax rules group with 7\.5 %"):
            await adapter.put_article(
                _article("X-1", vat_rate=Decimal("7.5")), create=True, update=True
            )


async def test_a_group_price_is_a_specific_price_for_the_group(sim: PrestashopSimulator) -> None:
    """§3.6 [PS8]: ``specific_prices`` with ``id_group``; price absolute excl. VAT."""
    listed = ListPrice(price_list="B2B", sku="TROJA-S", currency="SEK", price=Decimal("250"))
    async with open_adapter(sim) as adapter:
        assert await adapter.put_list_price("Customer", listed) == "created"
        assert await adapter.put_list_price("3", listed) == "unchanged"
        cheaper = ListPrice(price_list="B2B", sku="TROJA-S", currency="SEK", price=Decimal("240"))
        assert await adapter.put_list_price("customer", cheaper) == "updated"
    (row,) = sim.state.table("specific_prices").values()
    assert (row["id_group"], row["id_product"], row["id_product_attribute"]) == ("3", "7", "1")
    assert (row["price"], row["reduction_type"], row["from"]) == (
        "240.000000",
        "amount",
        "0000-00-00 00:00:00",
    )


async def test_an_unknown_group_names_the_known_ones(sim: PrestashopSimulator) -> None:
    listed = ListPrice(price_list="B2B", sku="TROJA-S", currency="SEK", price=Decimal("250"))
    async with open_adapter(sim) as adapter:
        with pytest.raises(PermanentError, match=r"no customer group 'Grossist'.*customer"):
            await adapter.put_list_price("Grossist", listed)


async def test_a_list_price_whose_answer_is_lost_is_not_created_twice(
    sim: PrestashopSimulator,
) -> None:
    listed = ListPrice(price_list="B2B", sku="KAFFE-500", currency="SEK", price=Decimal("80"))
    async with open_adapter(sim) as adapter:
        sim.faults.add(Fault("commit_then_fail", methods=frozenset({"POST"}), times=1))
        with pytest.raises(TransientError):
            await adapter.put_list_price("3", listed)
        assert await adapter.put_list_price("3", listed) == "unchanged"
    assert len(sim.state.table("specific_prices")) == 1
