"""The stock register end to end on the e-conomic and Starweb simulators: an ERP stock change
reaches the shop, every shop of a two-shop connection gets it, and an order in flight is
taken off."""

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
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio
#: stock alone: products from e-conomic would also create its fee articles in the shop
STOCK_ONLY = {"registers": {"products": "off", "prices": "off", "price_lists": "off"}}


@asynccontextmanager
async def _opened(tmp_path: Path, **options: Any) -> AsyncIterator[SimulatedConnection]:
    """Both simulators and the flow on one fake clock (rate-limit waits move it, no sleeps)."""
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    async with SimulatedConnection.open(
        tmp_path,
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"inventory_module": True, "clock": clock},
        catalog=True,
        **{"connection": STOCK_ONLY, **options},
    ) as env:
        yield env


async def _push_stock(env: SimulatedConnection, flow: Flow) -> list[ItemState]:
    """A second on, poll the ERP's stock feed once and run every stock item."""
    assert isinstance(env.clock, FakeClock)
    env.clock.advance(1)
    for discoverer in flow.discoverers:
        if discoverer.register == "stock":
            for instance in discoverer.instances:
                await flow.poll(discoverer, instance)
    return await env.drain(flow, "stock")


async def test_an_erp_stock_change_reaches_the_shop(tmp_path: Path) -> None:
    async with _opened(tmp_path) as env:
        env.erp.set_stock("KAFFE-500", Decimal(42))
        flow = env.flow()
        states = await _push_stock(env, flow)
        assert env.shop.stock("KAFFE-500") == Decimal(42)
        # e-conomic's fee articles are in no shop: skipped, not error records
        assert ItemState.DONE in states and ItemState.FAILED not in states
        env.erp.set_stock("KAFFE-500", Decimal(41))
        await _push_stock(env, flow)
        assert env.shop.stock("KAFFE-500") == Decimal(41)


async def test_a_two_shop_connection_gets_stock_in_both_shops_less_an_order_in_flight(
    tmp_path: Path,
) -> None:
    async with _opened(
        tmp_path, shops=("se", "no"), catalog_config={"shops": {"no": {"stock_buffer": 1}}}
    ) as env:
        se, no = env.shops["se"], env.shops["no"]
        flow = env.flow()
        env.erp.set_stock("KAFFE-500", Decimal(20))
        await _push_stock(env, flow)
        assert (se.stock("KAFFE-500"), no.stock("KAFFE-500")) == (Decimal(20), Decimal(19))
        # an order in the Norwegian shop, received and not yet in the ERP, holds 3 for both
        no.place_order(lines=[("KAFFE-500", 3)], email="kunde@example.no")
        env.clock.advance(1)  # type: ignore[attr-defined]
        await flow.poll_once("no")
        env.erp.set_stock("KAFFE-500", Decimal(30))  # a delivery arrives in the ERP
        await _push_stock(env, flow)
        assert (se.stock("KAFFE-500"), no.stock("KAFFE-500")) == (Decimal(27), Decimal(26))


async def test_erp_mode_a_price_change_in_e_conomic_reaches_the_shop_once(
    tmp_path: Path,
) -> None:
    products_only = {"registers": {"stock": "off", "price_lists": "off"}}
    async with _opened(tmp_path, connection=products_only) as env:
        flow = env.flow()
        assert {d.register for d in flow.discoverers} == {"orders", "products"}
        env.erp.set_price("KAFFE-500", Decimal("123.00"))
        assert isinstance(env.clock, FakeClock)
        env.clock.advance(1)
        await flow.poll_once("economic")
        states = await env.drain(flow, "products")
        assert ItemState.FAILED not in states, [
            i.last_error for i in await env.store.items.query(states=[ItemState.FAILED])
        ]
        price = env.shop.price("KAFFE-500")
        assert price is not None and price[0] == Decimal(123)
        # the same poll again: nothing newer, nothing queued, nothing written
        env.clock.advance(1)
        assert await flow.poll_once("economic") == 0
