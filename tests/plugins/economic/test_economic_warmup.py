"""``EconomicAdapter.prepare`` (``brygga.adapters.ReferenceReader``): the agreement's reference
data read when a connection starts, into the cache the orders use, and yielding to them.

Issue "[9/9] Benchmarks at scale": the first order of a process read the product list and
the VAT chain of its rows' product groups (product group -> ``GET
/product-groups/{n}/sales-accounts`` -> ``GET /accounts/{n}`` -> ``GET /vat-accounts/{code}``,
e-conomic/slate ``source/includes/_product-groups.md``, ``_accounts.md``,
``_vat-accounts.md``) inside its own transfer. The warm-up reads the product list, the
accounts and the VAT accounts as whole lists (the same documents: ``GET /accounts`` and ``GET
/vat-accounts`` are their collections) and each used group's sales accounts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from economic_support import BASE_URL, document, economic_config, row

from brygga.adapters import AdapterContext, ReferenceReader, remote_account
from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import DEFAULT_RATE_LIMIT, AccountWindow, RateLimiterRegistry
from brygga.models import LineKind
from brygga.testing.simulators import Fault
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator
from brygga_economic.warmup import free_turn

pytestmark = pytest.mark.anyio

#: what the chain's lazy reads ask for (the list reads of the warm-up are not among them)
SINGLE = ("/accounts/", "/vat-accounts/")
#: far above the warm-up's reads: its budget (half a window's turns) never runs out
LIFTED = {"rate_limit": {"requests": 100_000, "per_seconds": 1}}


def reads(sim: EconomicSimulator, since: int = 0) -> list[str]:
    return [
        path
        for method, path in sim.requests[since:]
        if method == "GET"
        and (
            path in ("/products", "/accounts", "/vat-accounts")
            or path.startswith(("/product-groups/", *SINGLE))
        )
    ]


def used_groups(sim: EconomicSimulator) -> set[int]:
    return {p["productGroup"]["productGroupNumber"] for p in sim.state.products.values()}


@asynccontextmanager
async def adapter_on(
    sim: EconomicSimulator, clock: FakeClock, **overrides: Any
) -> AsyncIterator[EconomicAdapter]:
    """An adapter as the daemon builds it: its limiters restored from a clean state file (a
    limiter that knows nothing of earlier processes waits a window and has no turn free)."""
    limiters = RateLimiterRegistry(clock)
    # a previous run left this agreement's limiter at its ceiling (no slow start: the turns
    # free in a window are what the tests below count)
    account = remote_account(BASE_URL, sim.agreement_grant_token)
    window = AccountWindow(
        allowed=DEFAULT_RATE_LIMIT.requests, slow_start=False, limit=DEFAULT_RATE_LIMIT
    )
    limiters.restore({account: window}, unknown_until=None)
    http = HttpContext(transport=httpx.ASGITransport(app=sim.app), clock=clock, limiters=limiters)
    adapter = EconomicAdapter(
        economic_config(sim, **overrides), AdapterContext("c1", "economic", http=http)
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


async def test_the_adapter_is_a_reference_reader() -> None:
    assert issubclass(EconomicAdapter, ReferenceReader)


async def test_prepare_reads_the_lists_and_each_used_group_once_then_an_order_reads_nothing(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    customer = str(sim.add_customer(name="Anna"))
    async with adapter_on(sim, clock, **LIFTED) as adapter:
        await adapter.prepare()
        groups = used_groups(sim)
        assert len(groups) >= 2
        assert sorted(reads(sim)) == sorted(
            ["/products", "/accounts", "/vat-accounts"]
            + [f"/product-groups/{g}/sales-accounts" for g in groups]
        )
        before = len(sim.requests)
        await adapter.check_document(order(customer))
        created = await adapter.create_document(order(customer))
        assert created.number
        # the order's own request only: the draft (its rows' articles and VAT were warm)
        assert sim.requests[before:] == [("POST", "/invoices/drafts")]


async def test_rates_read_from_the_lists_are_the_ones_the_chain_reads_one_by_one(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    async with adapter_on(sim, clock, **LIFTED) as warm:
        await warm.prepare()
        warmed = {g: await warm.articles.chain.of_group(g) for g in used_groups(sim)}
    cold_sim = EconomicSimulator(clock=clock)
    async with adapter_on(cold_sim, clock) as cold:
        lazy = {g: await cold.articles.chain.of_group(g) for g in used_groups(cold_sim)}
    assert warmed == lazy
    assert {g.rate for g in warmed.values()} >= {Decimal(25), Decimal(12)}


async def test_prepare_reads_nothing_when_the_window_is_full(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    customer = str(sim.add_customer(name="Anna"))
    async with adapter_on(sim, clock) as adapter:
        limiter = adapter.limiter
        while free_turn(limiter, clock):  # the previous process's requests, say
            await limiter.acquire()
        before = len(sim.requests)
        await adapter.prepare()
        assert sim.requests[before:] == []
        # the first order reads what it needs, as without a warm-up
        clock.advance(2 * limiter.window)
        await adapter.check_document(order(customer))
        assert "/products" in reads(sim, before)


async def test_prepare_stops_when_the_window_fills_and_orders_read_the_rest(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    customer = str(sim.add_customer(name="Anna"))
    async with adapter_on(sim, clock) as adapter:
        limiter = adapter.limiter
        # two turns left in the window: the product list and the accounts
        while limiter.allowed - len(limiter.remember().sends) > 2:
            await limiter.acquire()
        await adapter.prepare()
        assert reads(sim) == ["/products", "/accounts"]
        clock.advance(2 * limiter.window)
        await adapter.check_document(order(customer))
        rest = reads(sim, 0)[2:]
        # the product list is not read again, and the accounts' VAT codes came from the list
        assert "/products" not in rest
        assert not [p for p in rest if p.startswith("/accounts/")]
        assert [p for p in rest if p.startswith("/product-groups/")]


async def test_a_failed_prepare_keeps_nothing_and_the_order_reads_again(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    customer = str(sim.add_customer(name="Anna"))
    sim.faults.add(Fault("status", methods=frozenset({"GET"}), path="^/accounts$", times=1))
    async with adapter_on(sim, clock) as adapter:
        with pytest.raises(TransientError):
            await adapter.prepare()
        await adapter.check_document(order(customer))
    # the product list was kept (read once); the chain was read link by link by the order
    assert reads(sim).count("/products") == 1
    assert [p for p in reads(sim) if p.startswith("/accounts/")]


async def test_on_an_empty_window_the_warm_up_takes_at_most_half_of_its_turns(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    # more product groups than half a window (10 requests/s: 5 turns) holds
    for i in range(6):
        sim.add_article(f"EXTRA-{i}", f"Extra {i}", Decimal("10.00"), Decimal(30 + i))
    customer = str(sim.add_customer(name="Anna"))
    async with adapter_on(sim, clock) as adapter:
        await adapter.prepare()
        taken = reads(sim)
        assert taken[:3] == ["/products", "/accounts", "/vat-accounts"]
        assert len(taken) == DEFAULT_RATE_LIMIT.requests // 2
        # the window's other half is the first orders': one needs no wait for a turn
        sends = len(adapter.limiter.remember().sends)
        assert adapter.limiter.allowed - sends >= DEFAULT_RATE_LIMIT.requests // 2
        await adapter.check_document(order(customer))
    # the groups it did not read cost the order one request each (the lists were read)
    rest = reads(sim)[len(taken) :]
    assert rest and all(p.startswith("/product-groups/") for p in rest)
