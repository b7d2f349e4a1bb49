"""e-conomic as a product and price target: create, update only what differs, refuse clearly.

Documented rules followed (e-conomic/slate ``source/includes/_products.md`` and
``_introduction.md``; reference/erp-apis.md §1.3, §1.6): POST ``/products`` creates and needs
``productNumber`` (string, 1-25 characters), ``name`` and ``productGroup``; PUT
``/products/{productNumber}`` overwrites "the full object and must include the full entity";
no PATCH; ``salesPrice`` is a number with at most two decimals; false booleans are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from brygga.catalog import Article
from brygga.errors import ConfigError, PermanentError
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

AT = datetime(2026, 1, 1, tzinfo=UTC)


def article(sku: str, **fields: Any) -> Article:
    base: dict[str, Any] = {
        "sku": sku,
        "name": f"Artikel {sku}",
        "currency": "SEK",
        "price": Decimal("100.00"),
        "vat_rate": Decimal("25"),
        "modified_at": AT,
    }
    return Article(**(base | fields))


def writes(sim: EconomicSimulator) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sim.requests if m in ("POST", "PUT", "DELETE")]


async def test_create_goes_to_the_configured_product_group(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    new = article("NY-1", price=Decimal("79.2"), ean="7310000000024")
    async with open_adapter(product_group=1) as adapter:
        assert await adapter.put_article(new, create=True, update=True) == "created"
        assert await adapter.put_article(new, create=True, update=True) == "unchanged"
    stored = sim.product("NY-1")
    assert stored is not None
    assert stored["productGroup"]["productGroupNumber"] == 1
    assert stored["salesPrice"] == Decimal("79.20")
    assert stored["barCode"] == "7310000000024"
    assert "barred" not in stored
    assert writes(sim) == [("POST", "/products")]  # the second put wrote nothing


async def test_create_picks_the_group_of_the_vat_rate(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(product_group=1, product_groups={"12": 2, "6": 3}) as adapter:
        await adapter.put_article(
            article("MAT-1", vat_rate=Decimal("12")), create=True, update=True
        )
        await adapter.put_article(article("SAK-1"), create=True, update=True)
    assert sim.state.products["MAT-1"]["productGroup"]["productGroupNumber"] == 2
    assert sim.state.products["SAK-1"]["productGroup"]["productGroupNumber"] == 1


async def test_create_without_a_product_group_is_a_config_error(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(ConfigError, match=r"'NY-2'.*product_group = <number>"):
            await adapter.put_article(article("NY-2"), create=True, update=True)
    assert writes(sim) == []


async def test_create_refuses_a_group_with_another_vat_rate(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(product_group=1) as adapter:
        with pytest.raises(PermanentError, match=r"'MAT-2' has 12 % VAT but product group 1"):
            await adapter.put_article(
                article("MAT-2", vat_rate=Decimal("12")), create=True, update=True
            )
    assert writes(sim) == []


async def test_update_writes_only_what_differs_and_echoes_the_rest(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    sim.set_product("MUGG-VIT", description="Porslin", unit={"unitNumber": 1})
    changed = article("MUGG-VIT", name="Mugg vit 30 cl", price=Decimal("119.20"), active=False)
    async with open_adapter() as adapter:  # no product group needed to update
        assert await adapter.put_article(changed, create=False, update=True) == "updated"
        assert await adapter.put_article(changed, create=False, update=True) == "unchanged"
    stored = sim.state.products["MUGG-VIT"]
    assert stored["name"] == "Mugg vit 30 cl"
    assert stored["barred"] is True
    # PUT replaces the whole product: what brygga does not manage survives
    assert stored["description"] == "Porslin" and stored["unit"] == {"unitNumber": 1}
    assert writes(sim) == [("PUT", "/products/MUGG-VIT")]


async def test_equal_product_costs_no_write(sim: EconomicSimulator, open_adapter: Any) -> None:
    same = article("KAFFE-500", name="Kaffe mellanrost 500 g", price=Decimal("89"))
    async with open_adapter() as adapter:
        assert await adapter.put_article(same, create=True, update=True) == "unchanged"
        # a price e-conomic would round to the same two decimals is the same price
        nearly = article("KAFFE-500", name="Kaffe mellanrost 500 g", price=Decimal("89.0049"))
        assert await adapter.put_article(nearly, create=True, update=True) == "unchanged"
    assert writes(sim) == []


async def test_switches_off_skip(sim: EconomicSimulator, open_adapter: Any) -> None:
    async with open_adapter(product_group=1) as adapter:
        assert await adapter.put_article(article("NY-3"), create=False, update=True) == "skipped"
        other = article("KAFFE-500", name="Annat namn")
        assert await adapter.put_article(other, create=True, update=False) == "skipped"
    assert writes(sim) == []
    assert "NY-3" not in sim.state.products


async def test_update_refuses_a_vat_rate_the_product_group_lacks(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"'TE-100' has 25 % VAT but .* group 2 with 12"):
            await adapter.put_article(article("TE-100"), create=True, update=True)
    assert writes(sim) == []


async def test_too_long_product_number_names_the_sku_and_the_fix(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    sku = "TROJA-EXTRA-LANG-ARTIKEL-XL"  # 27 characters; e-conomic takes 1-25
    async with open_adapter(product_group=1) as adapter:
        with pytest.raises(PermanentError) as caught:
            await adapter.put_article(article(sku), create=True, update=True)
        with pytest.raises(PermanentError, match=sku):
            await adapter.put_price(sku, "SEK", Decimal(1), None)
    message = str(caught.value)
    assert sku in message and "at most 25" in message and "shorten the SKU" in message
    assert sim.requests == []  # refused before asking e-conomic


async def test_a_nameless_article_is_refused_by_name(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(product_group=1) as adapter:
        with pytest.raises(PermanentError, match=r"'NY-4' has no name"):
            await adapter.put_article(article("NY-4", name="  "), create=True, update=True)


async def test_price_in_another_currency_is_refused(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(product_group=1) as adapter:
        with pytest.raises(PermanentError, match=r"'NY-5'.*EUR.*base currency SEK"):
            await adapter.put_article(article("NY-5", currency="EUR"), create=True, update=True)
        with pytest.raises(PermanentError, match=r"'TE-100'.*EUR"):
            await adapter.put_price("TE-100", "EUR", Decimal("4.00"), None)
    assert writes(sim) == []


async def test_put_price_sets_the_sales_price_only(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        assert await adapter.put_price("TE-100", "SEK", Decimal("47.5"), None) == "updated"
        assert await adapter.put_price("TE-100", "SEK", Decimal("47.50"), None) == "unchanged"
        # e-conomic products have no campaign price: nothing else is written for one
        assert await adapter.put_price("TE-100", "SEK", Decimal("47.50"), Decimal(40)) == (
            "unchanged"
        )
    stored = sim.state.products["TE-100"]
    assert stored["salesPrice"] == Decimal("47.50")
    assert Decimal(40) not in stored.values()
    assert writes(sim) == [("PUT", "/products/TE-100")]


async def test_put_price_of_unknown_article_names_it(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"'FINNS-INTE' does not exist in e-conomic"):
            await adapter.put_price("FINNS-INTE", "SEK", Decimal(10), None)
    assert writes(sim) == []


async def test_a_product_groups_key_that_is_no_vat_rate_is_a_config_error(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(product_groups={"moms": 1}) as adapter:
        with pytest.raises(ConfigError, match=r"product_groups: 'moms' is not a VAT rate"):
            await adapter.put_article(article("NY-6"), create=True, update=True)
    assert writes(sim) == []
