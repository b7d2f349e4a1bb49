"""The generic engine: a new register is a plan row, idle costs no write, a page is one write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from brygga.runtime.actor import ActorDeps, run_connection
from brygga.store import Discovered, ItemState, Outcome, Store, WorkItem
from brygga.sync import wiring
from brygga.sync.flow import PlanRow
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store runs on aiosqlite


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    with anyio.fail_after(30):  # a guard against hanging, not a timing assertion
        while True:
            if await check():
                return
            await anyio.sleep(0.01)


@contextmanager
def _counting_writes(store: Store) -> Iterator[list[str]]:
    """Every write transaction the store runs, as it runs (a wrapper, not a mock)."""
    seen: list[str] = []
    db: Any = store.db
    run, transaction = db.run, db.transaction

    def counted_run(body: Any) -> Any:
        seen.append("run")
        return run(body)

    def counted_transaction() -> Any:
        seen.append("transaction")
        return transaction()

    db.run, db.transaction = counted_run, counted_transaction
    try:
        yield seen
    finally:
        db.run, db.transaction = run, transaction


@dataclass
class ToyFeed:
    """A register no version of brygga has: three records, discovered once."""

    connection: str
    store: Store
    clock: Any
    register: str = "toy"
    interval: float = 3600.0
    instances: tuple[str, ...] = ("se",)
    seen: list[str] = field(default_factory=list)

    async def discover(self, instance: str) -> int:
        records = [Discovered(f"toy-{n}", ready=True) for n in range(3)]
        self.seen.append(instance)
        return await self.store.items.enqueue_many(
            connection=self.connection,
            register=self.register,
            instance=instance,
            records=records,
            now=self.clock.now(),
        )


@dataclass
class ToyHandler:
    register: str = "toy"
    handled: list[str] = field(default_factory=list)

    async def handle(self, item: WorkItem) -> Outcome:
        self.handled.append(item.external_id)
        return Outcome(state="done", result=f"toy result {item.external_id}")


async def test_a_new_register_is_one_plan_row_and_the_runtime_runs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = ToyHandler()
    feeds: list[ToyFeed] = []

    def toy_row(w: wiring.Wiring) -> PlanRow:
        feed = ToyFeed(w.conn.name, w.store, w.clock)
        feeds.append(feed)
        return PlanRow(handlers=(handler,), discoverers=(feed,), workers={"toy": 2})

    monkeypatch.setattr(wiring, "PLAN", (*wiring.PLAN, toy_row))
    async with SimulatedConnection.open(tmp_path, connection={"poll": {"orders": "1h"}}) as env:
        stop = anyio.Event()
        deps = ActorDeps(store=env.store, run_id="run-1", http=env.http)

        async def all_done() -> bool:
            items = await env.store.items.query(connection=env.connection)
            toys = [i for i in items if i.register == "toy"]
            return len(toys) == 3 and all(i.state is ItemState.DONE for i in toys)

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_connection, env.loaded.connections[0], stop, deps)
            await _until(all_done)
            stop.set()
        assert sorted(handler.handled) == ["toy-0", "toy-1", "toy-2"]
        assert [feed.seen for feed in feeds] == [["se"]]
        item = await env.item("toy-1", register="toy")
        assert item.result == "toy result toy-1"


async def test_an_idle_connection_runs_no_write_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the idle recheck made short, so the old claim-every-recheck would show many times over
    from brygga.runtime import actor
    from brygga.sync import engine

    monkeypatch.setattr(actor, "IDLE_RECHECK", 0.05, raising=False)
    monkeypatch.setattr(engine, "IDLE_RECHECK", 0.05, raising=False)
    monkeypatch.setattr(engine, "IDLE_FALLBACK", 0.05, raising=False)
    async with SimulatedConnection.open(tmp_path, connection={"poll": {"orders": "1h"}}) as env:
        stop = anyio.Event()
        deps = ActorDeps(store=env.store, run_id="run-1", http=env.http)

        async def polled() -> bool:
            # the poller's status row (an empty shop leaves no cursor: nothing was read)
            boards = await env.store.status.all()
            return any(
                b.subject == "orders" and b.instance == env.shop_name and b.last_success
                for b in boards
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_connection, env.loaded.connections[0], stop, deps)
            await _until(polled)  # started: recovered, polled the empty shop once
            await anyio.sleep(0.2)  # the first poll's last writes
            with _counting_writes(env.store) as writes:
                await anyio.sleep(1.0)  # twenty idle rechecks
            stop.set()
        assert writes == []


async def test_a_page_of_discovered_orders_is_recorded_in_one_transaction(tmp_path: Path) -> None:
    async with SimulatedConnection.open(tmp_path) as env:
        for n in range(8):
            env.shop.place_order(lines=[("TE-100", 1)], email=f"page{n}@example.se")
        flow = env.flow()
        with _counting_writes(env.store) as writes:
            assert await flow.poll_once(env.shop_name) == 8
        # the page, then the cursor and the poller's status (not one transaction per order)
        assert len(writes) <= 3
        assert len(await env.store.items.query(connection=env.connection)) == 8


async def test_an_idle_worker_stops_when_the_stop_came_while_it_was_busy(tmp_path: Path) -> None:
    # A stop sets the flag, then wakes the engine. A worker that was busy at that moment and
    # only then goes idle must see the flag, not wait for the next wake-up (the daemon's
    # stop used to hang until its deadline, or for good in a test without one).
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}) as env:
        flow = env.flow()
        stop = anyio.Event()
        stop.set()
        flow.engine.wake()  # the wake-up came and went while the worker was busy
        with anyio.fail_after(5):  # a guard against hanging, not a timing assertion
            await flow.engine.wait_until_due("orders.writeback", stop)
        with anyio.fail_after(5):
            await flow.engine.work("orders.writeback", stop, 20)
