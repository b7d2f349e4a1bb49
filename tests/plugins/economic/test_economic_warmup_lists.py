"""The warm-up's list reads and an order's single reads of the same VAT chain links are never
both spent: an order that needs an account's VAT code (or a code's rate) while the warm-up's
``GET /accounts`` (``GET /vat-accounts``) is on the wire waits for the list.

Issue "[9/9] Benchmarks at scale", the webhook latency from a daemon's first instant: with a
remote 80 ms away, the first order read ``GET /vat-accounts/U25`` while the warm-up's list of
the VAT accounts was in flight, a turn of the first window spent twice
(``benchmarks/latency.py --from-start --settle 0 --erp-latency 80``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from economic_support import BASE_URL, document, economic_config, row

from brygga.adapters import AdapterContext, remote_account
from brygga.clock import FakeClock
from brygga.http.client import HttpContext
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, AccountWindow, RateLimiterRegistry
from brygga.models import LineKind
from brygga.testing.simulators import Fault
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

#: far above the warm-up's reads: its budget never stops it here
LIFTED = {"rate_limit": {"requests": 100_000, "per_seconds": 1}}

Scope = MutableMapping[str, Any]


class HeldList:
    """ASGI wrapper: holds the one request whose path is ``path`` until ``release`` is set
    (a list on the wire), and says when it arrived."""

    def __init__(self, app: Any, path: str) -> None:
        self.app, self.path = app, path
        self.arrived = anyio.Event()
        self.release = anyio.Event()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            self.arrived.set()
            await self.release.wait()
        await self.app(scope, receive, send)


@asynccontextmanager
async def adapter_on(
    sim: EconomicSimulator, app: Any, clock: FakeClock
) -> AsyncIterator[EconomicAdapter]:
    limiters = RateLimiterRegistry(clock)
    account = remote_account(BASE_URL, sim.agreement_grant_token)
    window = AccountWindow(
        allowed=DEFAULT_RATE_LIMIT.requests, slow_start=False, limit=DEFAULT_RATE_LIMIT
    )
    limiters.restore({account: window}, unknown_until=None)
    http = HttpContext(transport=httpx.ASGITransport(app=app), clock=clock, limiters=limiters)
    adapter = EconomicAdapter(
        economic_config(sim, **LIFTED), AdapterContext("c1", "economic", http=http)
    )
    try:
        yield adapter
    finally:
        await adapter.aclose()


def order(customer: str) -> Any:
    """Two items at 25 % and 12 % and freight at 25 %: two product groups."""
    return document(
        customer,
        row("KAFFE-500", "1", "89.00", "25"),
        row("TE-100", "2", "45.00", "12"),
        row("fraktavg", "1", "49.00", "25", kind=LineKind.FREIGHT),
    )


def single_reads(sim: EconomicSimulator) -> list[str]:
    """The chain's one-by-one reads of an account or a VAT account."""
    return [
        path
        for method, path in sim.requests
        if method == "GET" and path.startswith(("/accounts/", "/vat-accounts/"))
    ]


@pytest.mark.parametrize("held", ["/accounts", "/vat-accounts"])
async def test_an_order_waits_for_the_warm_ups_list_instead_of_reading_the_link_itself(
    sim: EconomicSimulator, clock: FakeClock, held: str
) -> None:
    customer = str(sim.add_customer(name="Anna"))
    gate = HeldList(sim.app, held)
    async with adapter_on(sim, gate, clock) as adapter, anyio.create_task_group() as tg:
        tg.start_soon(adapter.prepare)
        await gate.arrived.wait()  # the warm-up's list is on the wire
        checked = anyio.Event()

        async def check() -> None:
            await adapter.check_document(order(customer))
            checked.set()

        tg.start_soon(check)
        await anyio.wait_all_tasks_blocked()
        # the order needs the links the list brings: it waits for it, reading none itself
        assert not checked.is_set()
        assert single_reads(sim) == []
        gate.release.set()
        await checked.wait()
    assert single_reads(sim) == []
    lists = [p for m, p in sim.requests if m == "GET" and p in ("/accounts", "/vat-accounts")]
    assert lists == ["/accounts", "/vat-accounts"]
    # and every group's sales accounts once, whoever read them
    groups = [p for m, p in sim.requests if m == "GET" and p.startswith("/product-groups/")]
    assert len(groups) == len(set(groups))


async def test_a_list_that_fails_leaves_the_waiting_order_to_read_the_links_itself(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    customer = str(sim.add_customer(name="Anna"))
    gate = HeldList(sim.app, "/accounts")
    sim.faults.add(Fault("status", methods=frozenset({"GET"}), path="^/accounts$", times=1))
    prepared: list[BaseException] = []

    async def prepare() -> None:
        try:
            await adapter.prepare()
        except Exception as exc:  # the daemon logs it; the order goes on
            prepared.append(exc)

    async with adapter_on(sim, gate, clock) as adapter, anyio.create_task_group() as tg:
        tg.start_soon(prepare)
        await gate.arrived.wait()
        checked = anyio.Event()

        async def check() -> None:
            await adapter.check_document(order(customer))
            checked.set()

        tg.start_soon(check)
        await anyio.wait_all_tasks_blocked()
        gate.release.set()
        await checked.wait()
    assert prepared, "the warm-up's list failed"
    # the order read what the failed list would have brought, one by one
    assert any(p.startswith("/accounts/") for p in single_reads(sim))
