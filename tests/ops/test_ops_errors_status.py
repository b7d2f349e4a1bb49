"""QA findings 11 and 12: `errors list/show` count attempts without contradicting the history
they list, and `brygga status` says what "healthy" means without a daemon and does not put
"last success never" beside done records of a register that records no health of its own."""

from __future__ import annotations

import re

import pytest
from ops_support import CONNECTION, SHOP, Ops

from brygga.store import ItemState
from brygga.store.lock import DaemonLock

pytestmark = pytest.mark.anyio


async def _failed_twice(ops: Ops) -> int:
    """An order failed (unknown article), retried by a person, failed again."""
    [oid] = ops.place(1)  # order 0 has KAFFE-500
    ops.break_coffee()
    flow = ops.flow()
    await flow.poll_once(SHOP)
    assert await ops.drain(flow) == [ItemState.FAILED]
    item = await ops.item(oid)
    code, _, err = await ops.cli("errors", "retry", str(item.id))
    assert code == 0, err
    assert await ops.drain(flow) == [ItemState.FAILED]
    again = await ops.item(oid)
    assert again.attempts == 1 and len(await ops.store.items.attempts(item.id)) == 2
    return item.id


async def test_show_counts_every_attempt_it_lists_and_no_next_attempt_when_failed(
    ops: Ops,
) -> None:
    item_id = await _failed_twice(ops)
    code, out, err = await ops.cli("errors", "show", str(item_id))
    assert code == 0, err
    assert re.search(r"^  attempts\s+2 \(1 since the last retry or replay\)$", out, re.M), out
    assert re.search(r"^  next attempt\s+-$", out, re.M), out
    listed = out.split("\nattempts\n")[1].split("events\n")[0]
    assert re.findall(r"^\s+(\d)\s+\d{4}-", listed, re.M) == ["1", "2"]
    # resolved: still no next attempt
    code, _, err = await ops.cli("errors", "resolve", str(item_id), "--note", "kaffet utgår")
    assert code == 0, err
    code, out, _ = await ops.cli("errors", "show", str(item_id))
    assert re.search(r"^  next attempt\s+-$", out, re.M), out


async def test_list_counts_every_attempt(ops: Ops) -> None:
    item_id = await _failed_twice(ops)
    code, out, err = await ops.cli("errors", "list")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith(f"{item_id} "))
    assert "2 (1 since retry)" in row, row


async def test_show_of_a_record_tried_once_says_one_and_a_pending_one_its_next_attempt(
    ops: Ops,
) -> None:
    [oid] = ops.place(1)
    ops.break_coffee()
    flow = ops.flow()
    await flow.poll_once(SHOP)
    queued = await ops.item(oid)
    code, out, _ = await ops.cli("errors", "show", str(queued.id))
    assert code == 0 and re.search(r"^  next attempt\s+\d{4}-\d\d-\d\d ", out, re.M), out
    assert await ops.drain(flow) == [ItemState.FAILED]
    code, out, _ = await ops.cli("errors", "show", str(queued.id))
    assert re.search(r"^  attempts\s+1$", out, re.M), out


def _headline_and_rows(out: str) -> tuple[str, dict[str, str]]:
    lines = out.splitlines()
    headline = next(line for line in lines if line.startswith(f"{CONNECTION}:"))
    rows = {line.split()[0]: line for line in lines if line.startswith("    ")}
    return headline, rows


async def test_status_without_a_daemon_says_last_known_and_with_one_healthy(ops: Ops) -> None:
    [oid] = ops.place(1)
    flow = await ops.transfer([oid])
    code, out, _ = await ops.cli("status")
    assert out.startswith("daemon: NOT RUNNING")
    headline, _ = _headline_and_rows(out)
    assert headline == f"{CONNECTION}: last known: healthy"
    assert code == 1  # no daemon: attention
    with DaemonLock(ops.loaded.state_path):
        code, out, _ = await ops.cli("status")
    headline, _ = _headline_and_rows(out)
    assert headline == f"{CONNECTION}: healthy" and code == 0
    # an order changed in the shop after its transfer: the check is done and its register
    # shows when it last worked, not "never"
    ops.shop.touch(oid)
    await flow.poll_once(SHOP)
    assert await ops.drain(flow, "orders.changed") == [ItemState.DONE]
    _, out, _ = await ops.cli("status")
    _, rows = _headline_and_rows(out)
    changed = rows["orders.changed"]
    assert re.search(r"\bdone 1\b", changed), changed
    # the check records its own register's success (sync/shop_changes.py: Health(CHANGED))
    assert "last success never" not in changed, changed
    assert re.search(r"last success \d+s ago", changed), changed
    assert re.search(r"last success \d+s ago", rows["orders"]), rows["orders"]
