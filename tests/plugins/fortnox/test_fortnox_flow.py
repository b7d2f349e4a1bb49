"""The real flows on the simulators: Starweb orders into Fortnox, Fortnox status back.

The orders flow transfers each order once as an invoice whose ``ExternalInvoiceReference1`` is
the reference (reference/erp-apis.md §2.8); booking and paying it in Fortnox (§2.6, §2.9)
moves the shop order along the ``[connection.status]`` rules once, and a restart reads the
rotated refresh token from the state file (§2.1: the config's token is spent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from brygga.models import OrderEvent
from brygga.store import ItemState
from brygga.sync.status import STATUS, WATCH
from brygga.testing import SimulatedConnection
from brygga_fortnox.auth import REFRESH_KEY

pytestmark = pytest.mark.anyio

RULES: dict[str, Any] = {
    "transferred": {"shop_status": "picking"},
    "invoiced": {"shop_status": "completed", "email": True, "capture": True},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(
        tmp_path,
        erp_kind="fortnox",
        shop_options={"seed": 3},
        # the simulator's 25/5 s window is tested elsewhere; a short window of our own keeps
        # the limiter's first wait (one window) short on the system clock
        erp_options={"rate_limit": None},
        erp_config={"rate_limit": {"requests": 1000, "per_seconds": 0.05}},
        status=RULES,
    ) as opened:
        yield opened


async def _status_round(env: SimulatedConnection, flow: Any) -> None:
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z'"
        " WHERE register = ? AND state = 'waiting'",
        (WATCH,),
    )
    await flow.engine.drain(WATCH, batch=50)
    await env.drain(flow, STATUS)


async def test_orders_become_invoices_once_and_booking_completes_them(
    env: SimulatedConnection,
) -> None:
    flow = env.flow()
    skus = env.shop.catalog_skus()
    ids = [
        env.shop.place_order(lines=[(skus[0], 2)], email=f"kund{n}@example.se") for n in range(2)
    ]
    assert await flow.poll_once(env.shop_name) == 2
    assert await env.drain(flow) == [ItemState.DONE, ItemState.DONE]
    for order in ids:
        assert env.copies(order) == 1
        (document,) = env.erp.documents_with_reference(env.reference(order))
        gross, _ = env.shop.order_total(order)
        assert document.gross == gross
    await _status_round(env, flow)
    assert [env.shop.order_status(o) for o in ids] == ["picking", "picking"]
    env.erp.order_event(env.reference(ids[0]), OrderEvent.INVOICED)
    await _status_round(env, flow)
    assert [env.shop.order_status(o) for o in ids] == ["completed", "picking"]
    await _status_round(env, flow)
    assert len(env.shop.status_changes(ids[0])) == 2


async def test_the_rotated_refresh_token_is_in_the_state_file(env: SimulatedConnection) -> None:
    flow = env.flow()
    order = env.shop.place_order(lines=[(env.shop.catalog_skus()[0], 1)], email="a@example.se")
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE]
    rows = await env.store.db.fetchall(
        "SELECT account, key FROM adapter_state WHERE key = ?", (REFRESH_KEY,)
    )
    assert [row[0].startswith("fortnox:") for row in rows] == [True]
    assert env.copies(order) == 1
