"""The Starweb simulator answers ``filterSku`` from a SKU index that follows every change.

Spec: ``GET /products`` ``filterSku`` (pattern ``[A-Za-z0-9._-]+``), reference/shop-apis.md
§2.5; whether it matches other variants than the primary is a knob (the spec is silent).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from starweb_support import Api

from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio


async def _found(client: object, sku: str) -> list[int]:
    response = await client.get("products", params={"filterSku": sku})  # type: ignore[attr-defined]
    assert response.status_code == 200
    return [row["productId"] for row in response.json()["data"]]


async def test_filter_sku_follows_a_rename_through_the_api(sim: StarwebSimulator, api: Api) -> None:
    product = sim.catalog_product("TE-100")
    variant = sim.variant("TE-100")
    async with api() as client:
        assert await _found(client, "TE-100") == [product.product_id]
        path = f"products/{product.product_id}/variants/{variant.variant_id}"
        assert (await client.patch(path, json={"sku": "TE-101"})).status_code == 200
        assert await _found(client, "TE-100") == []
        assert await _found(client, "TE-101") == [product.product_id]
        # the old SKU is free again: a new product may take it
        created = await client.post(
            "products",
            json={"languages": [{"langCode": "sv", "name": "Te"}], "variants": [{"sku": "TE-100"}]},
        )
        assert created.status_code == 201
        assert await _found(client, "TE-100") == [created.json()["data"]["productId"]]


async def test_filter_sku_sees_admin_edits_and_deletions(sim: StarwebSimulator, api: Api) -> None:
    sim.add_product("NY-1", "Ny", price=Decimal(10))
    async with api() as client:
        new = await _found(client, "NY-1")
        sim.variant("NY-1").sku = "NY-2"  # edited in admin, behind the API's back
        assert await _found(client, "NY-1") == []
        assert await _found(client, "NY-2") == new
        del sim.catalog.products[new[0]]
        assert await _found(client, "NY-2") == []


async def test_filter_sku_on_a_further_variant_follows_the_knob(
    sim: StarwebSimulator, api: Api
) -> None:
    troja = sim.catalog_product("TROJA-M").product_id
    async with api() as client:
        assert await _found(client, "TROJA-M") == [troja]
        sim.knobs.filter_sku_matches_variants = False
        assert await _found(client, "TROJA-M") == []
        assert await _found(client, "TROJA-S") == [troja]  # the primary variant
