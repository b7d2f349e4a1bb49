"""Connections on one Fortnox tenant check a row's article once per process, for a while.

The pre-check looks every row's article up (``GET /3/articles/{ArticleNumber}``, [spec F1],
reference/erp-apis.md §2.6) before a document is sent; with 25 requests per 5 s per tenant
(§2.4) a hundred connections each looking up the same articles spend the tenant's budget on
reads. The tenant's cache (:mod:`brygga.http.accountcache`) keeps a found article ten minutes
for every connection on the tenant, never an unknown one, and forgets the articles of a
document Fortnox refused (2000428, an article number that does not exist, as the simulator
models it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from fortnox_support import config_for

from brygga.accountstate import MemoryAdapterState
from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.testing.conformance.erp import kit_document
from brygga_fortnox.adapter import REFERENCE_TTL, FortnoxAdapter
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio

UNLIMITED = {"requests": 100_000, "per_seconds": 1}

Opener = Callable[..., Any]


def lookups(sim: FortnoxSimulator) -> list[str]:
    return [p for m, p in sim.requests if m == "GET" and p.startswith("/3/articles/")]


def invoice_posts(sim: FortnoxSimulator) -> int:
    return sum(1 for m, p in sim.requests if m == "POST" and p == "/3/invoices")


@pytest.fixture
def connections(sim: FortnoxSimulator, clock: FakeClock, state: MemoryAdapterState) -> Opener:
    """``async with connections(n) as adapters``: n connections on one tenant (one consent,
    one durable state) and the one HttpContext of the process."""
    http = HttpContext(
        transport=httpx.ASGITransport(app=sim.app), clock=clock, limiters=RateLimiterRegistry()
    )

    @asynccontextmanager
    async def opened(count: int) -> AsyncIterator[list[FortnoxAdapter]]:
        config = config_for(sim, rate_limit=UNLIMITED)
        adapters = [
            FortnoxAdapter(config, AdapterContext(f"c{i:03d}", "fortnox", http=http, state=state))
            for i in range(count)
        ]
        try:
            yield adapters
        finally:
            for adapter in adapters:
                await adapter.aclose()

    return opened


async def test_concurrent_first_checks_on_one_tenant_look_each_article_up_once(
    sim: FortnoxSimulator, connections: Opener
) -> None:
    async with connections(30) as adapters:
        document = await kit_document(sim, adapters[0], "S1")
        articles = {line.article_number for line in document.lines}
        before = len(lookups(sim))
        async with anyio.create_task_group() as tg:
            for adapter in adapters:
                tg.start_soon(adapter.check_document, document)
    looked = lookups(sim)[before:]
    assert sorted(looked) == sorted(f"/3/articles/{a}" for a in articles)


async def test_an_article_is_looked_up_again_after_its_ttl(
    sim: FortnoxSimulator, clock: FakeClock, connections: Opener
) -> None:
    async with connections(2) as (one, two):
        document = await kit_document(sim, one, "T1")
        await one.check_document(document)
        read = len(lookups(sim))
        clock.advance(REFERENCE_TTL - 1)
        await two.check_document(document)
        assert len(lookups(sim)) == read
        clock.advance(2)
        await two.check_document(document)
        assert len(lookups(sim)) == 2 * read


async def test_a_refused_document_makes_every_connection_look_its_articles_up_again(
    sim: FortnoxSimulator, connections: Opener
) -> None:
    async with connections(2) as (one, two):
        document = await kit_document(sim, one, "R1")
        await one.check_document(document)
        await two.check_document(document)
        sku = document.lines[0].article_number
        sim.remove_article(sku)  # deleted in Fortnox after it was checked
        with pytest.raises(PermanentError, match=r"2000428|artikelnummer"):
            await one.create_document(document)
        posts = invoice_posts(sim)
        for each in (two, one):
            with pytest.raises(PermanentError, match=rf"article {sku} does not exist in Fortnox"):
                await each.create_document(document)
    assert invoice_posts(sim) == posts, "refused before anything was written"
    assert sim.documents() == []


async def test_an_unknown_article_is_not_kept(sim: FortnoxSimulator, connections: Opener) -> None:
    async with connections(2) as (one, two):
        document = await kit_document(sim, one, "U1")
        sku = document.lines[0].article_number
        sim.remove_article(sku)
        with pytest.raises(PermanentError, match="does not exist in Fortnox"):
            await one.check_document(document)
        sim.add_article(sku, "Back again", document.lines[0].unit_price, document.lines[0].vat_rate)
        await two.check_document(document)
