"""Order status back to the shop, end to end on the Starweb and e-conomic simulators.

ERP events (an invoice booked or paid, a draft deleted) become the shop statuses the
connection's ``[connection.status]`` rules name, with the e-mail and capture flags set
explicitly; exactly once per event and effect, never backwards, and parked until the order
is in the ERP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from brygga.clock import FakeClock
from brygga.models import DocumentState, OrderEvent
from brygga.store import Discovered, ItemState
from brygga.sync.flow import Flow
from brygga.sync.status import STATUS, WATCH
from brygga.testing import SimulatedConnection
from brygga.testing.simulators import Fault

pytestmark = pytest.mark.anyio

RULES: dict[str, Any] = {
    "transferred": {"shop_status": "picking"},
    "invoiced": {"shop_status": "completed", "email": True, "capture": True},
    "cancelled": {"shop_status": "canceled", "email": True},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}, status=RULES) as opened:
        yield opened


async def _transfer(env: SimulatedConnection, flow: Flow, count: int = 1) -> list[str]:
    skus = env.shop.catalog_skus()
    ids = [
        env.shop.place_order(lines=[(skus[0], 1)], email=f"kund{n}@example.se")
        for n in range(count)
    ]
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE] * count
    return ids


async def _status_round(env: SimulatedConnection, flow: Flow) -> None:
    """One look of the watch (every watched order due now) and the shop writes it queued."""
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z'"
        " WHERE register = ? AND state = 'waiting'",
        (WATCH,),
    )
    await flow.engine.drain(WATCH, batch=50)
    await env.drain(flow, STATUS)


async def test_booking_the_invoice_completes_the_order_with_email_and_capture_once(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    (order,) = await _transfer(env, flow)
    await _status_round(env, flow)
    # write back on transfer: the order is in the ERP, the shop shows "picking", no e-mail
    assert env.shop.order_status(order) == "picking"
    (first,) = env.shop.status_changes(order)
    assert (first.email_requested, first.capture_requested) == (False, False)

    env.erp.order_event(env.reference(order), OrderEvent.INVOICED)
    await _status_round(env, flow)
    assert env.shop.order_status(order) == "completed"
    changes = env.shop.status_changes(order)
    assert [c.status for c in changes] == ["picking", "completed"]
    assert (changes[1].email_requested, changes[1].capture_requested) == (True, True)
    assert changes[1].payment_action == "captured"

    # looking again changes nothing: no second write, no second capture
    await _status_round(env, flow)
    await _status_round(env, flow)
    assert len(env.shop.status_changes(order)) == 2


async def test_flags_are_sent_false_explicitly_not_left_to_starweb_defaults(
    env: SimulatedConnection,
) -> None:
    """Starweb captures on a status change unless told not to (reference/shop-apis.md §2:
    onOrderStatusChangeProcessPayment defaults to true): a rule without capture must say
    false, or the shop would capture anyway."""
    flow = env.flow()
    (order,) = await _transfer(env, flow)
    env.erp.order_event(env.reference(order), OrderEvent.CANCELLED)
    await _status_round(env, flow)
    assert env.shop.order_status(order) == "canceled"
    last = env.shop.status_changes(order)[-1]
    assert (last.email_requested, last.capture_requested) == (True, False)
    assert last.payment_action == ""


async def test_one_erp_request_asks_about_many_orders(env: SimulatedConnection) -> None:
    flow = env.flow()
    orders = await _transfer(env, flow, count=12)
    for order in orders[:5]:
        env.erp.order_event(env.reference(order), OrderEvent.INVOICED)
    before = len(env.erp.requests)
    await flow.engine.drain(WATCH, batch=50)
    asked = env.erp.requests[before:]
    # drafts by number, then the booked by reference: a few requests, not one per order
    assert 1 <= len(asked) <= 3, asked
    await env.drain(flow, STATUS)
    statuses = [env.shop.order_status(order) for order in orders]
    assert statuses == ["completed"] * 5 + ["picking"] * 7


async def test_a_late_lower_event_never_moves_the_order_back(
    env: SimulatedConnection,
) -> None:
    """A cancellation after the invoice was written is the furthest event and is applied;
    a repeat of an earlier, lower event afterwards is recorded and changes nothing."""
    flow = env.flow()
    (order,) = await _transfer(env, flow)
    env.erp.order_event(env.reference(order), OrderEvent.INVOICED)
    await _status_round(env, flow)
    assert env.shop.order_status(order) == "completed"
    # the furthest event is written at once: no "picking" on the way
    assert [c.status for c in env.shop.status_changes(order)] == ["completed"]
    # an answer arrives out of order: "transferred" alone, after "invoiced" was written
    stale = DocumentState(
        reference=env.reference(order),
        number="1",
        events=frozenset({OrderEvent.TRANSFERRED}),
    )
    await _enqueue_status(env, order, stale)
    await env.drain(flow, STATUS)
    assert env.shop.order_status(order) == "completed"
    assert len(env.shop.status_changes(order)) == 1
    events = await env.store.events.for_record(env.connection, STATUS, env.shop_name, order)
    assert any("never moves it back" in e.message for e in events)


async def _enqueue_status(env: SimulatedConnection, order: str, state: DocumentState) -> None:
    await env.store.items.enqueue_many(
        connection=env.connection,
        register=STATUS,
        instance=env.shop_name,
        records=[
            Discovered(
                order,
                ready=True,
                source_time=datetime.now(UTC) + timedelta(hours=1),
                payload=msgspec.json.encode(state),
                reopen=True,
            )
        ],
        now=datetime.now(UTC),
    )


async def test_an_event_for_an_order_not_in_the_erp_yet_is_parked_then_applied(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    skus = env.shop.catalog_skus()
    order = env.shop.place_order(lines=[(skus[0], 1)], email="kund@example.se")
    early = DocumentState(
        reference=env.reference(order),
        number="1",
        events=frozenset({OrderEvent.TRANSFERRED, OrderEvent.INVOICED}),
    )
    await _enqueue_status(env, order, early)
    await env.drain(flow, STATUS)
    parked = await env.item(order, STATUS)
    assert parked.state is ItemState.WAITING
    assert "parked" in parked.last_error
    assert env.shop.status_changes(order) == []

    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE]
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z' WHERE register = ?",
        (STATUS,),
    )
    await env.drain(flow, STATUS)
    assert env.shop.order_status(order) == "completed"


async def test_a_write_that_landed_but_answered_500_is_not_repeated_nor_captured_twice(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    (order,) = await _transfer(env, flow)
    await _status_round(env, flow)
    env.erp.order_event(env.reference(order), OrderEvent.INVOICED)
    env.shop.faults.add(Fault("commit_then_fail", methods=frozenset({"PATCH"}), times=1))
    await _status_round(env, flow)
    assert env.shop.faults.fired == {"commit_then_fail": 1}
    changes = env.shop.status_changes(order)
    assert [c.status for c in changes] == ["picking", "completed"]
    assert [c.payment_action for c in changes].count("captured") == 1
    assert (await env.item(order, STATUS)).state is ItemState.DONE


async def test_a_write_in_doubt_is_not_sent_again_before_the_settle_period(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    (order,) = await _transfer(env, flow)
    await _status_round(env, flow)
    env.erp.order_event(env.reference(order), OrderEvent.INVOICED)
    env.shop.faults.add(Fault("late_commit", methods=frozenset({"PATCH"}), times=1))
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z' WHERE register = ?",
        (WATCH,),
    )
    await flow.engine.drain(WATCH, batch=50)
    assert await env.drain(flow, STATUS) == [ItemState.RECONCILE]
    # due again at once, but still in doubt: nothing is sent
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z' WHERE register = ?",
        (STATUS,),
    )
    assert await env.drain(flow, STATUS) == [ItemState.RECONCILE]
    assert [c.status for c in env.shop.status_changes(order)] == ["picking"]
    # the slow write lands; once the settle period is over the order is read: no new write
    assert await env.shop.faults.land_held() == 1
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z',"
        " doubt_until = '2000-01-01T00:00:00.000000Z' WHERE register = ?",
        (STATUS,),
    )
    assert await env.drain(flow, STATUS) == [ItemState.DONE]
    changes = env.shop.status_changes(order)
    assert [c.status for c in changes] == ["picking", "completed"]
    assert [c.payment_action for c in changes].count("captured") == 1


async def test_the_watch_ends_when_the_order_is_cancelled(env: SimulatedConnection) -> None:
    flow = env.flow()
    (order,) = await _transfer(env, flow)
    env.erp.order_event(env.reference(order), OrderEvent.CANCELLED)
    await _status_round(env, flow)
    watch = await env.item(order, WATCH)
    assert watch.state is ItemState.DONE
    assert "cancelled in the ERP" in watch.result


async def test_erp_notices_make_the_watch_due_and_a_burst_shares_one_look(tmp_path: Path) -> None:
    # a little ahead of the shop's real clock, so the first poll window holds the new order
    clock = FakeClock(datetime.now(UTC) + timedelta(seconds=5))
    async with SimulatedConnection.open(
        tmp_path,
        shop_options={"seed": 3},
        status=RULES,
        clock=clock,
        connection={"poll": {"status": "1h"}},
    ) as env:
        flow = env.flow()
        (order,) = await _transfer(env, flow)
        await flow.engine.drain(WATCH, batch=50)  # the first look: nothing happened yet
        watch = await env.item(order, WATCH)
        assert watch.state is ItemState.WAITING
        assert watch.next_attempt >= clock.now() + timedelta(hours=1)

        first = clock.now()
        assert await flow.erp_notice(WATCH, 30.0) == 1
        assert (await env.item(order, WATCH)).next_attempt == first
        # the rest of the burst: already due, nothing moves
        assert await flow.erp_notice(WATCH, 30.0) == 0
        env.erp.order_event(env.reference(order), OrderEvent.INVOICED)
        clock.advance(1.0)  # the booking is a moment old when the watch looks
        await flow.engine.drain(WATCH, batch=50)
        await env.drain(flow, STATUS)
        assert env.shop.order_status(order) == RULES["invoiced"]["shop_status"]
        # a notice right after that look waits for the gap (the fake clock moved a little on
        # the rate limiter): one look per 30 s at most
        later = await env.item(order, WATCH)
        assert later.next_attempt >= clock.now() + timedelta(hours=1)
        assert await flow.erp_notice(WATCH, 30.0) == 1
        moved = await env.item(order, WATCH)
        assert moved.next_attempt == first + timedelta(seconds=30)
