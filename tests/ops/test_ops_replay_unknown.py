"""QA finding 10: `replay order` of an id the shop does not have (a typo) says so and records
nothing: no failed record advising to resolve it, nothing in the error queue, and no record
that would make the poller ignore a real order that gets this id later."""

from __future__ import annotations

import anyio
import pytest
from ops_support import CONNECTION, SHOP, Ops

from brygga.commands.replay import ReplayRequest, replay_order
from brygga.store.lock import DaemonLock
from brygga.sync.orders import OrdersFlow

pytestmark = pytest.mark.anyio

MISSING = "424242"


def _replay(oid: str, *extra: str) -> tuple[str, ...]:
    return ("replay", "order", "--connection", CONNECTION, "--shop", SHOP, oid, *extra)


async def _daemon(ops: Ops, flow: OrdersFlow, stop: anyio.Event) -> None:
    while not stop.is_set():
        await ops.drain(flow)
        await anyio.sleep(0.02)


async def _nothing_recorded(ops: Ops, oid: str) -> None:
    found = await ops.store.items.find(
        connection=CONNECTION, register="orders", instance=SHOP, external_id=oid
    )
    assert found is None
    assert await ops.store.events.for_record(CONNECTION, "orders", SHOP, oid) == []
    code, out, _ = await ops.cli("errors", "list")
    assert code == 0 and "no failed records" in out


async def test_replay_of_an_id_the_shop_does_not_have_with_a_daemon(ops: Ops) -> None:
    flow = ops.flow("daemon-2")
    stop = anyio.Event()
    with DaemonLock(ops.loaded.state_path):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_daemon, ops, flow, stop)
            try:
                code, out, err = await ops.cli(*_replay(MISSING, "--wait", "20"))
            finally:
                stop.set()
    assert code == 1, (out, err)
    assert f"no order {MISSING} in shop {SHOP}; check the id" in err
    assert "resolve this record" not in out + err
    await _nothing_recorded(ops, MISSING)
    assert ops.erp.documents() == []


async def test_replay_here_of_an_id_the_shop_does_not_have(ops: Ops) -> None:
    request = ReplayRequest(CONNECTION, SHOP, MISSING, here=True)
    code = await replay_order(ops.loaded, request, confirm=_never, http=ops.http)
    out, err = ops.capsys.readouterr()
    assert code == 1, (out, err)
    assert f"no order {MISSING} in shop {SHOP}; check the id" in err
    await _nothing_recorded(ops, MISSING)


async def test_an_order_seen_before_that_is_gone_from_the_shop_stays_in_the_error_queue(
    ops: Ops,
) -> None:
    """Not a typo: the state file knows the order, so its failure is kept for a person."""
    [oid] = ops.place()
    ops.break_coffee()
    flow = ops.flow()
    await flow.poll_once(SHOP)
    await ops.drain(flow)
    ops.shop.delete_order(oid)
    request = ReplayRequest(CONNECTION, SHOP, oid, here=True)
    code = await replay_order(ops.loaded, request, confirm=_never, http=ops.http)
    out, err = ops.capsys.readouterr()
    assert code == 1 and f"order {oid} failed:" in out and "404" in out, (out, err)
    assert "check the id" not in err
    code, out, _ = await ops.cli("errors", "list")
    assert "1 failed record(s)" in out


def _never(question: str) -> bool:
    raise AssertionError(f"asked without --force: {question}")
