"""Every mode end to end on the Starweb and e-conomic simulators, with two Starweb shops ("se",
"no") and one e-conomic: ``erp`` (the ERP's products, prices and stock reach both shops while
both shops' orders reach the ERP once each), ``ecom`` (a shop's products become e-conomic
articles, one per variant SKU) and ``combo`` (products from the shop, prices from the ERP, no
echo: further polls write nothing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brygga.clock import FakeClock
from brygga.store import ItemState
from brygga.sync.flow import Flow
from brygga.sync.references import document_reference
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio

SHOPS = ("se", "no")
#: e-conomic product groups for new products per VAT rate (seeded groups of the simulator)
GROUPS = {"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}
ORDER_SHOPS = {
    "se": {"number_prefix": "SE-", "customer_group": 1},
    "no": {"number_prefix": "NO-", "customer_group": 3},
}


@asynccontextmanager
async def _opened(tmp_path: Path, mode: str, **options: Any) -> AsyncIterator[SimulatedConnection]:
    """Two shops and e-conomic (with its inventory module) on one fake clock."""
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    async with SimulatedConnection.open(
        tmp_path,
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"inventory_module": True, "clock": clock},
        erp_config=GROUPS,
        catalog=True,
        shops=SHOPS,
        connection={"mode": mode},
        orders={"shops": ORDER_SHOPS},
        **options,
    ) as env:
        yield env


async def _cycle(env: SimulatedConnection, flow: Flow) -> list[ItemState]:
    """A second on: every feed of every system polled once, then every due item run."""
    assert isinstance(env.clock, FakeClock)
    env.clock.advance(1)
    for discoverer in flow.discoverers:
        for instance in discoverer.instances:
            await flow.poll(discoverer, instance)
    states: list[ItemState] = []
    for register in flow.engine.handlers:
        states += await env.drain(flow, register)
    return states


async def _failures(env: SimulatedConnection) -> list[str]:
    failed = await env.store.items.query(states=[ItemState.FAILED])
    return [f"{i.register} {i.instance} {i.external_id}: {i.last_error}" for i in failed]


def _writes(env: SimulatedConnection) -> int:
    """Requests that change something, on the ERP and on every shop (token requests aside)."""
    logs = [env.erp.requests, *(shop.requests for shop in env.shops.values())]
    return sum(
        1
        for log in logs
        for method, path in log
        if method in {"POST", "PUT", "PATCH", "DELETE"} and "token" not in path
    )


async def test_erp_mode_catalog_reaches_both_shops_and_both_shops_orders_reach_the_erp_once(
    tmp_path: Path,
) -> None:
    async with _opened(tmp_path, "erp") as env:
        se, no = env.shops["se"], env.shops["no"]
        flow = env.flow()
        await _cycle(env, flow)
        assert await _failures(env) == []
        # the ERP changes a price and a stock level and adds an article
        env.erp.set_price("KAFFE-500", Decimal("123.00"))
        env.erp.set_stock("KAFFE-500", Decimal(42))
        env.erp.add_article("NYHET-1", "Nyhet", Decimal("50.00"), Decimal(25))
        env.erp.set_stock("NYHET-1", Decimal(7))
        await _cycle(env, flow)
        await _cycle(env, flow)  # the stock of an article the shop got in the same pass
        assert await _failures(env) == []
        for shop in (se, no):
            price = shop.price("KAFFE-500")
            assert price is not None and price[0] == Decimal("123.00")
            assert shop.stock("KAFFE-500") == Decimal(42)
            new = shop.price("NYHET-1")
            assert new is not None and new[0] == Decimal("50.00")
            assert shop.stock("NYHET-1") == Decimal(7)
        # an order in each shop, both numbered alike by their shops
        se_id = se.place_order(lines=[("KAFFE-500", 1)], email="anna@example.se")
        no_id = no.place_order(lines=[("NYHET-1", 2)], email="ola@example.no")
        assert se_id == no_id
        await _cycle(env, flow)
        await _cycle(env, flow)
        assert await _failures(env) == []
        bodies = {d.body["references"]["other"]: d.body for d in env.erp.docs.all()}
        se_ref = document_reference("demo", "se", se_id)
        no_ref = document_reference("demo", "no", no_id)
        assert set(bodies) == {se_ref, no_ref}
        assert bodies[se_ref]["notes"]["heading"] == f"Order SE-{se_id}"
        assert bodies[no_ref]["notes"]["heading"] == f"Order NO-{no_id}"
        groups = {
            c["email"]: c["customerGroup"]["customerGroupNumber"] for c in env.erp.customers()
        }
        assert groups == {"anna@example.se": 1, "ola@example.no": 3}
        # more polls: each order stays one document, written back to its own shop
        await _cycle(env, flow)
        assert len(env.erp.documents_with_reference(se_ref)) == 1
        assert len(env.erp.documents_with_reference(no_ref)) == 1
        assert se.exported_document(se_id) and no.exported_document(no_id)
        assert se.exported_document(se_id) != no.exported_document(no_id)


async def test_ecom_mode_a_shop_product_with_variants_becomes_one_article_per_variant_sku(
    tmp_path: Path,
) -> None:
    async with _opened(tmp_path, "ecom") as env:
        shop = env.shop
        flow = env.flow()
        await _cycle(env, flow)
        assert await _failures(env) == []
        # a product with two variants, and a plain product, created in the shop
        shop.add_product(
            "TSHIRT-S", "T-shirt", price=Decimal("199.00"), product="TSHIRT", variant="S"
        )
        shop.add_product(
            "TSHIRT-M", "T-shirt", price=Decimal("209.00"), product="TSHIRT", variant="M"
        )
        shop.add_product("MUGG-1", "Mugg", price=Decimal("89.00"), vat_rate=Decimal(25))
        await _cycle(env, flow)
        assert await _failures(env) == []
        # e-conomic has no variant structure: one product per variant SKU, each with its own
        # price; none for the grouping product itself
        small, medium, mug = (env.erp.product(s) for s in ("TSHIRT-S", "TSHIRT-M", "MUGG-1"))
        assert small is not None and medium is not None and mug is not None
        assert (Decimal(small["salesPrice"]), Decimal(medium["salesPrice"])) == (
            Decimal("199.00"),
            Decimal("209.00"),
        )
        assert Decimal(mug["salesPrice"]) == Decimal("89.00")
        assert env.erp.product("TSHIRT") is None
        # a price change in the shop reaches the article; e-conomic's echo is not sent back
        shop.set_price("TSHIRT-M", Decimal("219.00"))
        before = _writes(env)
        await _cycle(env, flow)
        medium = env.erp.product("TSHIRT-M")
        assert medium is not None and Decimal(medium["salesPrice"]) == Decimal("219.00")
        assert _writes(env) == before + 1  # the one PUT of TSHIRT-M, in e-conomic only
        before = _writes(env)
        for _ in range(3):
            await _cycle(env, flow)
        assert _writes(env) == before
        assert await _failures(env) == []


async def test_combo_mode_products_from_the_shop_prices_from_the_erp_and_no_echo_loop(
    tmp_path: Path,
) -> None:
    async with _opened(tmp_path, "combo") as env:
        se, no = env.shops["se"], env.shops["no"]
        flow = env.flow()
        await _cycle(env, flow)
        # e-conomic's fee articles (freight, rounding, ...) are in no shop: their prices are
        # skipped, not error records (this failed before the prices handler learnt it)
        assert await _failures(env) == []
        # a new product in the Swedish shop becomes an e-conomic article
        se.add_product("NYHET-2", "Ny kopp", price=Decimal("59.00"), vat_rate=Decimal(25))
        await _cycle(env, flow)
        await _cycle(env, flow)  # the new article's stock, mastered by the ERP: none yet
        assert await _failures(env) == []
        assert env.erp.product("NYHET-2") is not None
        assert se.stock("NYHET-2") == Decimal(0)
        # e-conomic got it without a price (prices are the ERP's), so the shop keeps its own
        assert se.price("NYHET-2") == (Decimal("59.00"), None)
        # the ERP's price reaches both shops (prices are the ERP's in combo)
        env.erp.set_price("KAFFE-500", Decimal("111.00"))
        before = _writes(env)
        await _cycle(env, flow)
        assert await _failures(env) == []
        assert _writes(env) == before + 2  # one price write per shop, none back to e-conomic
        for shop in (se, no):
            price = shop.price("KAFFE-500")
            assert price is not None and price[0] == Decimal("111.00")
        # nothing changes any more: several polls write nothing anywhere (no echo loop
        # between the shop's products and the ERP's prices)
        await _cycle(env, flow)
        before = _writes(env)
        for _ in range(4):
            await _cycle(env, flow)
        assert _writes(env) == before
        assert await _failures(env) == []
