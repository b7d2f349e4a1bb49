"""The orders flow end to end on the Starweb and e-conomic simulators: exactly once, always."""

from __future__ import annotations

from decimal import Decimal

import anyio
import pytest

from brygga.store import ItemState
from brygga.sync.orders import WRITEBACK
from brygga.testing import Fault
from brygga.testing import SimulatedConnection as FlowEnv

pytestmark = pytest.mark.anyio


def _place(env: FlowEnv, n: int = 1, **kwargs: object) -> list[str]:
    skus = ["KAFFE-500", "TE-100", "BOK-01", "TROJA-M"]
    return [
        env.shop.place_order(
            lines=[(skus[i % 4], 1 + i % 3), (skus[(i + 1) % 4], 1)],
            email=f"kund{i}@example.se",
            freight=Decimal("49.00"),
            **kwargs,  # type: ignore[arg-type]
        )
        for i in range(n)
    ]


async def test_orders_arrive_once_with_shop_totals_and_document_number_written_back(
    env: FlowEnv,
) -> None:
    ids = _place(env, 5)
    flow = env.flow()
    assert await flow.poll_once("se") == 5
    assert set(await env.drain(flow)) == {ItemState.DONE}
    await env.drain(flow, WRITEBACK)
    for oid in ids:
        [doc] = env.erp.documents_with_reference(env.reference(oid))
        total, vat = env.shop.order_total(oid)
        assert (doc.gross, doc.vat) == (total, vat)
        assert env.shop.exported_document(oid) == doc.number
    # polling the same window again finds nothing new and sends nothing
    assert await flow.poll_once("se") == 0
    assert await env.drain(flow) == []
    assert len(env.erp.documents()) == 5


async def test_commit_then_fail_on_create_is_reconciled_not_resent(env: FlowEnv) -> None:
    [oid] = _place(env)
    env.erp.faults.add(
        Fault("commit_then_fail", methods=frozenset({"POST"}), path="drafts", times=1)
    )
    flow = env.flow()
    await flow.poll_once("se")
    outcomes = await env.drain(flow)
    assert outcomes == [ItemState.RETRY, ItemState.DONE]
    assert env.erp.faults.fired["commit_then_fail"] == 1
    assert env.copies(oid) == 1


async def test_timeout_after_commit_is_reconciled(env: FlowEnv) -> None:
    [oid] = _place(env)
    env.erp.faults.add(
        Fault(
            "commit_then_fail",
            methods=frozenset({"POST"}),
            path="drafts",
            times=1,
            then_timeout=True,
        )
    )
    flow = env.flow()
    await flow.poll_once("se")
    await env.drain(flow)
    assert env.copies(oid) == 1


async def test_worker_cancelled_between_intent_and_result_reconciles_on_restart(
    env: FlowEnv,
) -> None:
    [oid] = _place(env)
    first = env.flow("run-1")
    await first.poll_once("se")
    await env.crash_after_create(first)
    assert env.copies(oid) == 1
    left = await env.store.items.find(
        connection="demo", register="orders", instance="se", external_id=oid
    )
    assert left is not None and left.state is ItemState.SENDING

    second = env.flow("run-2")
    assert (
        await env.store.items.recover(connection="demo", run_id="run-2", now=second.clock.now())
        == 1
    )
    assert await env.drain(second) == [ItemState.DONE]
    assert env.copies(oid) == 1


async def test_overlapping_windows_and_racing_pollers_enqueue_once(env: FlowEnv) -> None:
    ids = _place(env, 12)
    flow_a, flow_b = env.flow("a"), env.flow("b")
    async with anyio.create_task_group() as tg:
        for flow in (flow_a, flow_b, flow_a, flow_b):
            tg.start_soon(flow.poll_once, "se")
    async with anyio.create_task_group() as tg:
        for flow in (flow_a, flow_b):
            tg.start_soon(env.drain, flow)
    assert all(env.copies(oid) == 1 for oid in ids)
    assert len(env.erp.documents()) == 12


async def test_not_ready_orders_wait_and_cancelled_ones_are_skipped(env: FlowEnv) -> None:
    conn = env.loaded.connections[0]
    [waiting, cancelled] = _place(env, 2, status="created")
    env.shop.set_status(cancelled, "canceled")
    flow = env.flow()
    flow.options = type(conn.config.orders)(ready_statuses=["completed"])
    await flow.poll_once("se")
    outcomes = sorted(s.value for s in await env.drain(flow))
    assert outcomes == ["skipped", "waiting"]
    assert env.copies(waiting) == 0
    env.shop.set_status(waiting, "completed")
    await flow.poll_once("se")  # modifiedAt moved: the item is promoted
    assert await env.drain(flow) == [ItemState.DONE]
    assert env.copies(waiting) == 1 and env.copies(cancelled) == 0


async def test_a_shop_s_own_ready_and_cancelled_statuses_override_the_connection_s(
    env: FlowEnv,
) -> None:
    """First-hour QA: shops of different kinds on one connection name their statuses
    differently (Vendure: PaymentSettled, Starweb: completed), but ready_statuses and
    cancelled_statuses were the connection's only; [connection.orders.shops.<shop>] has them."""
    conn = env.loaded.connections[0]
    orders_config = type(conn.config.orders)
    shop_config = type(conn.config.orders.shop("se"))
    [waiting, ready, cancelled] = _place(env, 3, status="created")
    env.shop.set_status(ready, "completed")
    env.shop.set_status(cancelled, "canceled")
    flow = env.flow()
    flow.options = orders_config(
        ready_statuses=["PaymentSettled"],  # another shop's names: se's orders would all wait
        cancelled_statuses=["Cancelled"],
        shops={"se": shop_config(ready_statuses=["completed"], cancelled_statuses=["canceled"])},
    )
    await flow.poll_once("se")
    assert sorted(s.value for s in await env.drain(flow)) == ["done", "skipped", "waiting"]
    assert (env.copies(waiting), env.copies(ready), env.copies(cancelled)) == (0, 1, 0)
    [item] = [i for i in await env.store.items.query() if i.external_id == waiting]
    assert "waiting for status completed (now 'created')" in item.last_error


async def test_unknown_sku_fails_one_record_and_others_proceed(env: FlowEnv) -> None:
    [bad, good] = _place(env, 2)
    env.erp.remove_article("KAFFE-500")
    env.shop.mangle_order(good, lambda o: None)  # unchanged; keeps ids in order
    flow = env.flow()
    await flow.poll_once("se")
    outcomes = await env.drain(flow)
    assert ItemState.FAILED in outcomes and ItemState.DONE in outcomes
    failed = await env.store.items.query(states=[ItemState.FAILED])
    assert [f.external_id for f in failed] == [bad]
    assert "KAFFE-500" in failed[0].last_error and bad in failed[0].last_error
    assert env.copies(good) == 1


@pytest.mark.orders_read_alone
async def test_transient_shop_errors_retry_and_never_lose_the_order(env: FlowEnv) -> None:
    [oid] = _place(env)
    flow = env.flow()
    await flow.poll_once("se")
    env.shop.faults.add(Fault("status", status=503, path="/orders/", times=2))
    outcomes = await env.drain(flow)
    assert outcomes == [ItemState.RETRY, ItemState.RETRY, ItemState.DONE]
    assert env.copies(oid) == 1
