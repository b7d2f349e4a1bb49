"""QA finding 1: a plain `replay order` never sends a new document for a transferred order,
and `errors resolve` drops a forced replay that is still pending (README "Error queue and
replay": "an order already transferred is reported ... and nothing is sent")."""

from __future__ import annotations

import json

import pytest
from ops_support import CONNECTION, SHOP, Ops

from brygga.store import ItemState
from brygga.sync.orders import Replay, replay_payload

pytestmark = pytest.mark.anyio


def _replay(oid: str, *extra: str) -> tuple[str, ...]:
    return ("replay", "order", "--connection", CONNECTION, "--shop", SHOP, oid, *extra)


def _all_documents(ops: Ops, oid: str) -> list[str]:
    """Every ERP document made for the order, whatever its replay generation."""
    return [n for g in range(4) for n in ops.documents(oid, generation=g)]


async def _run(ops: Ops) -> None:
    """What `brygga run` would do with the queue."""
    flow = ops.flow("daemon-2")
    await ops.drain(flow)
    await ops.drain(flow, "orders.writeback")


async def test_resolving_a_pending_forced_replay_then_a_plain_replay_sends_nothing(
    ops: Ops,
) -> None:
    [oid] = ops.place()
    await ops.transfer([oid])
    [old] = ops.documents(oid)
    code, out, err = await ops.cli(*_replay(oid, "--force", "--yes", "--wait", "0"))
    assert code == 0 and f"forced replay 1 queued (replaces {old})" in out, (out, err)
    item = await ops.item(oid)
    resolving = await ops.cli("errors", "resolve", str(item.id), "--note", "changed my mind")
    resolved = await ops.item(oid)
    replaying = await ops.cli(*_replay(oid, "--wait", "0"))
    await _run(ops)
    # the ERP's documents for the order: still just the first one
    assert _all_documents(ops, oid) == [old] and len(ops.erp.documents()) == 1
    code, out, err = resolving
    assert code == 0, err
    assert "forced replay 1" in out and "no new document" in out
    assert resolved.state is ItemState.RESOLVED
    assert json.loads(resolved.payload or b"")["replaces"] == ""  # the forced replay is gone
    code, out, err = replaying
    assert code == 0, err
    assert f"order {oid} is already in the ERP as {old}" in out
    assert "queued" not in out
    bound = await ops.store.bindings.target_of(CONNECTION, "orders", SHOP, oid)
    assert bound is not None and bound.target_id == old
    assert ops.shop.exported_document(oid) == old
    # the person may still ask for the new document, with --force: exactly one
    code, out, err = await ops.cli(*_replay(oid, "--force", "--yes", "--wait", "0"))
    assert code == 0 and f"forced replay 1 queued (replaces {old})" in out, (out, err)
    await _run(ops)
    [new] = ops.documents(oid, generation=1)
    assert _all_documents(ops, oid) == [old, new]
    assert ops.shop.exported_document(oid) == new


async def test_a_forced_replay_left_pending_on_a_resolved_record_is_not_run_without_force(
    ops: Ops,
) -> None:
    """A state file written before the fix: the record was resolved with the forced replay
    still in its payload. A plain replay reports the order and sends nothing."""
    [oid] = ops.place()
    await ops.transfer([oid])
    [old] = ops.documents(oid)
    item = await ops.item(oid)
    now = item.updated_at
    assert await ops.store.items.reopen(
        item.id, now, from_states=[ItemState.DONE], payload=replay_payload(Replay(1, old))
    )
    assert await ops.store.items.resolve(item.id, "old", now, from_states=[ItemState.NEW])
    code, out, err = await ops.cli(*_replay(oid, "--wait", "0"))
    assert code == 0, err
    assert f"order {oid} is already in the ERP as {old}" in out and "--force" in out
    assert (await ops.item(oid)).state is ItemState.RESOLVED
    await _run(ops)
    assert _all_documents(ops, oid) == [old]
    # errors retry of that record is the person's explicit choice, but it is not a plain
    # replay: with --force the forced replay is carried out, once, with its own generation
    code, out, err = await ops.cli(*_replay(oid, "--force", "--yes", "--wait", "0"))
    assert code == 0 and "forced replay 1 queued" in out, (out, err)
    await _run(ops)
    [new] = ops.documents(oid, generation=1)
    assert _all_documents(ops, oid) == [old, new]


async def test_a_confirmed_forced_replay_still_queued_is_not_requeued_by_a_plain_replay(
    ops: Ops,
) -> None:
    [oid] = ops.place()
    await ops.transfer([oid])
    [old] = ops.documents(oid)
    code, _, _ = await ops.cli(*_replay(oid, "--force", "--yes", "--wait", "0"))
    assert code == 0
    before = await ops.store.events.for_record(CONNECTION, "orders", SHOP, oid)
    code, out, err = await ops.cli(*_replay(oid, "--wait", "0"))
    assert code == 0, err
    assert "forced replay 1 is already queued" in out
    assert await ops.store.events.for_record(CONNECTION, "orders", SHOP, oid) == before
    await _run(ops)  # confirmed with --force: carried out, once
    [new] = ops.documents(oid, generation=1)
    assert _all_documents(ops, oid) == [old, new]
