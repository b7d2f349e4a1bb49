"""Hogia Smart's catalog end to end on the Hogia and Starweb simulators (the real flows): a POS
sale reaches the shop only after it has landed in the lagging API database, and an ordinary
and campaign price reach the shop (reference/erp-apis.md §4.1 [H1]: the shop is updated only
when the new data lies in the API database; new stock levels go to the shop after POS sales;
§4 / DESIGN §1: ordinary and campaign price only)."""

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

LAG = 30.0
OFF = {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@asynccontextmanager
async def _opened(tmp_path: Path, *registers: str) -> AsyncIterator[SimulatedConnection]:
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    connection: dict[str, Any] = {"registers": {**OFF, **dict.fromkeys(registers, "erp")}}
    async with SimulatedConnection.open(
        tmp_path,
        erp_kind="hogia",
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"clock": clock, "lag": LAG},
        catalog=True,
        connection=connection,
    ) as env:
        yield env


async def _run(env: SimulatedConnection, flow: Flow, register: str, seconds: float) -> list[Any]:
    assert isinstance(env.clock, FakeClock)
    env.clock.advance(seconds)
    for discoverer in flow.discoverers:
        if discoverer.register == register:
            for instance in discoverer.instances:
                await flow.poll(discoverer, instance)
    return await env.drain(flow, register)


async def test_a_pos_sale_reaches_the_shop_after_the_lag(tmp_path: Path) -> None:
    async with _opened(tmp_path, "stock") as env:
        flow = env.flow()
        await _run(env, flow, "stock", LAG + 1)  # the seeded catalog has landed
        env.erp.set_stock("KAFFE-500", Decimal(17))  # a sale in Hogia's POS
        await _run(env, flow, "stock", 1)
        assert env.shop.stock("KAFFE-500") != Decimal(17), "seen before it landed"
        states = await _run(env, flow, "stock", LAG)
        assert env.shop.stock("KAFFE-500") == Decimal(17)
        assert ItemState.FAILED not in states


async def test_the_ordinary_and_campaign_price_reach_the_shop(tmp_path: Path) -> None:
    async with _opened(tmp_path, "prices") as env:
        flow = env.flow()
        await _run(env, flow, "prices", LAG + 1)
        env.erp.set_price("TE-100", Decimal("49.00"), Decimal("39.00"))
        states = await _run(env, flow, "prices", LAG + 1)
        assert ItemState.FAILED not in states, states
        assert env.shop.price("TE-100") == (Decimal("49.00"), Decimal("39.00"))
