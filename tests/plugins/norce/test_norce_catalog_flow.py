"""Stock and prices from e-conomic to Norce through the real registers (import jobs, §4.4)."""

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

STOCK_ONLY = {"registers": {"products": "off", "prices": "off", "price_lists": "off"}}
PRICES_ONLY = {"registers": {"products": "off", "stock": "off", "price_lists": "off"}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def _opened(tmp_path: Path, registers: dict[str, Any]) -> AsyncIterator[SimulatedConnection]:
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    async with SimulatedConnection.open(
        tmp_path,
        shop_kind="norce",
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"inventory_module": True, "clock": clock},
        shop_config={"job_poll_interval": 0.5},
        catalog=True,
        connection=registers,
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


async def _failures(env: SimulatedConnection) -> list[str]:
    return [i.last_error for i in await env.store.items.query(states=[ItemState.FAILED])]


async def test_an_erp_stock_change_reaches_norce_as_one_job(tmp_path: Path) -> None:
    async with _opened(tmp_path, STOCK_ONLY) as env:
        env.erp.set_stock("KAFFE-500", Decimal(42))
        flow = env.flow()
        await _run(env, flow, "stock")
        assert env.shop.stock("KAFFE-500") == Decimal(42)
        jobs = [j for j in env.shop.jobs("onhands") if j.rows[0]["PartNo"] == "KAFFE-500"]
        assert len(jobs) == 1 and jobs[0].header["FullFile"] is False
        # e-conomic articles Norce does not have are error records naming SKU and fix
        for error in await _failures(env):
            assert "Norce has no SKU" in error, error


async def test_an_erp_price_change_reaches_norce(tmp_path: Path) -> None:
    async with _opened(tmp_path, PRICES_ONLY) as env:
        flow = env.flow()
        assert {d.register for d in flow.discoverers} == {"orders", "prices"}
        env.erp.set_price("KAFFE-500", Decimal("123.00"))
        await _run(env, flow, "prices")
        assert env.shop.price("KAFFE-500") == (Decimal("123.0000"), True)
        assert env.shop.price("TE-100") == (Decimal("45.00"), True)  # untouched, still active
