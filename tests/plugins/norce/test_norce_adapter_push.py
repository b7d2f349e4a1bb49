"""Pushed orders: verified, kept durably and idempotently, read by the change feed, routed by
channel; the Query API catches up on orders never pushed (shop-apis.md §4.3, §4.7, [NO3])."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import httpx
import msgspec
import pytest
from norce_support import START, open_adapter

from brygga.accountstate import MemoryAdapterState
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.http.app import WebhookRegistry, create_app
from brygga.metrics import Metrics
from brygga.models import LineKind
from brygga.runtime.actor import _register_webhooks
from brygga.secrets import Secret
from brygga_norce.adapter import NorceAdapter
from brygga_norce.simulator import NorceSimulator

pytestmark = pytest.mark.anyio

TOKEN = "norce-0123456789abcdefghijkl"
RECEIVER = f"http://daemon/webhooks/demo/{TOKEN}"
FAR = (START.replace(year=2000), START.replace(year=2100))


@dataclass
class _Shop:
    name: str
    webhook_token: Secret | None


@dataclass
class _Erp:
    webhook_token: Secret | None = None


@dataclass
class _Connection:
    name: str
    shops: list[_Shop]
    erp: _Erp = field(default_factory=_Erp)


@dataclass
class _Flow:
    shops: dict[str, object]
    poked: list[str] = field(default_factory=list)

    def poke(self, instance: str) -> None:
        self.poked.append(instance)


def _daemon(flow: _Flow) -> httpx.AsyncClient:
    """The daemon's webhook receiver for shop ``norce-se`` (as runtime/actor.py wires it)."""
    registry = WebhookRegistry()
    conn = _Connection("demo", [_Shop("norce-se", Secret(TOKEN))])
    _register_webhooks(cast(Any, conn), cast(Any, flow), registry)
    app = create_app(Metrics(), webhooks=registry)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://daemon")


async def _ids(adapter: NorceAdapter) -> list[str]:
    return [c.shop_order_id async for c in adapter.changed_orders(*FAR)]


@pytest.fixture
async def pushing(sim: NorceSimulator, clock: FakeClock) -> AsyncIterator[Any]:
    async with open_adapter(sim, clock) as adapter:
        flow = _Flow({"norce-se": adapter})
        async with _daemon(flow) as daemon:
            sim.configure_receiver(RECEIVER)
            yield adapter, flow, daemon


async def test_a_pushed_order_is_kept_and_transferred_from_the_push(
    sim: NorceSimulator, pushing: Any
) -> None:
    adapter, flow, daemon = pushing
    ref = sim.place_order(
        lines=[("KAFFE-500", 2), ("MUGG-VIT", 1)], email="anna@example.se", freight=Decimal(49)
    )
    attempts = await sim.push_pending(daemon)
    assert [a.status for a in attempts] == [200] and sim.pending == []
    # the synchronous OrderResponse Norce expects (shop-apis.md §4.3, [NO9-order])
    assert msgspec.json.decode(attempts[0].body) == {
        "StatusCode": "OK",
        "HasErpOrderNo": False,
        "ErpOrderNo": None,
        "Description": "received; queued for the ERP",
    }
    assert flow.poked == ["norce-se"]
    order = await adapter.fetch_order(ref)
    assert (order.total, order.total_vat) == sim.order_total(ref)
    assert [(x.sku, x.quantity) for x in order.lines if x.kind is LineKind.ITEM] == [
        ("KAFFE-500", 2),
        ("MUGG-VIT", 1),
    ]
    assert [x.kind for x in order.lines][-1] is LineKind.FREIGHT
    assert order.customer.email == "anna@example.se"
    assert order.status == "Created" and order.extra["channel"] == "1"
    assert order.extra["payment_method_code"] == "KLARNA"  # only the push carries payments
    assert ref in await _ids(adapter)


async def test_a_push_sent_three_times_is_one_order(sim: NorceSimulator, pushing: Any) -> None:
    """[NO3]: Norce retries, so receipt must be idempotent on ClientOrderRef (§4.7)."""
    adapter, _, daemon = pushing
    ref = sim.place_order(lines=[("TE-100", 1)], email="b@example.se")
    for _ in range(3):
        sim.pending = [int(ref)]
        assert [a.status for a in await sim.push_pending(daemon)] == [200]
    state = adapter.inbox._state
    keys = await state.keys(adapter.state_account, "")
    assert [k for k in keys if k.startswith("push/")] == [f"push/1/{ref}"]
    assert len([k for k in keys if k.startswith("pushed/")]) == 1
    assert (await _ids(adapter)).count(ref) == 1


async def test_basic_auth_is_checked_when_configured(sim: NorceSimulator, clock: FakeClock) -> None:
    """[NO3]: production receivers need HTTPS and Basic auth; a wrong pair is refused (400)
    and Norce keeps the order pending."""
    async with open_adapter(
        sim, clock, receiver_username="norce", receiver_password="s3cret-pw"
    ) as adapter:
        flow = _Flow({"norce-se": adapter})
        async with _daemon(flow) as daemon:
            sim.configure_receiver(RECEIVER, username="norce", password="wrong")
            ref = sim.place_order(lines=[("TE-100", 1)], email="c@example.se")
            attempt = (await sim.push_pending(daemon))[0]
            assert attempt.status == 400 and "receiver_password" in attempt.body
            assert "s3cret" not in attempt.body
            assert sim.pending == [int(ref)] and flow.poked == []
            sim.configure_receiver(RECEIVER, username="norce", password="s3cret-pw")
            assert (await sim.push_pending(daemon))[0].status == 200
            assert sim.pending == []


async def test_xml_and_unidentifiable_pushes_are_refused_with_the_reason(pushing: Any) -> None:
    adapter, flow, daemon = pushing
    answer = await daemon.post(
        RECEIVER, content=b"<OrderRequest/>", headers={"Content-Type": "application/xml"}
    )
    assert answer.status_code == 400 and "REST" in answer.text
    answer = await daemon.post(RECEIVER, content=b'{"Header": {"ClientOrderRef": "x"}}')
    assert answer.status_code == 400 and "ClientOrderRef" in answer.text
    answer = await daemon.post(RECEIVER, content=b'{"Header": {"ClientOrderRef": -4}}')
    assert answer.status_code == 400
    assert flow.poked == [] and await _ids(adapter) == []


async def test_pushes_are_routed_by_channel_across_shops_of_one_account(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """Channels as native multishop: the push of channel 2 that reached shop 1's receiver is
    shop 2's order (one state account per Norce client)."""
    state = MemoryAdapterState()
    async with (
        open_adapter(sim, clock, state, channels=[1]) as one,
        open_adapter(sim, clock, state, channels=[2], name="norce-no") as two,
    ):
        async with _daemon(_Flow({"norce-se": one})) as daemon:
            sim.configure_receiver(RECEIVER)
            first = sim.place_order(lines=[("TE-100", 1)], email="d@example.se", channel=1)
            second = sim.place_order(lines=[("TE-100", 1)], email="e@example.no", channel=2)
            await sim.push_pending(daemon)
        assert await _ids(one) == [first]
        assert await _ids(two) == [second]
        assert (await two.fetch_order(second)).extra["channel"] == "2"


async def test_the_query_api_catches_up_on_orders_never_pushed(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """§4.3/§4.5: orders pushed while brygga was down (Norce gave up) are read from Query."""
    refs = [sim.place_order(lines=[("MUGG-VIT", 1)], email=f"f{i}@example.se") for i in range(7)]
    async with open_adapter(sim, clock) as adapter:
        assert await _ids(adapter) == refs
        order = await adapter.fetch_order(refs[3])
        assert (order.total, order.total_vat) == sim.order_total(refs[3])
        assert ("GET", "/commerce/query/2.0/Orders/Orders") in sim.requests


async def test_a_kept_push_survives_a_new_adapter(sim: NorceSimulator, clock: FakeClock) -> None:
    state = MemoryAdapterState()
    async with (
        open_adapter(sim, clock, state) as adapter,
        _daemon(_Flow({"norce-se": adapter})) as daemon,
    ):
        sim.configure_receiver(RECEIVER)
        ref = sim.place_order(lines=[("TE-100", 3)], email="g@example.se")
        await sim.push_pending(daemon)
    del sim.state.orders[int(ref)]  # gone from Query: only the kept push knows it
    async with open_adapter(sim, clock, state) as again:
        assert ref in await _ids(again)
        assert (await again.fetch_order(ref)).lines[0].quantity == 3


async def test_a_next_link_to_another_host_is_not_followed(
    sim: NorceSimulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Not followed: the feed yields the kept pushes (none here), then raises, so the poller
    reports the failure and its cursor does not move past the window."""
    for i in range(6):
        sim.place_order(lines=[("TE-100", 1)], email=f"h{i}@example.se")
    sim.state.next_link_base = "https://evil.example"
    async with open_adapter(sim, clock) as adapter:
        with pytest.raises(PermanentError, match="another host"):
            await _ids(adapter)
    assert "another host" in caplog.text
    assert not any("evil" in path for _, path in sim.requests)
