"""Specter's catalog end to end on the Specter and Starweb simulators (the real flows):
a stock change announced by the (polled) stock-change log, a price-list price and a variant's
price with its campaign price reach the shop (reference/erp-apis.md §3.2 stock callbacks [S2],
§3.3 price lists and prices excl. VAT [S6]; DESIGN §1: Specter has price lists and variants)."""

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


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@asynccontextmanager
async def _opened(tmp_path: Path, registers: dict[str, str]) -> AsyncIterator[SimulatedConnection]:
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    async with SimulatedConnection.open(
        tmp_path,
        erp_kind="specter",
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"clock": clock},
        catalog=True,
        connection={"registers": registers},
        catalog_config={"shops": {"se": {"price_lists": {"B2B": "2"}}}},
    ) as env:
        yield env


async def _run(env: SimulatedConnection, flow: Flow, register: str) -> list[ItemState]:
    assert isinstance(env.clock, FakeClock)
    env.clock.advance(1)
    for discoverer in flow.discoverers:
        if discoverer.register == register:
            for instance in discoverer.instances:
                await flow.poll(discoverer, instance)
    return await env.drain(flow, register)


OFF = {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"}


def _only(*registers: str) -> dict[str, Any]:
    return {**OFF, **dict.fromkeys(registers, "erp")}


async def test_a_stock_change_reaches_the_shop(tmp_path: Path) -> None:
    async with _opened(tmp_path, _only("stock")) as env:
        flow = env.flow()
        await _run(env, flow, "stock")
        env.clock.advance(5)  # type: ignore[attr-defined]
        env.erp.set_stock("KAFFE-500", Decimal(42))
        states = await _run(env, flow, "stock")
        assert env.shop.stock("KAFFE-500") == Decimal(42)
        assert ItemState.FAILED not in states


async def test_a_price_list_price_reaches_the_shops_list(tmp_path: Path) -> None:
    async with _opened(tmp_path, _only("price_lists")) as env:
        flow = env.flow()
        env.clock.advance(5)  # type: ignore[attr-defined]
        env.erp.set_list_price("MUGG-VIT", "B2B", Decimal("95.00"))
        states = await _run(env, flow, "price_lists")
        assert ItemState.DONE in states and ItemState.FAILED not in states
        assert env.shop.price("MUGG-VIT", pricelist_id=2)[0] == Decimal("95.00")


async def test_a_variants_price_and_campaign_price_reach_the_shop(tmp_path: Path) -> None:
    async with _opened(tmp_path, _only("prices")) as env:
        flow = env.flow()
        env.clock.advance(5)  # type: ignore[attr-defined]
        env.erp.set_price("TROJA-M", Decimal("249.00"), Decimal("199.00"))
        states = await _run(env, flow, "prices")
        assert ItemState.FAILED not in states, states
        assert env.shop.price("TROJA-M") == (Decimal("249.00"), Decimal("199.00"))
