"""Exactly-once when a write's outcome is unknown: a slow write, a kill mid-write, a restart.

The e-conomic simulator's ``late_commit`` fault is a write slower than the client's patience:
the client times out, and the draft lands later (when the test lets it). Before the settle
period was introduced, the retry's lookup found nothing yet, sent again, and the late write
then made a second invoice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from brygga.clock import FakeClock
from brygga.documents import Document
from brygga.models import DocumentRef
from brygga.store import ItemState
from brygga.sync.orders import DOUBT_RECHECK, OrdersFlow
from brygga.testing import Fault, SimulatedConnection

pytestmark = pytest.mark.anyio

SETTLE = 60.0  # e-conomic's default settle period (Capabilities.settle)


def _late_draft() -> Fault:
    """The next draft is slower than the client's timeout (a Fault counts down: one each)."""
    return Fault("late_commit", methods=frozenset({"POST"}), path="drafts", times=1)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    # a little ahead of the shop's real clock, so the first poll window holds new orders
    clock = FakeClock(datetime.now(UTC) + timedelta(seconds=5))
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}, clock=clock) as opened:
        yield opened


def _clock(env: SimulatedConnection) -> FakeClock:
    assert isinstance(env.clock, FakeClock)
    return env.clock


async def _one_order(env: SimulatedConnection, flow: OrdersFlow) -> str:
    oid = env.shop.place_order(lines=[("KAFFE-500", 2)], email="kund@example.se")
    assert await flow.poll_once("se") == 1
    return str(oid)


async def _due_now(env: SimulatedConnection, oid: str) -> None:
    """Make the item due at once (what a worker's next look would find), without moving time."""
    item = await env.item(oid)
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = ? WHERE id = ?",
        ("2000-01-01T00:00:00.000000Z", item.id),
    )


async def _step(flow: OrdersFlow) -> ItemState:
    item = await flow.claim()
    assert item is not None, "nothing was due"
    return await flow.process(item)


async def test_a_write_that_lands_after_the_timeout_makes_one_invoice(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    oid = await _one_order(env, flow)
    env.erp.faults.add(_late_draft())
    assert await _step(flow) is ItemState.RECONCILE  # in doubt, not a plain retry
    item = await env.item(oid)
    start = _clock(env).now()
    assert item.doubt_until == start + timedelta(seconds=SETTLE)
    assert item.next_attempt == start + timedelta(seconds=DOUBT_RECHECK)
    assert env.erp.faults.held == 1 and env.copies(oid) == 0

    # the looks within the settle period find nothing yet, and send nothing
    for _ in range(2):
        assert await flow.claim() is None
        _clock(env).advance(DOUBT_RECHECK)
        assert await _step(flow) is ItemState.RECONCILE
        assert env.copies(oid) == 0 and env.erp.faults.held == 1

    await env.erp.faults.land_held()  # the slow write lands, 25 s after it was sent
    _clock(env).advance(DOUBT_RECHECK)  # found at the next look, still inside the settle period
    assert await _step(flow) is ItemState.DONE
    assert env.copies(oid) == 1
    events = await env.store.events.for_record("demo", "orders", "se", oid)
    assert [e.kind for e in events] == ["in doubt", "reconciled", "done"]
    # looking while in doubt used no retry: one attempt (the send), one attempt row each
    item = await env.item(oid)
    assert item.attempts == 2
    assert [a["outcome"] for a in await env.store.items.attempts(item.id)] == [
        "in doubt",
        "done",
    ]


async def test_a_write_that_never_lands_is_sent_once_the_settle_period_is_over(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    oid = await _one_order(env, flow)
    env.erp.faults.add(_late_draft())
    assert await _step(flow) is ItemState.RECONCILE
    # looked up every DOUBT_RECHECK seconds; nothing is sent before the settle period is over
    while _clock(env).now() + timedelta(seconds=DOUBT_RECHECK) < (await env.item(oid)).doubt_until:  # type: ignore[operator]
        assert await flow.claim() is None
        _clock(env).advance(DOUBT_RECHECK)
        assert await _step(flow) is ItemState.RECONCILE
        assert env.copies(oid) == 0
    _clock(env).advance(DOUBT_RECHECK)
    assert await _step(flow) is ItemState.DONE
    assert env.copies(oid) == 1
    item = await env.item(oid)
    assert item.attempts == 2  # the first send and the second; the looks used none


async def test_a_kill_during_a_slow_write_then_a_restart_makes_one_invoice(
    env: SimulatedConnection,
) -> None:
    first = env.flow("run-1")
    oid = await _one_order(env, first)
    env.erp.faults.add(_late_draft())
    real_create = first.erp.create_document
    with anyio.CancelScope() as kill:

        async def create_then_die(document: Document) -> DocumentRef:
            # the ERP has the request and is still working on it when the process dies
            try:
                return await real_create(document)
            finally:
                kill.cancel()
                await anyio.sleep(1)  # cancelled here: no outcome reaches the store

        first.erp.create_document = create_then_die  # type: ignore[method-assign]
        await _step(first)
    assert (await env.item(oid)).state is ItemState.SENDING
    assert env.erp.faults.held == 1

    second = env.flow("run-2")
    now = _clock(env).now()
    assert (
        await env.store.items.recover(
            connection="demo", run_id="run-2", now=now, settle=second.settle
        )
        == 1
    )
    assert (await env.item(oid)).doubt_until == now + timedelta(seconds=SETTLE)
    # the restarted daemon looks at once, finds nothing yet, and does not send
    assert await _step(second) is ItemState.RECONCILE
    assert env.copies(oid) == 0
    await env.erp.faults.land_held()
    _clock(env).advance(DOUBT_RECHECK)
    assert await _step(second) is ItemState.DONE
    assert env.copies(oid) == 1


async def test_a_committed_draft_of_a_since_cancelled_order_is_bound_not_skipped(
    env: SimulatedConnection,
) -> None:
    # the lookup comes before readiness and cancellation: the draft exists, so it is the
    # order's document whatever the shop says now (the shop then shows the cancellation)
    flow = env.flow()
    oid = await _one_order(env, flow)
    env.erp.faults.add(
        Fault("commit_then_fail", methods=frozenset({"POST"}), path="drafts", times=1)
    )
    assert await _step(flow) is ItemState.RETRY
    env.shop.set_status(oid, "canceled")
    await _due_now(env, oid)
    assert await _step(flow) is ItemState.DONE
    assert env.copies(oid) == 1
    bound = await env.store.bindings.target_of("demo", "orders", "se", oid)
    assert bound is not None
    [document] = env.erp.documents_with_reference(env.reference(oid))
    assert bound.target_id == document.number


async def test_a_found_draft_is_booked_when_book_is_on(tmp_path: Path) -> None:
    async with SimulatedConnection.open(
        tmp_path, shop_options={"seed": 3}, orders={"book": True}
    ) as env:
        flow = env.flow()
        oid = await _one_order(env, flow)
        # the draft is created, then the booking call is lost: the retry finds the draft
        env.erp.faults.add(
            Fault("status", methods=frozenset({"POST"}), path="booked", times=1, status=503)
        )
        assert await _step(flow) is ItemState.RETRY
        [draft] = env.erp.documents_with_reference(env.reference(oid))
        assert not draft.booked
        await _due_now(env, oid)
        assert await _step(flow) is ItemState.DONE
        [document] = env.erp.documents_with_reference(env.reference(oid))
        assert document.booked
        bound = await env.store.bindings.target_of("demo", "orders", "se", oid)
        assert bound is not None and bound.target_id == document.number


async def test_the_write_back_is_queued_with_the_binding_and_requeued_if_missing(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    oid = await _one_order(env, flow)
    assert await _step(flow) is ItemState.DONE
    writeback = await env.item(oid, "orders.writeback")
    assert writeback.state is ItemState.NEW  # committed together with the order's done state
    # an older version could lose it (crash between the two transactions): a later pass over
    # the order re-queues it, and sends nothing new
    await env.store.db.execute("DELETE FROM work_items WHERE id = ?", (writeback.id,))
    await env.store.db.execute(
        "UPDATE work_items SET state = 'new', next_attempt = ? WHERE register = 'orders'",
        ("2000-01-01T00:00:00.000000Z",),
    )
    assert await _step(flow) is ItemState.DONE
    assert (await env.item(oid, "orders.writeback")).state is ItemState.NEW
    await env.drain(flow, "orders.writeback")
    [document] = env.erp.documents_with_reference(env.reference(oid))
    assert env.shop.exported_document(oid) == document.number
    assert env.copies(oid) == 1


async def test_waiting_for_status_uses_no_retry_budget(env: SimulatedConnection) -> None:
    flow = env.flow()
    flow.options = type(flow.options)(ready_statuses=["completed"])
    oid = env.shop.place_order(lines=[("KAFFE-500", 1)], email="kund@example.se", status="created")
    await flow.poll_once("se")
    for _ in range(30):  # more looks than MAX_TRANSIENT_ATTEMPTS allows retries
        await _due_now(env, oid)
        assert await _step(flow) is ItemState.WAITING
    item = await env.item(oid)
    assert item.attempts == 0
    assert await env.store.items.attempts(item.id) == []
    events = await env.store.events.for_record("demo", "orders", "se", oid)
    assert [e.kind for e in events] == ["waiting"]  # once, not once per look


async def test_four_workers_create_one_customer_for_one_new_email(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    for _ in range(3):
        env.shop.place_order(lines=[("KAFFE-500", 1)], email="ny.kund@example.se")
    await flow.poll_once("se")
    env.erp.faults.add(Fault("delay", methods=frozenset({"POST"}), path="customers", seconds=0.05))

    async def worker() -> None:
        while (item := await flow.claim()) is not None:
            await flow.process(item)

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(worker)
    customers = {d.customer_number for d in env.erp.documents()}
    assert len(env.erp.documents()) == 3 and len(customers) == 1


async def test_an_order_that_fails_its_check_creates_no_customer(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    env.erp.remove_article("KAFFE-500")
    before = len(env.erp.customers())
    oid = await _one_order(env, flow)
    assert await _step(flow) is ItemState.FAILED
    assert "KAFFE-500" in (await env.item(oid)).last_error
    assert len(env.erp.customers()) == before


async def test_the_shops_time_zone_dates_the_document(tmp_path: Path) -> None:
    # 23:30 UTC on 31 December is 1 January in Stockholm and still 31 December in New York
    for zone, day in (("Europe/Stockholm", "2027-01-01"), ("America/New_York", "2026-12-31")):
        directory = tmp_path / zone.replace("/", "-")
        directory.mkdir()
        async with SimulatedConnection.open(
            directory,
            shop_options={"seed": 3},
            shop_config={"timezone": zone},
        ) as env:
            flow = env.flow()
            oid = env.shop.place_order(lines=[("KAFFE-500", 1)], email="kund@example.se")

            def new_years_eve(order: dict[str, Any]) -> None:
                order["createdAt"] = "2026-12-31T23:30:00+00:00"

            env.shop.mangle_order(oid, new_years_eve)
            await flow.poll_once("se")
            assert await _step(flow) is ItemState.DONE
            [stored] = [
                d
                for d in env.erp.docs.all()
                if d.body.get("references", {}).get("other") == env.reference(oid)
            ]
            assert stored.body["date"] == day, zone
            assert stored.body["grossAmount"] == env.shop.order_total(oid)[0] > Decimal(0)
