"""A connection restarted inside one daemon process reconciles what its last run left in flight.

The supervisor restarts a connection after a failure or a reload; its cancelled workers may
leave an order SENDING. Each start of a connection has its own run id, so the new start
recovers those items (before, the run id was the process's, and such an order stayed SENDING
until the whole daemon restarted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import pytest

from brygga.clock import SystemClock
from brygga.runtime.actor import ActorDeps, run_connection
from brygga.store import ItemState, WorkItem
from brygga.testing import Fault, SimulatedConnection

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


class ShiftedClock(SystemClock):
    """Real time (sleeps and rate limits behave as in the daemon), but the wall clock can be
    moved ahead, to pass a settle period without waiting for it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return super().now() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


async def _true(value: bool) -> bool:
    return value


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    with anyio.fail_after(seconds):
        while not await check():  # noqa: ASYNC110  (the store has no change notification)
            await anyio.sleep(0.02)


async def test_a_restarted_connection_reconciles_its_own_order_left_sending(
    tmp_path: Path,
) -> None:
    clock = ShiftedClock()
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}, clock=clock) as env:
        conn = env.loaded.connections[0]
        deps = ActorDeps(store=env.store, run_id="daemon-1", http=env.http)
        oid = env.shop.place_order(lines=[("KAFFE-500", 1)], email="kund@example.se")
        # the first run's worker is inside the ERP call (which never answers) when the
        # supervisor cancels the connection
        env.erp.faults.add(
            Fault("delay", methods=frozenset({"POST"}), path="drafts", seconds=3600, times=1)
        )

        async def item() -> WorkItem | None:
            return await env.store.items.find(
                connection="demo", register="orders", instance="se", external_id=oid
            )

        async def in_state(state: ItemState) -> bool:
            found = await item()
            return found is not None and found.state is state

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_connection, conn, anyio.Event(), deps)
            # cancelled once the draft's POST is at the ERP (not merely claimed)
            await _until(lambda: _true(env.erp.faults.fired.get("delay", 0) == 1))
            tg.cancel_scope.cancel()
        left = await item()
        assert left is not None and left.state is ItemState.SENDING
        assert env.copies(oid) == 0

        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_connection, conn, stop, deps)
            await _until(lambda: in_state(ItemState.RECONCILE))
            recovered = await item()
            assert recovered is not None and recovered.run_id != left.run_id
            clock.advance(61)  # past the settle period: an empty lookup now allows the send
            await _until(lambda: in_state(ItemState.DONE))
            stop.set()
        assert env.copies(oid) == 1
