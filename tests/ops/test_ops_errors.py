"""`brygga errors list/show/retry/resolve` on a real state file, against both simulators."""

from __future__ import annotations

import re

import pytest
from ops_support import CONNECTION, Ops

from brygga.store import ItemState
from brygga.store.lock import DaemonLock

pytestmark = pytest.mark.anyio


async def _one_failed(ops: Ops) -> tuple[str, str]:
    """A failed order (unknown article in the ERP) and a good one, both polled and worked."""
    bad, good = ops.place(2)  # order 0 has KAFFE-500, order 1 does not
    ops.break_coffee()
    flow = ops.flow()
    await flow.poll_once("se")
    outcomes = await ops.drain(flow)
    assert sorted(o.value for o in outcomes) == ["done", "failed"]
    return bad, good


async def test_list_shows_one_row_per_failed_record(ops: Ops) -> None:
    bad, _good = await _one_failed(ops)
    item = await ops.item(bad)
    code, out, err = await ops.cli("errors", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "id", "connection", "register", "shop", "record", "attempts", "age", "error"
    ]  # fmt: skip
    row = re.split(r"\s{2,}", lines[1])
    assert row[:6] == [str(item.id), CONNECTION, "orders", "se", bad, "1"]
    assert re.fullmatch(r"\d+s", row[6])
    assert "KAFFE-500" in row[7] and "\n" not in row[7]
    assert [ln for ln in lines if re.match(r"\d+\s{2}", ln)] == [lines[1]]  # not the good one
    assert "1 failed record(s)" in out
    # a connection filter: unknown names are a usage error, known ones filter
    assert (await ops.cli("errors", "list", "--connection", "nope"))[0] == 2
    code, out, _ = await ops.cli("errors", "list", "--connection", CONNECTION)
    assert code == 0 and bad in out


async def test_list_without_failures_or_without_state(ops: Ops) -> None:
    code, out, _ = await ops.cli("errors", "list")
    assert code == 0 and "no failed records" in out
    await ops.store.close()
    ops.loaded.state_path.unlink()
    code, out, _ = await ops.cli("errors", "list")
    assert code == 0 and "no state yet" in out
    assert not ops.loaded.state_path.exists()  # looking does not create the state file
    ops.store = await type(ops.store).open(ops.loaded.state_path)


async def test_show_prints_fields_payload_attempts_and_events(ops: Ops) -> None:
    bad, good = await _one_failed(ops)
    item = await ops.item(bad)
    code, out, err = await ops.cli("errors", "show", str(item.id))
    assert code == 0, err
    assert out.startswith(f"record {item.id}\n")
    assert re.search(r"^  state\s+failed$", out, re.M)
    assert re.search(rf"^  record\s+{bad}$", out, re.M)
    # the article is checked before anything is sent, so no reference was ever used
    assert re.search(r"^  reference\s+-$", out, re.M)
    error = out.split("  error\n", 1)[1].split("payload\n", 1)[0]
    assert "KAFFE-500" in error and bad in error
    attempts = out.split("attempts\n")[-1].split("events\n")[0]
    assert re.search(
        r"^\s+1\s+\d{4}-\d\d-\d\d .* UTC\s+.*UTC\s+failed\s+.*KAFFE-500", attempts, re.M
    )
    events = out.split("events\n")[-1]
    assert re.search(r"failed\s+.*KAFFE-500", events)
    # the payload is decoded: JSON pretty-printed, plain text as is
    writeback = await ops.item(good, "orders.writeback")
    code, out, _ = await ops.cli("errors", "show", str(writeback.id))
    assert code == 0
    payload = out.split("payload\n", 1)[1].split("attempts\n", 1)[0]
    assert payload.strip() == writeback.payload.decode()  # type: ignore[union-attr]
    assert (await ops.cli("errors", "show", "9999"))[0] == 1


async def test_retry_moves_failed_back_to_new_and_the_flow_then_transfers_it(ops: Ops) -> None:
    bad, _ = await _one_failed(ops)
    item = await ops.item(bad)
    ops.fix_coffee()
    code, out, err = await ops.cli("errors", "retry", str(item.id))
    assert code == 0, err
    assert f"requeued record {item.id}" in out
    assert "no daemon is running" in out and "when it next starts" in out
    again = await ops.item(bad)
    assert again.state is ItemState.NEW and again.next_attempt <= again.updated_at
    # the daemon's workers pick it up like any other due item
    assert await ops.drain(ops.flow("daemon-2")) == [ItemState.DONE]
    assert len(ops.documents(bad)) == 1
    events = await ops.store.events.for_record(CONNECTION, "orders", "se", bad)
    assert [e.kind for e in events] == ["failed", "requeued", "done"]
    # a done record is not retried
    code, _, err = await ops.cli("errors", "retry", str(item.id))
    assert code == 1 and "replay order" in err
    assert (await ops.cli("errors", "retry", "9999"))[0] == 1


async def test_retry_while_a_daemon_runs_says_the_daemon_picks_it_up(ops: Ops) -> None:
    bad, _ = await _one_failed(ops)
    item = await ops.item(bad)
    with DaemonLock(ops.loaded.state_path):
        code, out, _ = await ops.cli("errors", "retry", str(item.id))
    assert code == 0
    assert "the running daemon picks it up within seconds" in out


async def test_retry_all_requeues_every_failed_record(ops: Ops) -> None:
    ids = ops.place(6)  # orders 0 and 4 have KAFFE-500 on their first line, 3 on its second
    ops.break_coffee()
    flow = ops.flow()
    await flow.poll_once("se")
    await ops.drain(flow)
    failed = await ops.store.items.query(states=[ItemState.FAILED])
    assert sorted(f.external_id for f in failed) == sorted([ids[0], ids[3], ids[4]])
    code, out, _ = await ops.cli("errors", "retry", "--all", "--connection", CONNECTION)
    assert code == 0
    assert f"requeued {len(failed)} failed record(s)" in out
    assert await ops.store.items.query(states=[ItemState.FAILED]) == []
    ops.fix_coffee()
    await ops.drain(flow)
    assert all(len(ops.documents(oid)) == 1 for oid in ids)
    code, out, _ = await ops.cli("errors", "retry", "--all")
    assert code == 0 and "no failed records to retry" in out


async def test_retry_needs_an_id_or_all(ops: Ops) -> None:
    with pytest.raises(SystemExit) as exit_:
        await ops.cli("errors", "retry")
    assert exit_.value.code == 2


async def test_resolve_closes_the_record_with_a_note(ops: Ops) -> None:
    bad, good = await _one_failed(ops)
    item = await ops.item(bad)
    note = "kaffet utgår; kunden fick pengarna tillbaka"
    code, out, err = await ops.cli("errors", "resolve", str(item.id), "--note", note)
    assert code == 0, err
    assert note in out
    resolved = await ops.item(bad)
    assert resolved.state is ItemState.RESOLVED and resolved.result == note
    events = await ops.store.events.for_record(CONNECTION, "orders", "se", bad)
    assert (events[-1].kind, events[-1].work_item_id) == ("resolved", item.id)
    assert note in events[-1].message
    # not listed anymore, but `show` still has all of it
    code, out, _ = await ops.cli("errors", "list")
    assert code == 0 and "no failed records" in out
    code, out, _ = await ops.cli("errors", "show", str(item.id))
    assert code == 0 and re.search(r"^  state\s+resolved$", out, re.M)
    assert re.search(rf"^  result\s+{re.escape(note)}$", out, re.M)
    assert re.search(r"resolved\s+resolved by hand: kaffet", out)
    # final: polled again, nothing happens; no worker takes it
    ops.fix_coffee()
    ops.shop.touch(bad)
    flow = ops.flow()
    await flow.poll_once("se")
    assert await ops.drain(flow) == []
    assert (await ops.item(bad)).state is ItemState.RESOLVED and ops.documents(bad) == []
    # a done record, a resolved one, and an empty note are refused
    done = await ops.item(good)
    assert (await ops.cli("errors", "resolve", str(done.id), "--note", "x"))[0] == 1
    assert (await ops.cli("errors", "resolve", str(item.id), "--note", "x"))[0] == 1
    assert (await ops.cli("errors", "resolve", str(item.id), "--note", " "))[0] == 2


async def test_resolve_refuses_a_record_in_flight(ops: Ops) -> None:
    [oid] = ops.place(1)
    flow = ops.flow()
    await flow.poll_once("se")
    claimed = await flow.claim()  # a worker holds it
    assert claimed is not None
    code, _, err = await ops.cli("errors", "resolve", str(claimed.id), "--note", "x")
    assert code == 1 and "try again shortly" in err
    assert (await ops.item(oid)).state is ItemState.SENDING
