"""Connections on one e-conomic agreement read its reference data once per process, for a while.

Issue "[9/9] Benchmarks at scale": a connection's first order cost 7 requests, 4 of them
reference data (the product list, ``GET /product-groups/{n}/sales-accounts``, ``GET
/accounts/{n}``, ``GET /vat-accounts/{code}``: the VAT chain e-conomic documents in
e-conomic/slate ``source/includes/_product-groups.md``, ``_accounts.md``, ``_vat-accounts.md``;
reference/erp-apis.md §1.6) that every connection on the agreement read again. Now the
agreement's cache (:mod:`brygga.http.accountcache`, in the process's ``HttpContext``) holds it:
one read per agreement however many connections ask at once, never shared with another
agreement, kept ten minutes, and dropped when e-conomic refuses a document that used it
(E06000, "referenced entity does not exist": reference/erp-apis.md §1.4).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest
from economic_support import document, economic_config, row

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.models import LineKind
from brygga.testing.simulators import Asgi, Receive, Scope, Send
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.articles import REFERENCE_TTL
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

#: far above any test's pace: limiter waits would move the fake clock towards the TTL
UNLIMITED = {"requests": 100_000, "per_seconds": 1}
#: the reference-data reads of an order's check (the product list and the VAT chain)
REFERENCE = ("/products", "/product-groups/", "/accounts/", "/vat-accounts/")


def reference_reads(sim: EconomicSimulator) -> list[str]:
    return [
        path
        for method, path in sim.requests
        if method == "GET" and (path == "/products" or path.startswith(REFERENCE[1:]))
    ]


def product_lookups(sim: EconomicSimulator, number: str) -> int:
    return sum(1 for m, p in sim.requests if m == "GET" and p == f"/products/{number}")


def by_grant(sims: list[EconomicSimulator]) -> Asgi:
    """One host serving several agreements, told apart by X-AgreementGrantToken."""
    apps = {sim.agreement_grant_token.encode(): sim.app for sim in sims}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        await apps[headers[b"x-agreementgranttoken"]](scope, receive, send)

    return app


@pytest.fixture
def http(clock: FakeClock, sim: EconomicSimulator) -> HttpContext:
    """The one context of a process (the daemon builds one), on the simulator."""
    return HttpContext(
        transport=httpx.ASGITransport(app=sim.app), clock=clock, limiters=RateLimiterRegistry()
    )


Opener = Callable[..., Any]


@pytest.fixture
def connections(http: HttpContext, sim: EconomicSimulator) -> Opener:
    """``async with connections(n, sim=..., **config) as adapters``: n adapters (one per
    connection) on the one context."""

    @asynccontextmanager
    async def opened(
        count: int, *, on: EconomicSimulator | None = None, **overrides: Any
    ) -> AsyncIterator[list[EconomicAdapter]]:
        config = economic_config(on or sim, rate_limit=UNLIMITED, **overrides)
        adapters = [
            EconomicAdapter(config, AdapterContext(f"c{i:03d}", "economic", http=http))
            for i in range(count)
        ]
        try:
            yield adapters
        finally:
            for adapter in adapters:
                await adapter.aclose()

    return opened


def first_order(customer: str, connection: int) -> Any:
    """A connection's first order: two items at 25 % and 12 %, freight at 25 %."""
    return document(
        customer,
        row("KAFFE-500", "1", "89.00", "25"),
        row("TE-100", "2", "45.00", "12"),
        row("fraktavg", "1", "49.00", "25", kind=LineKind.FREIGHT),
        reference=f"c{connection:03d}/se/1",
        shop_order_id=f"{connection}",
    )


async def test_a_hundred_connections_on_one_agreement_read_reference_data_once(
    sim: EconomicSimulator, connections: Opener
) -> None:
    """All first orders at the same moment: the first read of each item is single-flight,
    so 100 connections make one product list read and one read per VAT-chain link."""
    customer = str(sim.add_customer(name="Anna"))
    async with connections(100) as adapters, anyio.create_task_group() as tg:
        for i, adapter in enumerate(adapters):
            tg.start_soon(adapter.create_document, first_order(customer, i))
    assert len(sim.documents()) == 100
    assert sorted(reference_reads(sim)) == sorted(
        [
            "/products",
            "/product-groups/1/sales-accounts",
            "/product-groups/2/sales-accounts",
            "/accounts/3001",
            "/accounts/3002",
            "/vat-accounts/U25",
            "/vat-accounts/U12",
        ]
    )
    posts = [p for m, p in sim.requests if m == "POST"]
    assert posts == ["/invoices/drafts"] * 100


async def test_two_agreements_never_see_each_others_reference_data(
    clock: FakeClock, connections: Opener
) -> None:
    """Same host, same process, two agreements whose KAFFE-500 has different VAT: each
    connection sees its own agreement's rate; connections on one agreement share."""
    one = EconomicSimulator(clock=clock, agreement_grant_token="grant-one")
    other = EconomicSimulator(clock=clock, agreement_grant_token="grant-two")
    other.add_article("KAFFE-500", "Kaffe", Decimal("89.00"), Decimal("12"))  # group 2 there
    http = HttpContext(
        transport=httpx.ASGITransport(app=by_grant([one, other])),
        clock=clock,
        limiters=RateLimiterRegistry(),
    )

    def adapter(sim: EconomicSimulator, name: str) -> EconomicAdapter:
        config = economic_config(sim, rate_limit=UNLIMITED)
        return EconomicAdapter(config, AdapterContext(name, "economic", http=http))

    at_25 = document("1", row("KAFFE-500", "1", "89.00", "25"))
    at_12 = document("1", row("KAFFE-500", "1", "89.00", "12"))
    a1, a2, b1 = adapter(one, "a1"), adapter(one, "a2"), adapter(other, "b1")
    try:
        await a1.check_document(at_25)
        with pytest.raises(PermanentError, match=r"has 12 % VAT in e-conomic"):
            await b1.check_document(at_25)
        await b1.check_document(at_12)
        await a2.check_document(at_25)
        with pytest.raises(PermanentError, match=r"has 25 % VAT in e-conomic"):
            await a2.check_document(at_12)
    finally:
        for each in (a1, a2, b1):
            await each.aclose()
    assert a1.account != b1.account
    assert a1.reference is a2.reference and a1.reference is not b1.reference
    # agreement one: read once for a1 and a2 (a2's refused row reads its chain again)
    assert reference_reads(one)[:4] == [
        "/products",
        "/product-groups/1/sales-accounts",
        "/accounts/3001",
        "/vat-accounts/U25",
    ]
    assert reference_reads(one).count("/products") == 1
    assert "/product-groups/2/sales-accounts" not in reference_reads(one)
    assert reference_reads(other).count("/products") == 1
    assert "/product-groups/2/sales-accounts" in reference_reads(other)


async def test_connections_on_one_agreement_with_different_vat_zones_keep_theirs_apart(
    sim: EconomicSimulator, connections: Opener
) -> None:
    """The sales account is per VAT zone (``salesVatZone``): a zone-1 connection's answer is
    never a zone-2 connection's."""
    async with connections(1) as domestic, connections(1, vat_zone=2) as eu:
        await domestic[0].check_document(document("1", row("KAFFE-500", "1", "89.00", "25")))
        await eu[0].check_document(document("1", row("KAFFE-500", "1", "89.00", "0")))
    reads = reference_reads(sim)
    assert reads.count("/products") == 1, "the product list is the agreement's"
    assert reads.count("/product-groups/1/sales-accounts") == 2, "one per zone"


async def test_reference_data_is_read_again_after_its_ttl(
    sim: EconomicSimulator, clock: FakeClock, connections: Opener
) -> None:
    doc = document("1", row("KAFFE-500", "1", "89.00", "25"))
    async with connections(2) as (first, later):
        await first.check_document(doc)
        read = len(reference_reads(sim))
        assert read == 4
        clock.advance(REFERENCE_TTL - 1)
        await later.check_document(doc)
        assert len(reference_reads(sim)) == read, "still fresh: nothing read"
        # a change in e-conomic (KAFFE-500 moved to a 12 % group) counts after the TTL
        sim.state.products["KAFFE-500"]["productGroup"]["productGroupNumber"] = 2
        clock.advance(2)
        with pytest.raises(PermanentError, match=r"has 12 % VAT in e-conomic"):
            await later.check_document(doc)
    again = reference_reads(sim)[read:]
    assert again[0] == "/products"
    assert "/product-groups/2/sales-accounts" in again


async def test_a_refused_document_drops_its_articles_for_every_connection(
    sim: EconomicSimulator, connections: Opener
) -> None:
    """e-conomic refuses a draft whose product no longer exists (E06000); the next order of
    any connection on the agreement looks the article up again instead of trusting the
    cache, and is refused before anything is written."""
    customer = str(sim.add_customer(name="Anna"))
    doc = document(customer, row("KAFFE-500", "1", "89.00", "25"))
    async with connections(2) as (one, two):
        await one.check_document(doc)  # KAFFE-500 is known to both connections
        await two.check_document(doc)
        sim.remove_article("KAFFE-500")  # deleted in e-conomic meanwhile
        with pytest.raises(PermanentError, match=r"rejected the invoice.*product does not exist"):
            await one.create_document(doc)
        assert product_lookups(sim, "KAFFE-500") == 0
        posts = sum(1 for m, _ in sim.requests if m == "POST")
        for each in (two, one):
            with pytest.raises(PermanentError, match=r"article 'KAFFE-500' does not exist"):
                await each.create_document(doc)
    assert product_lookups(sim, "KAFFE-500") >= 2, "read afresh, not taken from the cache"
    assert sum(1 for m, _ in sim.requests if m == "POST") == posts, "refused before a write"
    assert sim.documents() == []


async def test_an_unknown_article_is_not_kept_so_one_created_later_is_found(
    sim: EconomicSimulator, connections: Opener
) -> None:
    doc = document("1", row("NY-1", "1", "10.00", "25"))
    async with connections(2) as (one, two):
        with pytest.raises(PermanentError, match=r"article 'NY-1' does not exist"):
            await one.check_document(doc)
        sim.add_article("NY-1", "Ny", Decimal("10.00"), Decimal("25"))
        await two.check_document(doc)
    assert product_lookups(sim, "NY-1") >= 2
