"""`replay order` of an id the shop does not have leaves nothing behind: no record, no event,
and no failing health row in `brygga status`.

QA (first hour): `replay order --here 99999` printed "queued for transfer", logged "failed for
good", then "no order 99999 in shop se; check the id (nothing was recorded)"; afterwards
`brygga status` kept showing "orders failing — Starweb order 99999 does not exist in shop se
(404) … resolve this record" while `errors list` had no such record, also after `errors retry
--all`. Now `--here` asks the shop first and records nothing for an id it does not have, and
a replay whose record is forgotten (with a daemon) puts the health row back as it was.
"""

from __future__ import annotations

import logging

import anyio
import pytest
from ops_support import CONNECTION, SHOP, Ops

from brygga.commands.replay import ReplayRequest, replay_order
from brygga.store.lock import DaemonLock
from brygga.sync.orders import OrdersFlow

pytestmark = pytest.mark.anyio

MISSING = "99999"


def _never(question: str) -> bool:
    raise AssertionError(f"asked without --force: {question}")


async def _health(ops: Ops) -> list[tuple[str, str, str]]:
    """(register, state, last error) of the orders rows of the shop."""
    rows = await ops.store.status.all()
    return [
        (r.register, r.state, r.last_error)
        for r in rows
        if r.connection == CONNECTION and r.instance == SHOP and r.register == "orders"
    ]


async def _status_is_clean(ops: Ops) -> None:
    code, out, err = await ops.cli("status")
    assert MISSING not in out + err and "failing" not in out, (out, err)
    code, out, _ = await ops.cli("errors", "list")
    assert code == 0 and "no failed records" in out


async def test_replay_here_of_a_missing_id_records_and_says_nothing_before_the_error(
    ops: Ops, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    request = ReplayRequest(CONNECTION, SHOP, MISSING, here=True)
    code = await replay_order(ops.loaded, request, confirm=_never, http=ops.http)
    out, err = ops.capsys.readouterr()
    assert code == 1, (out, err)
    assert err.strip() == (
        f"error: no order {MISSING} in shop {SHOP}; check the id (nothing was recorded)"
    )
    assert out == "", out  # no "queued for transfer", no "sending from this process"
    assert not [r for r in caplog.records if "failed for good" in r.getMessage()]
    assert await _health(ops) == []
    await _status_is_clean(ops)
    code, out, err = await ops.cli("errors", "retry", "--all")
    await _status_is_clean(ops)


async def test_replay_here_of_a_missing_id_keeps_a_healthy_row_healthy(ops: Ops) -> None:
    oids = ops.place()
    await ops.transfer(oids)
    before = await _health(ops)
    assert [state for _, state, _ in before] == ["ok"]
    request = ReplayRequest(CONNECTION, SHOP, MISSING, here=True)
    assert await replay_order(ops.loaded, request, confirm=_never, http=ops.http) == 1
    assert await _health(ops) == before
    await _status_is_clean(ops)


async def _daemon(ops: Ops, flow: OrdersFlow, stop: anyio.Event) -> None:
    while not stop.is_set():
        await ops.drain(flow)
        await anyio.sleep(0.02)


async def test_with_a_daemon_the_health_row_is_put_back(ops: Ops) -> None:
    """The daemon does the work (and marks the row failing); the replay that forgets the
    record puts the row back as it was before."""
    oids = ops.place()
    await ops.transfer(oids)
    before = await _health(ops)
    flow = ops.flow("daemon-2")
    stop = anyio.Event()
    with DaemonLock(ops.loaded.state_path):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_daemon, ops, flow, stop)
            try:
                code, out, err = await ops.cli(
                    "replay", "order", "--connection", CONNECTION, "--shop", SHOP, MISSING
                )
            finally:
                stop.set()
    assert code == 1, (out, err)
    assert f"no order {MISSING} in shop {SHOP}; check the id" in err
    assert await _health(ops) == before
    await _status_is_clean(ops)


async def test_a_row_another_record_wrote_since_stands(ops: Ops) -> None:
    """Only the row the forgotten record marked is put back: a later failure of a real
    order (its own sentence) stays."""
    from brygga.commands.replay import _forget
    from brygga.commands.replay import _health as health_row

    oids = ops.place()
    await ops.transfer(oids)
    before = await health_row(ops.store, CONNECTION, SHOP)
    ops.break_coffee()
    [real] = ops.place()
    flow = ops.flow()
    await flow.poll_once(SHOP)
    await ops.drain(flow)
    failed = await ops.item(real)
    rows = await _health(ops)
    assert rows == [("orders", "failing", failed.last_error)]
    # a record with another sentence is forgotten: the real order's failure stays
    await ops.store.items.enqueue(
        connection=CONNECTION,
        register="orders",
        instance=SHOP,
        external_id=MISSING,
        now=ops.clock.now(),
        ready=True,
    )
    await ops.store.db.run(
        lambda tx: tx.execute(
            "UPDATE work_items SET state = 'failed', last_error = ? WHERE external_id = ?",
            (f"Starweb order {MISSING} does not exist in shop se (404)", MISSING),
        )
    )
    found = await ops.store.items.find(
        connection=CONNECTION, register="orders", instance=SHOP, external_id=MISSING
    )
    assert found is not None and found.last_error.endswith("(404)")
    assert await _forget(ops.store, found, before)
    assert await _health(ops) == rows
