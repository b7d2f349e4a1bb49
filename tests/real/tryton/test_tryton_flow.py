"""The real orders flow (brygga.testing.SimulatedConnection: the Starweb simulator as the shop)
into Tryton, exactly once: first into the Tryton simulator, then into a real trytond 8.2.

A write whose outcome is unknown is never repeated before a lookup by reference can see it
(DESIGN §2.1; reference erp-apis.md §5.5: Tryton has no idempotency key, each RPC is its own
transaction and may have committed when the answer is lost).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tryton_support import TrytonServer

from brygga.clock import FakeClock
from brygga.store import ItemState
from brygga.sync.orders import DOUBT_RECHECK, WRITEBACK, OrdersFlow
from brygga.testing import Fault, SimulatedConnection
from brygga.testing.connection import ERP_HOST, SHOP_HOST

pytestmark = pytest.mark.anyio

CREATE_PATH = r"/rpc/model\.sale\.sale\.create$"


def fake_clock() -> FakeClock:
    return FakeClock(datetime.now(UTC) + timedelta(seconds=5))


async def one_order(env: SimulatedConnection, flow: OrdersFlow, sku: str = "KAFFE-500") -> str:
    oid = env.shop.place_order(lines=[(sku, 2)], email="kund@example.se")
    assert await flow.poll_once("se") == 1
    return str(oid)


async def step(flow: OrdersFlow) -> ItemState:
    item = await flow.claim()
    assert item is not None, "nothing was due"
    return await flow.process(item)


# --- on the simulator ---------------------------------------------------------------------------


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(
        tmp_path, erp_kind="tryton", shop_options={"seed": 3}, clock=fake_clock()
    ) as opened:
        yield opened


async def test_orders_become_one_sale_each_on_the_simulator(env: SimulatedConnection) -> None:
    flow = env.flow()
    ids = [await one_order(env, flow, sku) for sku in ("KAFFE-500", "TE-100", "BOK-01")]
    assert await env.drain(flow) == [ItemState.DONE] * 3
    await env.drain(flow, WRITEBACK)
    for oid in ids:
        assert env.copies(oid) == 1
        [stored] = env.erp.documents_with_reference(env.reference(oid))
        total, vat = env.shop.order_total(oid)
        assert (stored.gross, stored.vat) == (total, vat)
        assert env.shop.exported_document(oid) == stored.number


async def test_a_write_that_lands_after_the_timeout_makes_one_sale(
    env: SimulatedConnection,
) -> None:
    clock = env.clock
    assert isinstance(clock, FakeClock)
    flow = env.flow()
    oid = await one_order(env, flow)
    env.erp.faults.add(Fault("late_commit", methods=frozenset({"POST"}), path=CREATE_PATH, times=1))
    assert await step(flow) is ItemState.RECONCILE
    assert env.erp.faults.held == 1 and env.copies(oid) == 0
    clock.advance(DOUBT_RECHECK)
    assert await step(flow) is ItemState.RECONCILE  # looked up, nothing yet, nothing sent
    creates = [r for r in env.erp.requests if r[1].endswith("model.sale.sale.create")]
    assert len(creates) == 1
    await env.erp.faults.land_held()
    clock.advance(DOUBT_RECHECK)
    assert await step(flow) is ItemState.DONE
    assert env.copies(oid) == 1


# --- on a real trytond -------------------------------------------------------------------------


class Forward:
    """An ASGI app that forwards every request to the real trytond (the connection's routing
    transport knows hosts, not ports)."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=60.0)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.lower() != b"host"]
        answer = await self.client.request(
            scope["method"], scope["path"], content=body, headers=headers
        )
        await send(
            {
                "type": "http.response.start",
                "status": answer.status_code,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": answer.content})


@pytest.fixture
async def real_env(
    tmp_path: Path, tryton_server: TrytonServer
) -> AsyncIterator[tuple[SimulatedConnection, TrytonServer]]:
    admin = tryton_server.admin
    have = {r["code"] for r in await admin.search_read("product.product", [], ["code"])}
    for sku, name, price, vat in (
        ("KAFFE-500", "Kaffe mellanrost 500 g", "89.00", "25"),
        ("TE-100", "Te Earl Grey 100 g", "45.00", "12"),
    ):
        if sku not in have:
            await admin.create_product(
                sku, name, Decimal(price), vat=Decimal(vat), stock=Decimal(50)
            )
    forward = Forward(tryton_server.url)
    config = tryton_server.adapter_config()
    del config["base_url"]
    try:
        async with SimulatedConnection.open(
            tmp_path,
            erp_kind="tryton",
            erp_options={"seed_catalog": False},
            erp_config={**config, "rate_limit": {"requests": 200, "per_seconds": 0.05}},
            shop_options={"seed": 3},
            clock=fake_clock(),
            routes=lambda shop, erp: {SHOP_HOST: shop.app, ERP_HOST: forward},
        ) as opened:
            yield opened, tryton_server
    finally:
        await forward.client.aclose()


async def sales_with(server: TrytonServer, reference: str) -> list[dict[str, Any]]:
    return await server.admin.search_read(
        "sale.sale",
        [["reference", "=", reference]],
        ["number", "state", "total_amount", "invoices"],
    )


@pytest.mark.real
async def test_orders_become_one_tryton_sale_and_invoice_each_and_a_crash_repeats_nothing(
    real_env: tuple[SimulatedConnection, TrytonServer],
) -> None:
    env, server = real_env
    first = env.flow("run-1")
    plain = await one_order(env, first, "TE-100")
    assert await env.drain(first) == [ItemState.DONE]
    await env.drain(first, WRITEBACK)
    [sale] = await sales_with(server, env.reference(plain))
    total, _vat = env.shop.order_total(plain)
    assert sale["total_amount"] == total and sale["state"] == "processing"
    assert len(sale["invoices"]) == 1  # the default document is an invoice: the sale's
    assert env.shop.exported_document(plain) == sale["number"]

    crashed = await one_order(env, first)
    await env.crash_after_create(first)
    second = env.flow("run-2")
    clock = env.clock
    assert isinstance(clock, FakeClock)
    await env.store.items.recover(
        connection="demo", run_id="run-2", now=clock.now(), settle=second.settle
    )
    assert await env.drain(second) == [ItemState.DONE]
    assert len(await sales_with(server, env.reference(crashed))) == 1
    events = await env.store.events.for_record("demo", "orders", "se", crashed)
    assert "reconciled" in [e.kind for e in events]
