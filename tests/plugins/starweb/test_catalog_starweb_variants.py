"""The Starweb adapter creates further variants of a product with an attribute value each.

Spec 2.12.0 (starweb/shop-api-sdk-php, resources/specification/openapi.json; reference/
shop-apis.md §2): ``ProductVariantModel.attributeValueLinks`` is "mandatory for products
variants if the product's hasSeveralVariants field is set to true"; attributes and values are
``/product-attributes`` and ``/product-attributes/{attributeId}/values``.
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
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.catalog_attributes import attribute_and_value
from brygga_starweb.simulator import StarwebSimulator
from brygga_starweb.simulator.catalog import SEED_ATTRIBUTE, SimAttribute

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]


def variant(clock: FakeClock, sku: str, variant_name: str, **fields: Any) -> Article:
    values: dict[str, Any] = {
        "name": "Mössa",
        "product_sku": "MOSSA",
        "variant_name": variant_name,
        "currency": "SEK",
        "price": Decimal("149.00"),
        "vat_rate": Decimal("25.00"),
        "modified_at": clock.now(),
    }
    return Article(sku=sku, **(values | fields))


def writes(sim: StarwebSimulator, since: int = 0) -> list[tuple[str, str]]:
    """The writes the shop received since ``since`` (token requests aside)."""
    return [(m, p) for m, p in sim.requests[since:] if m != "GET" and p != "/token"]


def attribute_writes(sim: StarwebSimulator, since: int = 0) -> list[tuple[str, str]]:
    return [(m, p) for m, p in writes(sim, since) if p.startswith("/product-attributes")]


def attribute(sim: StarwebSimulator, name: str) -> SimAttribute:
    (found,) = [a for a in sim.catalog.attributes.values() if a.name == name]
    return found


async def test_a_second_and_third_variant_are_created_with_attribute_values(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        first = await adapter.put_article(
            variant(clock, "MOSSA-BLA", "Färg: Blå"), create=True, update=True
        )
        second = await adapter.put_article(
            variant(clock, "MOSSA-ROD", "Färg: Röd", price=Decimal(159)), create=True, update=True
        )
        # "Färg" is an attribute of the shop now, so "Färg Grön" reads as Färg / Grön
        third = await adapter.put_article(
            variant(clock, "MOSSA-GRON", "färg Grön"), create=True, update=True
        )
        back = await adapter.fetch_article("MOSSA-ROD")
    assert (first, second, third) == ("created", "created", "created")
    product = sim.catalog_product("MOSSA-BLA")
    assert [v.sku for v in product.variants] == ["MOSSA-BLA", "MOSSA-ROD", "MOSSA-GRON"]
    colour = attribute(sim, "Färg")  # created once, then reused (case-insensitive)
    assert list(colour.values.values()) == ["Blå", "Röd", "Grön"]
    # the first variant, created with the product, carries its value as well
    assert [sim.variant(v.sku).attribute_value_id for v in product.variants] == list(colour.values)
    assert sim.price("MOSSA-ROD") == (Decimal(159), None)
    assert back is not None and back.product_sku == "MOSSA"
    assert attribute_writes(sim).count(("POST", "/product-attributes")) == 1


async def test_an_existing_attribute_and_value_are_reused_not_duplicated(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    # the seed's sizes S, M and L are values of the shop's attribute "Storlek"
    sim.add_product("MOSSA-S", "Mössa", price=Decimal(149), product="MOSSA", variant="S")
    size = attribute(sim, SEED_ATTRIBUTE)
    values_before = dict(size.values)
    medium = next(i for i, name in size.values.items() if name == "M")
    async with open_adapter() as adapter:
        written = await adapter.put_article(
            variant(clock, "MOSSA-M", "STORLEK m"), create=True, update=True
        )
        xl_first = await adapter.put_article(
            variant(clock, "MOSSA-XL", "Storlek: XL"), create=True, update=True
        )
        xl_again = await adapter.put_article(
            variant(clock, "TROJA-XL", "storlek xl", name="Tröja", product_sku="TROJA"),
            create=True,
            update=True,
        )
    assert (written, xl_first, xl_again) == ("created", "created", "created")
    assert sim.variant("MOSSA-M").attribute_value_id == medium
    assert len(sim.catalog.attributes) == 1
    assert size.values == values_before | {sim.variant("MOSSA-XL").attribute_value_id: "XL"}
    assert sim.variant("TROJA-XL").attribute_value_id == sim.variant("MOSSA-XL").attribute_value_id
    # one value created (XL), no attribute created
    assert attribute_writes(sim) == [("POST", f"/product-attributes/{size.attribute_id}/values")]


async def test_a_variant_name_that_says_no_attribute_is_refused_naming_the_sku(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    sim.add_product("MOSSA-S", "Mössa", price=Decimal(149), product="MOSSA", variant="S")
    async with open_adapter() as adapter:
        before = len(sim.requests)
        with pytest.raises(PermanentError) as refused:
            await adapter.put_article(
                variant(clock, "MOSSA-EXTRA", "Extra stor mössa"), create=True, update=True
            )
    message = str(refused.value)
    assert message.startswith("SKU MOSSA-EXTRA: it is a further variant of product MOSSA")
    assert "'Extra stor mössa'" in message and "variant_attribute" in message
    assert writes(sim, before) == []
    assert "MOSSA-EXTRA" not in sim.catalog_skus()


async def test_the_configured_attribute_takes_a_name_without_one(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    sim.add_product("MOSSA-S", "Mössa", price=Decimal(149), product="MOSSA", variant="S")
    async with open_adapter(variant_attribute="Variant") as adapter:
        written = await adapter.put_article(
            variant(clock, "MOSSA-EXTRA", "Extra stor mössa"), create=True, update=True
        )
    assert written == "created"
    chosen = attribute(sim, "Variant")
    assert list(chosen.values.values()) == ["Extra stor mössa"]
    assert sim.variant("MOSSA-EXTRA").attribute_value_id == next(iter(chosen.values))


async def test_a_second_put_of_a_created_variant_is_unchanged(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    sim.add_product("MOSSA-S", "Mössa", price=Decimal(149), product="MOSSA", variant="S")
    red = variant(clock, "MOSSA-ROD", "Färg: Röd")
    async with open_adapter() as adapter:
        created = await adapter.put_article(red, create=True, update=True)
    before = len(sim.requests)
    async with open_adapter() as adapter:  # a new adapter: nothing cached
        again = await adapter.put_article(red, create=True, update=True)
    assert (created, again) == ("created", "unchanged")
    assert writes(sim, before) == []
    assert sim.catalog_skus().count("MOSSA-ROD") == 1


@pytest.mark.parametrize(
    ("name", "default", "known", "expected"),
    [
        ("Storlek: M", "", [], ("Storlek", "M")),
        ("Storlek M", "", [], ("Storlek", "M")),
        ("Färg Mörk blå", "", ["färg"], ("Färg", "Mörk blå")),
        ("Mörk blå", "Variant", [], ("Variant", "Mörk blå")),
        ("Storlek M", "Variant", ["Storlek"], ("Storlek", "M")),
        ("M", "", [], None),
        ("Mörk blå jeans", "", [], None),
        (": M", "Variant", [], None),
        ("   ", "Variant", [], None),
    ],
)
def test_the_variant_name_rules(
    name: str, default: str, known: list[str], expected: tuple[str, str] | None
) -> None:
    assert attribute_and_value(name, default, known) == expected
