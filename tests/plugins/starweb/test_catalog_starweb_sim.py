"""The Starweb simulator's catalog as the spec documents it, and its Python control surface.

Spec: the OpenAPI spec in starweb/shop-api-sdk-php (resources/specification/openapi.json).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from starweb_support import Api

from brygga.clock import FakeClock
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio


async def test_a_product_is_created_with_its_variant_and_price(
    sim: StarwebSimulator, api: Api
) -> None:
    # Spec, createProduct: the body is ProductModelUpdatable, whose variants carry prices
    body = {
        "languages": [{"langCode": "sv", "name": "Mössa"}],
        "defaultVatRate": "25",
        "externalId": "MOSSA",
        "variants": [
            {
                "sku": "MOSSA-1",
                "ean": "123",
                "weightInKg": 0.2,
                "prices": [{"pricelistId": 1, "priceExVat": 99.5, "specialPriceExVat": None}],
            }
        ],
    }
    async with api() as client:
        created = await client.post("products", json=body)
        product_id = created.json()["data"]["productId"]
        (variant,) = (
            await client.get(f"products/{product_id}/variants", params={"include": "prices"})
        ).json()["data"]
    assert created.status_code == 201
    assert created.json()["data"]["visibility"] == "hidden"  # the spec's default
    assert created.json()["data"]["externalId"] == "MOSSA"
    assert (variant["sku"], variant["ean"], variant["weightInKg"]) == ("MOSSA-1", "123", 0.2)
    assert variant["prices"]["data"] == [
        {"pricelistId": 1, "priceExVat": 99.5, "specialPriceExVat": None}
    ]
    assert sim.price("MOSSA-1") == (Decimal("99.5"), None)


async def test_a_further_variant_needs_attribute_value_links(
    sim: StarwebSimulator, api: Api
) -> None:
    # Spec, ProductVariantModel.attributeValueLinks: "mandatory for products variants if the
    # product's hasSeveralVariants field is set to true"
    product_id = sim.catalog_product("TE-100").product_id
    async with api() as client:
        refused = await client.post(f"products/{product_id}/variants", json={"sku": "TE-200"})
        linked = await client.post(
            f"products/{product_id}/variants", json={"sku": "TE-200", "attributeValueLinks": [1]}
        )
        two = await client.post(
            "products",
            json={"languages": [], "variants": [{"sku": "A-1"}, {"sku": "A-2"}]},
        )
    assert refused.status_code == 400
    assert "attributeValueLinks" in refused.json()["error_description"]
    assert linked.status_code == 201
    assert two.status_code == 400


async def test_filter_sku_can_match_only_the_primary_variant(
    sim: StarwebSimulator, api: Api
) -> None:
    async with api() as client:
        both = (await client.get("products", params={"filterSku": "TROJA-M"})).json()["data"]
        sim.knobs.filter_sku_matches_variants = False
        primary = (await client.get("products", params={"filterSku": "TROJA-S"})).json()["data"]
        other = (await client.get("products", params={"filterSku": "TROJA-M"})).json()["data"]
    assert [len(both), len(primary), len(other)] == [1, 1, 0]


async def test_languages_shop_and_attribute_values(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    product_id = sim.catalog_product("TROJA-M").product_id
    async with api() as client:
        shop = (await client.get("shop")).json()["data"]
        clock.advance(30)
        renamed = await client.patch(f"products/{product_id}/languages/sv", json={"name": "Tröja!"})
        missing = await client.get(f"products/{product_id}/languages/en")
        variants = (
            await client.get(
                f"products/{product_id}/variants", params={"include": "attributeValues"}
            )
        ).json()["data"]
    assert (shop["defaultLangCode"], shop["baseCurrency"]) == ("sv", "SEK")
    assert renamed.json()["data"]["name"] == "Tröja!"
    assert missing.status_code == 404
    assert sim.catalog_product("TROJA-M").modified_at == clock.now()
    names = [v["attributeValues"]["data"][0]["languages"][0]["name"] for v in variants]
    assert names == ["S", "M", "L"]


def test_the_control_surface_reads_and_sets_the_catalog(
    sim: StarwebSimulator, clock: FakeClock
) -> None:
    clock.advance(60)
    group = sim.add_product(
        "MOSSA-BLA", "Mössa", price=Decimal(99), product="MOSSA", variant="Blå", stock=Decimal(4)
    )
    sim.add_product("MOSSA-ROD", "Mössa", price=Decimal(99), product="MOSSA", variant="Röd")
    sim.set_price("MOSSA-ROD", Decimal(89), Decimal(79))
    sim.set_stock("MOSSA-ROD", Decimal(0))
    assert [v.sku for v in group.variants] == ["MOSSA-BLA", "MOSSA-ROD"]
    assert sim.price("MOSSA-ROD") == (Decimal(89), Decimal(79))
    assert (sim.stock("MOSSA-BLA"), sim.stock("MOSSA-ROD")) == (Decimal(4), Decimal(0))
    assert sim.variant("MOSSA-ROD").stock_status_id == 2  # outOfStock
    assert group.modified_at == clock.now()
    assert sim.stock("KAFFE-500") == Decimal(100)
    with pytest.raises(KeyError):
        sim.set_price("FINNS-EJ", Decimal(1))


async def test_variant_attributes_and_values_are_served_as_the_spec_documents(
    sim: StarwebSimulator, api: Api
) -> None:
    # Spec: POST /product-attributes answers 201 with the attribute; POST
    # /product-attributes/{attributeId}/values answers 200 with the attribute's values
    product_id = sim.catalog_product("TE-100").product_id
    async with api() as client:
        listed = (await client.get("product-attributes", params={"include": "languages"})).json()
        made = await client.post(
            "product-attributes", json={"languages": [{"langCode": "sv", "name": "Vikt"}]}
        )
        attribute_id = made.json()["data"]["attributeId"]
        value = await client.post(
            f"product-attributes/{attribute_id}/values",
            json={"languages": [{"langCode": "sv", "name": "200 g"}]},
        )
        values = (await client.get(f"product-attributes/{attribute_id}/values")).json()["data"]
        dangling = await client.post(
            f"products/{product_id}/variants", json={"sku": "TE-200", "attributeValueLinks": [999]}
        )
    assert [a["languages"]["data"][0]["name"] for a in listed["data"]] == ["Storlek"]
    assert made.status_code == 201
    assert made.json()["data"]["languages"]["data"] == [{"langCode": "sv", "name": "Vikt"}]
    assert value.status_code == 200
    assert [v["languages"][0]["name"] for v in value.json()["data"]] == ["200 g"]
    assert value.json()["data"] == values
    assert dangling.status_code == 400
