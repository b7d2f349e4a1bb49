"""Exactly-once on Specter through the real orders flow ([1/9], tests/sync/test_exactly_once.py):
a write whose outcome is unknown is never repeated before a lookup by ExternalOrderNo can see
it (reference/erp-apis.md §3.4: the external order number is the natural dedupe key, and
whether Specter refuses duplicates is unknown, so the lookup alone must prevent them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brygga.clock import FakeClock
from brygga.store import ItemState
from brygga.sync.orders import DOUBT_RECHECK, OrdersFlow
from brygga.testing import Fault, SimulatedConnection

pytestmark = pytest.mark.anyio

KIND = "specter"
CREATE_PATH = r"^/invoices$"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    clock = FakeClock(datetime.now(UTC) + timedelta(seconds=5))
    async with SimulatedConnection.open(
        tmp_path, erp_kind=KIND, shop_options={"seed": 3}, clock=clock
    ) as opened:
        yield opened


async def _one_order(env: SimulatedConnection, flow: OrdersFlow) -> str:
    oid = env.shop.place_order(lines=[("KAFFE-500", 2)], email="kund@example.se")
    assert await flow.poll_once("se") == 1
    return str(oid)


async def _step(flow: OrdersFlow) -> ItemState:
    item = await flow.claim()
    assert item is not None, "nothing was due"
    return await flow.process(item)


async def test_a_write_that_lands_after_the_timeout_makes_one_document(
    env: SimulatedConnection,
) -> None:
    clock = env.clock
    assert isinstance(clock, FakeClock)
    flow = env.flow()
    oid = await _one_order(env, flow)
    env.erp.faults.add(Fault("late_commit", methods=frozenset({"POST"}), path=CREATE_PATH, times=1))
    assert await _step(flow) is ItemState.RECONCILE
    assert env.erp.faults.held == 1 and env.copies(oid) == 0
    clock.advance(DOUBT_RECHECK)
    assert await _step(flow) is ItemState.RECONCILE  # looked up, nothing yet, nothing sent
    assert env.copies(oid) == 0
    await env.erp.faults.land_held()
    clock.advance(DOUBT_RECHECK)
    assert await _step(flow) is ItemState.DONE
    assert env.copies(oid) == 1


async def test_a_crash_right_after_the_create_makes_one_document(
    env: SimulatedConnection,
) -> None:
    first = env.flow("run-1")
    oid = await _one_order(env, first)
    await env.crash_after_create(first)
    assert env.copies(oid) == 1
    second = env.flow("run-2")
    clock = env.clock
    assert isinstance(clock, FakeClock)
    await env.store.items.recover(
        connection="demo", run_id="run-2", now=clock.now(), settle=second.settle
    )
    assert await env.drain(second) == [ItemState.DONE]
    assert env.copies(oid) == 1
    events = await env.store.events.for_record("demo", "orders", "se", oid)
    assert "reconciled" in [e.kind for e in events]


async def test_each_shops_documents_carry_its_webshop_id(tmp_path: Path) -> None:
    """Multishop (reference/erp-apis.md §3.1: v2 is required for Specter multishop [S4])."""
    async with SimulatedConnection.open(
        tmp_path,
        erp_kind=KIND,
        shops=("se", "no"),
        shop_options={"seed": 3},
        erp_config={"webshop_ids": {"se": "11", "no": "12"}},
    ) as env:
        flow = env.flow()
        ids = {
            name: str(shop.place_order(lines=[("KAFFE-500", 1)], email=f"k@{name}.example"))
            for name, shop in env.shops.items()
        }
        for name in ids:
            assert await flow.poll_once(name) == 1
        await env.drain(flow)
        for name, oid in ids.items():
            reference = f"brygga:demo:{name}:{oid}"
            (stored,) = env.erp.stored(reference)
            assert stored.data["WebshopId"] == {"se": "11", "no": "12"}[name]
