"""A poller that fails for good (401 on the order list) keeps the connection running."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from brygga.commands.status import _report
from brygga.runtime.actor import ActorDeps, run_connection
from brygga.store import ItemState, RegisterStatus
from brygga.testing import Fault, SimulatedConnection

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store runs on aiosqlite


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    while True:
        if await check():
            return
        await anyio.sleep(0.01)


async def test_a_401_on_the_order_list_is_recorded_not_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, logger="brygga.runtime.actor")
    # an hour between polls: every poll in this test is a poke, so nothing depends on timing
    async with SimulatedConnection.open(tmp_path, connection={"poll": {"orders": "1h"}}) as env:
        refused = env.shop.faults.add(
            Fault(kind="status", status=401, methods=frozenset({"GET"}), path=r"/orders$")
        )
        # an order already recorded: the workers must go on sending it while polling fails
        queued = env.shop.place_order(lines=[("TE-100", 1)], email="queued@example.se")
        await env.store.items.enqueue(
            connection=env.connection,
            register="orders",
            instance=env.shop_name,
            external_id=queued,
            now=env.clock.now(),
            ready=True,
        )
        stop = anyio.Event()
        deps = ActorDeps(store=env.store, run_id="run-1", http=env.http)
        returned = False

        async def poller_row() -> RegisterStatus | None:
            rows = [r for r in await env.store.status.all() if r.polling]
            return rows[0] if rows else None

        async def polling_state(state: str) -> bool:
            row = await poller_row()
            return row is not None and row.state == state

        async def item_state(order_id: str) -> ItemState | None:
            found = await env.store.items.find(
                connection=env.connection,
                register="orders",
                instance=env.shop_name,
                external_id=order_id,
            )
            return found.state if found else None

        async def status_line() -> tuple[str, str]:
            capsys.readouterr()
            await _report(env.loaded, env.clock.now())
            lines = capsys.readouterr().out.splitlines()
            return lines[0], next(line for line in lines if line.strip().startswith("orders"))

        async def run() -> None:
            nonlocal returned
            await run_connection(env.loaded.connections[0], stop, deps)
            returned = True

        with anyio.fail_after(60):  # a guard against a hang, not a timing assertion
            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await _until(lambda: polling_state("failing"))
                await _until(lambda: _is(item_state(queued), ItemState.DONE))
                flow = deps.flows[env.connection]

                # polling keeps failing (and is retried): still one connection, one log line
                answered = env.shop.faults.fired["status"]
                flow.poke(env.shop_name)
                await _until(lambda: _fired_more(env, answered))
                waiting = env.shop.place_order(lines=[("TE-100", 1)], email="new@example.se")

                headline, line = await status_line()
                assert headline.startswith("demo: ATTENTION")
                assert line.split()[1] == "failing"
                assert "polling se failed" in line and "401" in line
                row = await poller_row()
                assert row is not None and "401" in row.last_error

                # the shop accepts the credentials again: the next poll works and clears it
                refused.times = 0
                flow.poke(env.shop_name)
                await _until(lambda: polling_state("ok"))
                await _until(lambda: _is(item_state(waiting), ItemState.DONE))
                headline, line = await status_line()
                assert headline == "demo: healthy"
                assert line.split()[1] == "ok"
                assert not returned, "the connection must keep running"
                stop.set()
        assert returned

    polling = [r for r in caplog.records if r.name == "brygga.runtime.actor" and "polling" in r.msg]
    started = [r for r in polling if r.levelno >= logging.WARNING]
    recovered = [r for r in polling if r.levelno == logging.INFO]
    assert len(started) == 1 and len(recovered) == 1
    assert started[0].levelno == logging.ERROR  # a 401 is not going to mend itself
    assert "demo/se" in started[0].getMessage() and "401" in started[0].getMessage()
    assert "demo/se" in recovered[0].getMessage()


async def _is(value: Awaitable[ItemState | None], expected: ItemState) -> bool:
    return await value is expected


async def _fired_more(env: SimulatedConnection, than: int) -> bool:
    return env.shop.faults.fired["status"] > than
