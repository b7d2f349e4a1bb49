"""QA finding 1: a plain `replay order` never sends a new document for a transferred order,
and `errors resolve` drops a forced replay that is still pending (README "Error queue and
replay": "an order already transferred is reported ... and nothing is sent")."""

from __future__ import annotations

import json

import pytest
from ops_support import CONNECTION, SHOP, Ops

from brygga.store import ItemState
from brygga.sync.orders import Replay, replay_payload
from brygga.testing import Fault

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
    # retried, the record does not carry out the forced replay the person declined either
    code, out, err = await ops.cli("errors", "retry", str(item.id))
    assert code == 0, err
    await _run(ops)
    assert _all_documents(ops, oid) == [old]
    assert (await ops.item(oid)).state is ItemState.DONE
    # with --force the new document is made, once
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


async def test_resolve_takes_a_record_waiting_for_a_retry_but_not_one_in_doubt(
    ops: Ops,
) -> None:
    """README "Error queue and replay": resolve closes failed records and ones waiting for a
    retry; one whose last send may have reached the ERP (README "How exactly-once works",
    step 4: a commit-then-fail) is refused, so no document is orphaned."""
    sent, unsent = ops.place(2)
    flow = ops.flow()
    await flow.poll_once(SHOP)
    # the first order's invoice is stored, then the ERP answers 500: in doubt
    ops.erp.faults.add(
        Fault("commit_then_fail", methods=frozenset({"POST"}), path="invoices/drafts", times=1)
    )
    # the second one's customer search fails before anything is sent
    ops.erp.faults.add(
        Fault("status", methods=frozenset({"GET"}), path="customers", times=1, status=503)
    )
    for _ in range(2):  # one attempt each
        claimed = await flow.claim()
        assert claimed is not None
        assert await flow.process(claimed) is ItemState.RETRY
    # whichever order searched customers first met the 503; the other one was sent
    items = [await ops.item(sent), await ops.item(unsent)]
    [doubtful] = [i for i in items if i.reference]
    [waiting] = [i for i in items if not i.reference]
    sent, unsent = doubtful.external_id, waiting.external_id
    code, _, err = await ops.cli("errors", "resolve", str(doubtful.id), "--note", "x")
    assert code == 1 and "in doubt" in err and doubtful.reference in err
    assert (await ops.item(sent)).state is ItemState.RETRY
    code, out, err = await ops.cli("errors", "resolve", str(waiting.id), "--note", "by hand")
    assert code == 0 and "resolved: by hand" in out, err
    assert (await ops.item(unsent)).state is ItemState.RESOLVED
    # the doubtful one's next attempt finds its document: one, bound
    await ops.store.db.execute(
        "UPDATE work_items SET next_attempt = ? WHERE id = ?",
        ("2000-01-01T00:00:00.000000Z", doubtful.id),
    )
    assert await ops.drain(flow) == [ItemState.DONE]
    assert len(ops.documents(sent)) == 1 and ops.documents(unsent) == []
