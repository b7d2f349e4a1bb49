"""`brygga replay order --here` keeps the account windows in the state file as the daemon does
(brygga.runtime.limiterstate.kept_limiters), so a daemon started right after it counts the
replay's requests instead of starting with an empty window."""

from __future__ import annotations

import time

import pytest
from ops_support import CONNECTION, SHOP, Ops

from brygga.commands.replay import ReplayRequest, replay_order
from brygga.runtime.limiterstate import unknown_until

pytestmark = pytest.mark.anyio


def _never(question: str) -> bool:
    raise AssertionError(f"asked: {question}")


async def test_replay_here_leaves_its_sends_in_the_state_file(ops: Ops) -> None:
    [oid] = ops.place()
    fresh = await ops.store.limiters.load()
    assert fresh.windows == {}
    # without --here nothing is sent from this process: the limiters' record stays untouched
    code = await replay_order(
        ops.loaded, ReplayRequest(CONNECTION, SHOP, oid), confirm=_never, http=ops.http
    )
    assert code == 0
    assert await ops.store.limiters.load() == fresh
    began = time.time()
    code = await replay_order(
        ops.loaded, ReplayRequest(CONNECTION, SHOP, oid, here=True), confirm=_never, http=ops.http
    )
    ended = time.time()
    assert code == 0 and len(ops.documents(oid)) == 1
    memory = await ops.store.limiters.load()
    assert memory.run is not None and memory.run.run_id.startswith("replay-")
    assert memory.run.stopped_at is not None  # a clean stop: nothing unknown after it
    sends = sorted(t for window in memory.windows.values() for t in window.sends)
    # the order's requests (shop and ERP), each recorded at the time it was sent
    assert len(sends) >= 3
    assert began - 0.01 <= sends[0] and sends[-1] <= ended + 0.01
    # a daemon starting now goes on from them: nothing unknown to wait for, only the window
    assert unknown_until(memory.run, time.time()) is None
