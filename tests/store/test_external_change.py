"""Idle workers wake when another process writes the state file (``errors retry``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from brygga.store import Store

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def test_a_write_by_another_connection_wakes_the_waiter(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with await Store.open(path) as daemon, await Store.open(path) as cli:
        woke = anyio.Event()

        async def waiter() -> None:
            await daemon.wait_for_external_change(poll=0.01)
            woke.set()

        with anyio.fail_after(30):  # a guard against a hang, not a timing assertion
            async with anyio.create_task_group() as tg:
                tg.start_soon(waiter)
                # the daemon's own writes are not external: the waiter keeps waiting
                for n in range(5):
                    await daemon.cursors.set("c", "se", "orders", str(n), NOW)
                    await anyio.sleep(0.02)
                assert not woke.is_set()
                await cli.cursors.set("c", "se", "orders", "cli", NOW)
                await woke.wait()


async def test_a_write_before_the_wait_began_does_not_count(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with await Store.open(path) as daemon, await Store.open(path) as cli:
        await cli.cursors.set("c", "se", "orders", "before", NOW)
        with anyio.move_on_after(0.2) as scope:
            await daemon.wait_for_external_change(poll=0.01)
        assert scope.cancelled_caught
