"""Orders changed in the shop after their transfer: flagged for a person, our own writes not.

``[connection.orders] shop_changes``: an edit (lines, totals) or a cancellation in the shop
after the order is in the ERP puts a record naming the order, the document and the fix in
the error queue; the export mark and status writes brygga makes itself are no change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from brygga.models import OrderEvent
from brygga.store import ItemState
from brygga.sync.flow import Flow
from brygga.sync.orders import WRITEBACK
from brygga.sync.shop_changes import CHANGED, SHOP_CHANGE
from brygga.sync.status import STATUS, WATCH
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(
        tmp_path,
        shop_options={"seed": 3},
        status={"transferred": {"shop_status": "picking"}},
    ) as opened:
        yield opened


async def _transferred(env: SimulatedConnection, flow: Flow) -> str:
    skus = env.shop.catalog_skus()
    order = env.shop.place_order(lines=[(skus[0], 2)], email="kund@example.se")
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE]
    await env.drain(flow, WRITEBACK)
    return order


async def _look(env: SimulatedConnection, flow: Flow) -> list[ItemState]:
    """The next poll sees the changed orders; the checks and their actions run."""
    await flow.poll_once(env.shop_name)
    await env.drain(flow, CHANGED)
    return await env.drain(flow, SHOP_CHANGE)


async def _flags(env: SimulatedConnection) -> list[str]:
    items = await env.store.items.query()
    return [i.last_error for i in items if i.register == SHOP_CHANGE and i.state.value == "failed"]


async def test_our_own_export_mark_and_status_writes_are_no_change(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    order = await _transferred(env, flow)
    assert env.shop.exported_document(order)  # the mark changed the order in the shop
    assert await _look(env, flow) == []
    check = await env.item(order, CHANGED)
    assert check.state is ItemState.DONE
    assert check.result == "no change to the transferred order"
    assert await _flags(env) == []


async def test_a_check_records_its_own_registers_health(env: SimulatedConnection) -> None:
    # a failed check marks orders.changed failing (the engine, by the item's register); the
    # next check that works must clear that line, not mark the orders register instead
    flow = env.flow()
    await _transferred(env, flow)
    before = {s.register for s in await env.store.status.all() if s.state == "ok"}
    await _look(env, flow)
    rows = {s.register: s for s in await env.store.status.all()}
    assert CHANGED in rows and rows[CHANGED].state == "ok"
    assert rows[CHANGED].last_success is not None
    assert before <= {r for r, s in rows.items() if s.state == "ok"}


async def test_an_edit_in_the_shop_after_transfer_is_flagged_once(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    order = await _transferred(env, flow)
    await _look(env, flow)
    await anyio.sleep(1.05)  # Starweb's modifiedAt has whole seconds: the edit comes later
    env.shop.order(order).items[0].quantity = Decimal(5)
    env.shop.touch(order)
    assert await _look(env, flow) == [ItemState.FAILED]
    (flag,) = await _flags(env)
    document = env.erp.documents_with_reference(env.reference(order))[0].number
    assert f"order {order}" in flag and "was edited in shop 'se' after its transfer" in flag
    assert f"ERP document {document} still has the order as it was" in flag
    assert "brygga errors resolve" in flag and "<id>" not in flag
    # touched again with the same content (or our own write): no second record
    await anyio.sleep(1.05)
    env.shop.touch(order)
    assert await _look(env, flow) == []
    assert len(await _flags(env)) == 1


async def test_a_cancellation_in_the_shop_after_transfer_is_flagged(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    order = await _transferred(env, flow)
    env.shop.set_status(order, "canceled")
    assert await _look(env, flow) == [ItemState.FAILED]
    (flag,) = await _flags(env)
    assert "was cancelled in shop 'se' after its transfer" in flag
    assert "cancel or credit the document in the ERP by hand" in flag
    # the ERP document is untouched (flag, not cancel)
    assert env.copies(order) == 1


async def test_shop_changes_ignore_looks_at_nothing(tmp_path: Path) -> None:
    async with SimulatedConnection.open(
        tmp_path, shop_options={"seed": 3}, orders={"shop_changes": "ignore"}
    ) as env:
        flow = env.flow()
        order = await _transferred(env, flow)
        env.shop.set_status(order, "canceled")
        await flow.poll_once(env.shop_name)
        assert [i for i in await env.store.items.query() if i.register == CHANGED] == []


async def test_a_cancellation_brygga_wrote_from_the_erp_is_no_shop_change(tmp_path: Path) -> None:
    rules = {"cancelled": {"shop_status": "canceled"}}
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}, status=rules) as env:
        flow = env.flow()
        order = await _transferred(env, flow)
        env.erp.order_event(env.reference(order), OrderEvent.CANCELLED)
        await flow.engine.drain(WATCH, batch=50)
        await env.drain(flow, STATUS)
        assert env.shop.order_status(order) == "canceled"
        assert await _look(env, flow) == []
        assert await _flags(env) == []


async def test_shop_changes_cancel_deletes_the_draft_once(tmp_path: Path) -> None:
    async with SimulatedConnection.open(
        tmp_path, shop_options={"seed": 3}, orders={"shop_changes": "cancel"}
    ) as env:
        flow = env.flow()
        order = await _transferred(env, flow)
        kept = await _transferred(env, flow)
        assert env.copies(order) == 1
        env.shop.set_status(order, "canceled")
        assert await _look(env, flow) == [ItemState.DONE]
        (action,) = [i for i in await env.store.items.query() if i.register == SHOP_CHANGE]
        assert action.external_id.startswith(f"{order}@")
        assert action.result.startswith("cancelled ")
        assert env.copies(order) == 0  # the draft invoice is deleted
        assert env.copies(kept) == 1  # the other order's is not
        assert await _flags(env) == []
        # the next poll sees the cancelled order again: nothing more happens
        assert await _look(env, flow) == []
        assert env.copies(kept) == 1


async def test_shop_changes_cancel_flags_a_booked_invoice_for_a_credit_note(
    tmp_path: Path,
) -> None:
    async with SimulatedConnection.open(
        tmp_path, shop_options={"seed": 3}, orders={"shop_changes": "cancel"}
    ) as env:
        flow = env.flow()
        order = await _transferred(env, flow)
        env.erp.order_event(env.reference(order), OrderEvent.INVOICED)  # booked by hand
        env.shop.set_status(order, "canceled")
        assert await _look(env, flow) == [ItemState.FAILED]
        (flag,) = await _flags(env)
        assert "was cancelled in shop 'se' after its transfer" in flag
        assert "credit note" in flag
        assert env.copies(order) == 1  # the booked invoice stays
