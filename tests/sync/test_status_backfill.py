"""Orders transferred before the status register first ran are watched from then on: what
happens to them afterwards reaches the shop, what happened before does not (no old status, no
late capture), and orders older than the watch period are left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from brygga.models import OrderEvent
from brygga.store import ItemState
from brygga.store.db import to_ts
from brygga.sync.flow import Flow
from brygga.sync.status import STATUS, WATCH
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio

RULES: dict[str, Any] = {
    "transferred": {"shop_status": "picking"},
    "invoiced": {"shop_status": "completed", "email": True, "capture": True},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}, status=RULES) as opened:
        yield opened


async def _transferred_before_status(env: SimulatedConnection, flow: Flow, count: int) -> list[str]:
    """Orders transferred by a version without the status register: bound, never watched."""
    skus = env.shop.catalog_skus()
    ids = [
        env.shop.place_order(lines=[(skus[0], 1)], email=f"kund{n}@example.se")
        for n in range(count)
    ]
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE] * count
    await env.store.db.execute("DELETE FROM work_items WHERE register = ?", (WATCH,))
    return ids


async def _startup(flow: Flow) -> int:
    return sum([await step() for _, step in flow.startup])


async def _round(env: SimulatedConnection, flow: Flow) -> None:
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z'"
        " WHERE register = ? AND state = 'waiting'",
        (WATCH,),
    )
    await flow.engine.drain(WATCH, batch=50)
    await env.drain(flow, STATUS)


async def test_earlier_orders_are_watched_from_now_on_only(env: SimulatedConnection) -> None:
    flow = env.flow()
    old, booked_before, later = await _transferred_before_status(env, flow, 3)
    # one was transferred longer ago than the watch period (60 days by default)
    await env.store.db.execute(
        "UPDATE bindings SET created_at = ? WHERE source_id = ?",
        (to_ts(env.clock.now() - timedelta(days=61)), old),
    )
    env.erp.order_event(env.reference(booked_before), OrderEvent.INVOICED)

    assert await _startup(flow) == 2
    assert await _startup(flow) == 0  # once per connection
    await _round(env, flow)
    # the first look is a baseline: no "picking", no late "completed", no capture
    assert env.shop.status_changes(booked_before) == []
    assert env.shop.status_changes(later) == []
    history = await env.store.events.for_record(env.connection, WATCH, env.shop_name, booked_before)
    assert any("already transferred, invoiced" in e.message for e in history), history

    env.erp.order_event(env.reference(later), OrderEvent.INVOICED)
    await _round(env, flow)
    assert env.shop.order_status(later) == "completed"
    (change,) = env.shop.status_changes(later)
    assert change.payment_action == "captured"
    assert env.shop.status_changes(booked_before) == []
    assert [
        i for i in await env.store.items.query() if i.external_id == old and i.register == WATCH
    ] == []


async def test_a_late_watch_ages_from_the_transfer(env: SimulatedConnection) -> None:
    flow = env.flow()
    (order,) = await _transferred_before_status(env, flow, 1)
    await env.store.db.execute(
        "UPDATE bindings SET created_at = ? WHERE source_id = ?",
        (to_ts(env.clock.now() - timedelta(days=20)), order),
    )
    assert await _startup(flow) == 1
    await _round(env, flow)
    item = await env.item(order, WATCH)
    # twenty days old: looked at again in an hour (the longest wait), not at the next poll
    assert item.next_attempt - env.clock.now() > timedelta(minutes=59)
