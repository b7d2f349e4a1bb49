"""The Starweb adapter as a product sink: create, update only what differs, unchanged, skipped.

Spec: the OpenAPI spec in starweb/shop-api-sdk-php (resources/specification/openapi.json),
summarised in reference/shop-apis.md §2.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

import pytest

from brygga.catalog import Article
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.registers import ProductSink
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]


def article(clock: FakeClock, sku: str = "NY-1", **fields: Any) -> Article:
    values: dict[str, Any] = {
        "name": "Kaffefilter 100 st",
        "currency": "SEK",
        "price": Decimal("39.20"),
        "vat_rate": Decimal("25.00"),
        "ean": "7310000000017",
        "weight": Decimal("0.25"),
        "modified_at": clock.now(),
    }
    return Article(sku=sku, **(values | fields))


def writes(sim: StarwebSimulator, since: int) -> list[tuple[str, str]]:
    """The writes the shop received since ``since`` (token requests aside)."""
    return [(m, p) for m, p in sim.requests[since:] if m != "GET" and p != "/token"]


async def test_the_adapter_is_a_product_sink(open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        assert isinstance(adapter, ProductSink)


async def test_a_missing_article_is_created_with_its_price(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        written = await adapter.put_article(article(clock), create=True, update=True)
        back = await adapter.fetch_article("NY-1")
    assert written == "created"
    product, variant = sim.catalog_product("NY-1"), sim.variant("NY-1")
    assert (product.name, product.default_vat_rate, product.visibility) == (
        "Kaffefilter 100 st",
        Decimal(25),
        "visible",
    )
    assert (variant.ean, variant.weight, variant.is_active) == (
        "7310000000017",
        Decimal("0.25"),
        True,
    )
    # Spec, ProductVariantPriceModel: priceExVat is "The price excluding vat", as is the
    # article's price: written as it is, never converted.
    assert sim.price("NY-1") == (Decimal("39.20"), None)
    assert back == article(clock)


async def test_an_equal_article_is_unchanged_without_a_write(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        await adapter.put_article(article(clock), create=True, update=True)
        before = len(sim.requests)
        again = await adapter.put_article(article(clock), create=True, update=True)
        seeded = await adapter.fetch_article("TROJA-M")
        assert seeded is not None
        mark = len(sim.requests)
        seed_again = await adapter.put_article(seeded, create=True, update=True)
    assert (again, seed_again) == ("unchanged", "unchanged")
    assert writes(sim, before) == []
    assert writes(sim, mark) == []


async def test_an_update_writes_only_what_differs(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        await adapter.put_article(article(clock), create=True, update=True)
        product_id = sim.catalog_product("NY-1").product_id
        variant_id = sim.variant("NY-1").variant_id
        before = len(sim.requests)
        changed = article(clock, price=Decimal("35"), campaign_price=Decimal("29"))
        price_only = await adapter.put_article(changed, create=True, update=True)
        price_writes = writes(sim, before)
        before = len(sim.requests)
        renamed = article(clock, name="Filter", vat_rate=Decimal(12), active=False, ean="")
        renamed = Article(**{**_fields(renamed), "price": None})
        rest = await adapter.put_article(renamed, create=True, update=True)
    assert (price_only, rest) == ("updated", "updated")
    base = f"/products/{product_id}/variants/{variant_id}"
    assert price_writes == [("PUT", f"{base}/prices/1")]
    assert sim.price("NY-1") == (Decimal(35), Decimal(29))
    assert sorted(writes(sim, before)) == [
        ("PATCH", f"/products/{product_id}"),
        ("PATCH", f"/products/{product_id}/languages/sv"),
        ("PATCH", base),
    ]
    product, variant = sim.catalog_product("NY-1"), sim.variant("NY-1")
    assert (product.name, product.default_vat_rate, variant.is_active) == (
        "Filter",
        Decimal(12),
        False,
    )
    assert variant.ean == "7310000000017"  # an empty EAN at the source keeps the shop's
    assert sim.price("NY-1") == (Decimal(35), Decimal(29))  # price None: the shop keeps it


def _fields(item: Article) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__struct_fields__}


async def test_switches_off_skip_without_writing(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        before = len(sim.requests)
        not_created = await adapter.put_article(article(clock), create=False, update=True)
        seeded = await adapter.fetch_article("TE-100")
        assert seeded is not None
        cheaper = Article(**{**_fields(seeded), "price": Decimal(1)})
        not_updated = await adapter.put_article(cheaper, create=True, update=False)
        equal = await adapter.put_article(seeded, create=True, update=False)
    assert (not_created, not_updated, equal) == ("skipped", "skipped", "unchanged")
    assert writes(sim, before) == []
    assert "NY-1" not in sim.catalog_skus()


async def test_a_non_primary_variant_is_updated_without_relying_on_filter_sku(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    sim.knobs.filter_sku_matches_variants = False  # the spec leaves this open (§2.5)
    async with open_adapter() as adapter:
        large = await adapter.fetch_article("TROJA-L")
        assert large is not None
        written = await adapter.put_article(
            Article(**{**_fields(large), "price": Decimal(279)}), create=True, update=True
        )
    assert written == "updated"
    assert sim.price("TROJA-L") == (Decimal(279), None)
    assert sim.catalog_skus().count("TROJA-L") == 1  # updated, not created again


async def test_a_variant_added_in_the_admin_after_the_index_is_found(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    sim.knobs.filter_sku_matches_variants = False
    async with open_adapter() as adapter:
        await adapter.put_article(article(clock), create=True, update=True)  # builds the index
        clock.advance(60)
        sim.add_product("TROJA-XL", "Tröja", price=Decimal(299), product="TROJA", variant="XL")
        xl = article(clock, "TROJA-XL", name="Tröja", price=Decimal(309), ean="", weight=None)
        written = await adapter.put_article(xl, create=True, update=True)
    assert written == "updated"
    assert sim.catalog_skus().count("TROJA-XL") == 1
    assert sim.price("TROJA-XL") == (Decimal(309), None)


async def test_a_product_group_is_created_with_its_first_variant(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    first = article(clock, "MOSSA-BLA", name="Mössa", product_sku="MOSSA", variant_name="Blå")
    second = article(clock, "MOSSA-ROD", name="Mössa", product_sku="MOSSA", variant_name="Röd")
    async with open_adapter() as adapter:
        created = await adapter.put_article(first, create=True, update=True)
        back = await adapter.fetch_article("MOSSA-BLA")
        before = len(sim.requests)
        with pytest.raises(PermanentError) as refused:
            await adapter.put_article(second, create=True, update=True)
    assert created == "created"
    assert sim.catalog_product("MOSSA-BLA").external_id == "MOSSA"
    assert back is not None and back.product_sku == "MOSSA"
    # Spec, ProductVariantModel.attributeValueLinks: "mandatory for products variants if the
    # product's hasSeveralVariants field is set to true"; "Röd" names no attribute, and no
    # variant_attribute is configured, so brygga does not guess one.
    message = str(refused.value)
    assert message.startswith("SKU MOSSA-ROD: it is a further variant of product MOSSA")
    assert "give the variant a name like 'Storlek: M'" in message
    assert writes(sim, before) == []


async def test_a_currency_without_a_price_list_is_refused(
    clock: FakeClock, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"^SKU NY-1: Starweb shop se has no active"):
            await adapter.put_article(article(clock, currency="EUR"), create=True, update=True)


async def test_an_sku_starweb_cannot_hold_is_refused(clock: FakeClock, open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="does not fit Starweb's variant SKU"):
            await adapter.put_article(article(clock, "X" * 41), create=True, update=True)


async def test_fields_starweb_would_refuse_are_named_before_any_request(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    # Spec: ProductLanguageModel.name maxLength 150, ProductVariantModel.ean maxLength 20
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"^SKU NY-1: the EAN is 21 characters"):
            await adapter.put_article(article(clock, ean="1" * 21), create=True, update=True)
        with pytest.raises(PermanentError, match=r"^SKU NY-1: the name is 151 characters"):
            await adapter.put_article(article(clock, name="n" * 151), create=True, update=True)
    assert sim.requests == []
