"""A state file restored from an older backup: the shop's export mark prevents a second document.

Orders transferred after the backup are new again to the restored state file. The engine looks
a reference up only when its own state shows an earlier intent (DESIGN §2.1), so the shop's
own record decides: an order the shop marks as exported (Starweb external service
``brygga``, the mark ``mark_exported`` writes: reference/shop-apis.md "External ids") is looked
up by reference before anything is sent, and bound to what is found.
"""

from __future__ import annotations

from typing import Any

import pytest

from brygga.models import DocumentRef, DocumentType
from brygga.store import ItemState
from brygga.sync.orders import WRITEBACK, Replay, replay_payload
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio


async def _transferred_then_forgotten(env: SimulatedConnection) -> tuple[str, Any]:
    """One order transferred and marked in the shop; then the state file forgets it all."""
    oid = str(env.shop.place_order(lines=[("KAFFE-500", 1)], email="kund@example.se"))
    flow = env.flow()
    assert await flow.poll_once(env.shop_name) == 1
    assert await env.drain(flow) == [ItemState.DONE]
    assert await env.drain(flow, WRITEBACK) == [ItemState.DONE]
    for table in ("work_items", "bindings", "cursors", "events"):
        await env.store.db.execute(f"DELETE FROM {table}")  # the backup from before the order
    again = env.flow("run-2")
    assert await again.poll_once(env.shop_name) == 1
    return oid, again


async def test_an_order_the_shop_marks_as_exported_is_found_not_sent_again(
    env: SimulatedConnection,
) -> None:
    oid, flow = await _transferred_then_forgotten(env)
    [document] = env.erp.documents_with_reference(env.reference(oid))
    assert await env.drain(flow) == [ItemState.DONE]
    assert env.copies(oid) == 1
    item = await env.item(oid)
    assert item.result == str(document.number)
    events = await env.store.events.for_record(env.connection, "orders", env.shop_name, oid)
    assert any(e.kind == "reconciled" for e in events), [e.message for e in events]


async def test_a_marked_order_without_its_document_fails_with_the_fix(
    env: SimulatedConnection,
) -> None:
    # marked as exported (by an older state file's daemon, or by hand), no document found
    oid = str(env.shop.place_order(lines=[("KAFFE-500", 1)], email="kund@example.se"))
    flow = env.flow()
    mark = DocumentRef(document_type=DocumentType.INVOICE, number="999", reference="")
    await flow.shops[env.shop_name].mark_exported(oid, mark)
    assert await flow.poll_once(env.shop_name) == 1
    assert await env.drain(flow) == [ItemState.FAILED]
    assert env.copies(oid) == 0
    item = await env.item(oid)
    assert "already exported to the ERP as document 999" in item.last_error
    assert f"brygga errors resolve {item.id}" in item.last_error
    assert item.reference == ""  # nothing was sent


async def test_a_forced_replay_of_a_bound_order_is_not_stopped_by_its_own_mark(
    env: SimulatedConnection,
) -> None:
    oid = str(env.shop.place_order(lines=[("KAFFE-500", 1)], email="kund@example.se"))
    flow = env.flow()
    assert await flow.poll_once(env.shop_name) == 1
    assert await env.drain(flow) == [ItemState.DONE]
    assert await env.drain(flow, WRITEBACK) == [ItemState.DONE]
    item = await env.item(oid)
    assert await env.store.items.reopen(
        item.id,
        flow.clock.now(),
        from_states=[ItemState.DONE],
        payload=replay_payload(Replay(1, item.result)),
    )
    assert await env.drain(flow) == [ItemState.DONE]
    assert env.copies(oid, generation=1) == 1
