"""The CLI next to a daemon running in this process: it only writes the store; the daemon works."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest
from ops_support import CONNECTION, SHOP, Ops

from brygga.commands.run import serve
from brygga.plugins import PluginHost
from brygga.runtime.daemon import DaemonControl
from brygga.store import ItemState

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _daemon(ops: Ops) -> AsyncIterator[None]:
    """`brygga run` in-process (it takes the state file's daemon lock), on the simulators."""
    control: DaemonControl[object] = DaemonControl()
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: serve(
                ops.loaded,
                PluginHost(),
                control=control,  # type: ignore[arg-type]
                http=ops.http,
                handle_os_signals=False,
            )
        )
        await control.wait_started()
        try:
            yield
        finally:
            control.request_stop()


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    with anyio.fail_after(30):  # a guard against hanging, not a timing assertion
        while True:
            if await check():
                return
            await anyio.sleep(0.05)


async def test_retry_and_forced_replay_are_done_by_the_running_daemon(ops: Ops) -> None:
    [oid] = ops.place()  # with coffee
    ops.break_coffee()
    async with _daemon(ops):

        async def failed() -> bool:
            found = await ops.store.items.query(states=[ItemState.FAILED])
            return bool(found)

        await _until(failed)
        item = await ops.item(oid)
        ops.fix_coffee()
        code, out, _ = await ops.cli("errors", "retry", str(item.id))
        assert code == 0 and "the running daemon picks it up" in out

        async def exported() -> bool:
            return ops.shop.exported_document(oid) is not None

        await _until(exported)
        [old] = ops.documents(oid)
        code, out, err = await ops.cli(
            "replay", "order", "--connection", CONNECTION, "--shop", SHOP, oid,
            "--force", "--yes", "--wait", "30",
        )  # fmt: skip
        assert code == 0, (out, err)
        [new] = ops.documents(oid, generation=1)
        assert f"order {oid} is in the ERP as {new}" in out

        async def rewritten() -> bool:
            return ops.shop.exported_document(oid) == new

        await _until(rewritten)
    assert ops.documents(oid) == [old] and len(ops.erp.documents()) == 2
