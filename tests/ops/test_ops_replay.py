"""`brygga replay order`: exactly once unless forced, a forced replay makes ONE new document."""

from __future__ import annotations

import io
import json

import anyio
import pytest
from ops_support import CONNECTION, SHOP, Ops

from brygga.commands.replay import ReplayRequest, replay_order
from brygga.store import ItemState
from brygga.store.lock import DaemonLock, daemon_running
from brygga.sync.orders import OrdersFlow

pytestmark = pytest.mark.anyio


def _replay(oid: str, *extra: str) -> tuple[str, ...]:
    return ("replay", "order", "--connection", CONNECTION, "--shop", SHOP, oid, *extra)


async def _daemon(ops: Ops, flow: OrdersFlow, stop: anyio.Event) -> None:
    """The running daemon's workers, as far as these tests need them."""
    while not stop.is_set():
        await ops.drain(flow)
        await ops.drain(flow, "orders.writeback")
        await anyio.sleep(0.02)


async def _cli_with_daemon(ops: Ops, *argv: str) -> tuple[int, str, str]:
    """Run the CLI while a daemon holds the state file and works the queue."""
    flow = ops.flow("daemon-2")
    stop = anyio.Event()
    with DaemonLock(ops.loaded.state_path):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_daemon, ops, flow, stop)
            try:
                result = await ops.cli(*argv)
            finally:
                stop.set()
    await ops.drain(flow, "orders.writeback")
    return result


async def test_replay_of_a_transferred_order_reports_it_and_sends_nothing(ops: Ops) -> None:
    [oid] = ops.place()
    await ops.transfer([oid])
    [number] = ops.documents(oid)
    before = await ops.store.events.for_record(CONNECTION, "orders", SHOP, oid)
    code, out, err = await ops.cli(*_replay(oid))
    assert code == 0, err
    assert f"order {oid} is already in the ERP as {number} (transferred 20" in out
    assert ops.documents(oid) == [number] and len(ops.erp.documents()) == 1
    item = await ops.item(oid)
    assert item.state is ItemState.DONE and item.payload is None
    assert await ops.store.events.for_record(CONNECTION, "orders", SHOP, oid) == before


async def test_forced_replay_creates_exactly_one_new_document_and_rebinds(ops: Ops) -> None:
    [oid] = ops.place()
    await ops.transfer([oid])
    [old] = ops.documents(oid)
    assert ops.shop.exported_document(oid) == old
    code, out, err = await _cli_with_daemon(ops, *_replay(oid, "--force", "--yes", "--wait", "20"))
    assert code == 0, (out, err)
    [new] = ops.documents(oid, generation=1)
    assert new != old and ops.documents(oid) == [old]  # the old one stays, untouched
    assert len(ops.erp.documents()) == 2
    assert f"forced replay 1 queued (replaces {old})" in out
    assert f"order {oid} is in the ERP as {new}" in out
    bound = await ops.store.bindings.target_of(CONNECTION, "orders", SHOP, oid)
    assert bound is not None and bound.target_id == new
    item = await ops.item(oid)
    assert item.state is ItemState.DONE and item.result == new
    assert item.reference == f"brygga:{CONNECTION}:{SHOP}:{oid}#r1"
    assert json.loads(item.payload or b"") == {"replay": 1, "replaces": old}
    events = await ops.store.events.for_record(CONNECTION, "orders", SHOP, oid)
    kinds = [e.kind for e in events]
    assert kinds == ["done", "replay", "replaced", "done"]
    replaced = events[2].message
    assert f"ERP document {old}" in replaced and "#r1" in replaced
    assert ops.shop.exported_document(oid) == new  # the shop learns the new number
    # replaying again without --force: the new document is the one it is in
    code, out, _ = await ops.cli(*_replay(oid))
    assert code == 0 and f"already in the ERP as {new}" in out
    assert len(ops.erp.documents()) == 2


async def test_force_without_yes_and_without_a_tty_is_refused(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    [oid] = ops.place()
    await ops.transfer([oid])
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # a pipe, not a terminal
    code, _, err = await ops.cli(*_replay(oid, "--force"))
    assert code == 2
    assert "--force" in err and "--yes" in err
    item = await ops.item(oid)
    assert item.state is ItemState.DONE and item.payload is None
    assert len(ops.erp.documents()) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_force_on_a_terminal_asks_and_a_no_changes_nothing(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    [oid] = ops.place()
    await ops.transfer([oid])
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, err = await ops.cli(*_replay(oid, "--force"))
    assert code == 1
    assert "Create a NEW ERP document" in out and "not confirmed" in err
    assert (await ops.item(oid)).payload is None
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    code, out, _ = await ops.cli(*_replay(oid, "--force"))
    assert code == 0 and "forced replay 1 queued" in out and "no daemon is running" in out
    item = await ops.item(oid)
    assert item.state is ItemState.NEW
    # asking again before it ran does not stack a second generation
    code, out, _ = await ops.cli(*_replay(oid, "--force", "--yes"))
    assert code == 0 and "forced replay 1 is already queued" in out
    assert json.loads((await ops.item(oid)).payload or b"")["replay"] == 1


async def test_replay_of_an_unseen_order_queues_it_for_the_daemon(ops: Ops) -> None:
    [oid] = ops.place()  # never polled
    code, out, err = await ops.cli(*_replay(oid))
    assert code == 0, err
    assert f"order {oid} was not seen before: queued for transfer" in out
    assert "no daemon is running" in out and "--here" in out
    assert (await ops.item(oid)).state is ItemState.NEW
    flow = ops.flow()
    assert await ops.drain(flow) == [ItemState.DONE]
    await flow.poll_once(SHOP)  # the poller meets it later: a no-op
    assert await ops.drain(flow) == []
    assert len(ops.documents(oid)) == 1


async def test_replay_here_runs_the_real_flow_in_this_process(ops: Ops) -> None:
    bad = ops.place(2)[0]  # with coffee
    ops.break_coffee()
    flow = ops.flow()
    await flow.poll_once(SHOP)
    await ops.drain(flow)
    assert (await ops.item(bad)).state is ItemState.FAILED
    ops.fix_coffee()
    request = ReplayRequest(CONNECTION, SHOP, bad, here=True)
    code = await replay_order(ops.loaded, request, confirm=_never, http=ops.http)
    out = ops.capsys.readouterr().out
    assert code == 0, out
    [number] = ops.documents(bad)
    assert f"order {bad} is in the ERP as {number}" in out
    assert f"document number written back to shop {SHOP}" in out
    assert ops.shop.exported_document(bad) == number
    assert (await ops.item(bad)).state is ItemState.DONE
    assert not daemon_running(ops.loaded.state_path)  # the lock was held only meanwhile
    # an order never seen before, sent from here too
    [unseen] = ops.place()
    code = await replay_order(
        ops.loaded,
        ReplayRequest(CONNECTION, SHOP, unseen, here=True),
        confirm=_never,
        http=ops.http,
    )
    assert code == 0
    assert len(ops.documents(unseen)) == 1 and ops.shop.exported_document(unseen)


async def test_forced_replay_here_makes_one_new_document(ops: Ops) -> None:
    [oid] = ops.place()
    await ops.transfer([oid])
    [old] = ops.documents(oid)
    request = ReplayRequest(CONNECTION, SHOP, oid, force=True, here=True)
    asked: list[str] = []
    code = await replay_order(
        ops.loaded, request, confirm=lambda q: asked.append(q) or True, http=ops.http
    )
    assert code == 0 and len(asked) == 1 and old in asked[0]
    [new] = ops.documents(oid, generation=1)
    assert ops.documents(oid) == [old] and ops.shop.exported_document(oid) == new
    # a second forced replay: generation 2 replaces the first replay's document
    code = await replay_order(ops.loaded, request, confirm=lambda q: True, http=ops.http)
    assert code == 0
    [newer] = ops.documents(oid, generation=2)
    assert ops.documents(oid, generation=1) == [new] and len(ops.erp.documents()) == 3
    bound = await ops.store.bindings.target_of(CONNECTION, "orders", SHOP, oid)
    assert bound is not None and bound.target_id == newer


async def test_replay_here_reconciles_an_order_left_mid_send(ops: Ops) -> None:
    [oid] = ops.place()
    first = ops.flow("daemon-1")
    await first.poll_once(SHOP)
    await ops.crash_after_create(first)
    assert (await ops.item(oid)).state is ItemState.SENDING
    # without --here and without a daemon, it is left for the daemon's own recovery
    code, _, err = await ops.cli(*_replay(oid))
    assert code == 1 and "mid-send" in err
    code = await replay_order(
        ops.loaded, ReplayRequest(CONNECTION, SHOP, oid, here=True), confirm=_never, http=ops.http
    )
    assert code == 0
    assert len(ops.documents(oid)) == 1  # found by reference, not sent again
    events = await ops.store.events.for_record(CONNECTION, "orders", SHOP, oid)
    assert "reconciled" in [e.kind for e in events]


async def test_here_is_refused_while_a_daemon_runs(ops: Ops) -> None:
    [oid] = ops.place()
    with DaemonLock(ops.loaded.state_path):
        code, _, err = await ops.cli(*_replay(oid, "--here"))
    assert code == 2 and "daemon" in err
    assert await ops.store.items.query() == []  # nothing queued, nothing sent
    assert ops.erp.documents() == []


async def test_replay_refuses_an_order_being_sent(ops: Ops) -> None:
    [oid] = ops.place()
    flow = ops.flow()
    await flow.poll_once(SHOP)
    assert await flow.claim() is not None  # a worker of the running daemon holds it
    with DaemonLock(ops.loaded.state_path):
        code, _, err = await ops.cli(*_replay(oid))
    assert code == 1 and "try again shortly" in err
    assert (await ops.item(oid)).state is ItemState.SENDING


async def test_replay_reports_a_failure_and_an_unfinished_wait(ops: Ops) -> None:
    [oid] = ops.place()
    ops.break_coffee()
    code, out, _ = await _cli_with_daemon(ops, *_replay(oid, "--wait", "20"))
    assert code == 1 and f"order {oid} failed:" in out and "KAFFE-500" in out
    # a daemon that holds the file but does not get to the record within --wait
    ops.fix_coffee()
    with DaemonLock(ops.loaded.state_path):
        code, out, _ = await ops.cli(*_replay(oid, "--wait", "0.3"))
    assert code == 1 and "not finished after 0.3 s" in out
    assert (await ops.item(oid)).state is ItemState.NEW


async def test_unknown_connection_or_shop_is_a_usage_error(ops: Ops) -> None:
    code, _, err = await ops.cli("replay", "order", "--connection", "x", "--shop", SHOP, "1")
    assert code == 2 and "no connection named 'x'" in err
    code, _, err = await ops.cli("replay", "order", "--connection", CONNECTION, "--shop", "no", "1")
    assert code == 2 and "no shop named 'no'" in err


def _never(question: str) -> bool:
    raise AssertionError(f"asked without --force: {question}")
