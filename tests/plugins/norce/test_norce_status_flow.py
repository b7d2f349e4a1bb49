"""Order status back to Norce through the real status register: e-conomic events become
SendOrderStatus writes, once each and never backwards (shop-apis.md §4.3, [NO6])."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from brygga.models import OrderEvent
from brygga.store import ItemState
from brygga.sync.flow import Flow
from brygga.sync.status import STATUS, WATCH
from brygga.sync.writeback import WRITEBACK
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio

RULES: dict[str, Any] = {
    # the export mark already confirms the order (an ERP acknowledgement, [NO4])
    "transferred": {"shop_status": "Confirmed"},
    "invoiced": {"shop_status": "Invoiced"},
    "cancelled": {"shop_status": "Cancelled"},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(
        tmp_path, shop_kind="norce", shop_options={"seed": 3}, status=RULES
    ) as opened:
        yield opened


async def _round(env: SimulatedConnection, flow: Flow) -> None:
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z'"
        " WHERE register = ? AND state = 'waiting'",
        (WATCH,),
    )
    await flow.engine.drain(WATCH, batch=50)
    await env.drain(flow, STATUS)


async def test_invoiced_in_e_conomic_becomes_invoiced_in_norce_once(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    order = env.shop.place_order(lines=[("KAFFE-500", 1)], email="a@example.se")
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE]
    await env.drain(flow, WRITEBACK)
    await _round(env, flow)
    assert env.shop.order_status(order) == "Confirmed"
    env.erp.order_event(env.reference(order), OrderEvent.INVOICED)
    await _round(env, flow)
    assert env.shop.order_status(order) == "Invoiced"
    await _round(env, flow)
    sent = env.shop.status_log(order)
    # the export mark acknowledged it with the ERP number; the "transferred" rule found the
    # order Confirmed already and wrote nothing; the invoice wrote Invoiced, keeping the number
    assert [body["OrderStatus"] for body in sent] == ["Confirmed", "Invoiced"]
    assert [body["ErpOrderNo"] for body in sent] == [sent[0]["ErpOrderNo"]] * 2
    assert env.shop.exported_document(order) == sent[0]["ErpOrderNo"]
