"""e-conomic paging does not depend on the name of a next-page link.

The documentation describes paging by ``skippages``/``pagesize`` and says only that "each
endpoint offers convenient links to navigate through the pagination" (e-conomic/slate,
``source/includes/_introduction.md``, "Pagination"); it never names a ``nextPage`` key. A
listing that ended whenever ``pagination.nextPage`` was missing read one page of a 2,500-product
catalog from a server that names its links otherwise, silently. Here the simulator's answers
go through a transport that removes ``nextPage`` (and, in one case, ``results`` too): every
item must still be read, with no extra request where the count says the listing is complete.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from economic_support import economic_config

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator
from brygga_economic.wire import Pagination

pytestmark = pytest.mark.anyio


class WithoutLinks(httpx.AsyncBaseTransport):
    """The simulator, with ``pagination.nextPage`` (and with ``drop_count`` ``results``)
    taken out of every answer."""

    def __init__(self, sim: EconomicSimulator, *, drop_count: bool = False) -> None:
        self._inner = httpx.ASGITransport(app=sim.app)
        self._drop_count = drop_count
        #: product list pages answered
        self.pages = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        try:
            document: Any = json.loads(body)
        except ValueError:
            return httpx.Response(response.status_code, headers=response.headers, content=body)
        if isinstance(document, dict) and isinstance(document.get("pagination"), dict):
            self.pages += request.url.path.rstrip("/").endswith("/products")
            document["pagination"].pop("nextPage", None)
            if self._drop_count:
                document["pagination"].pop("results", None)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, json=document)


def _adapter(sim: EconomicSimulator, clock: FakeClock, transport: httpx.AsyncBaseTransport):  # type: ignore[no-untyped-def]
    context = AdapterContext(
        connection="test",
        instance="economic",
        http=HttpContext(transport=transport, clock=clock, limiters=RateLimiterRegistry(clock)),
    )
    return EconomicAdapter(economic_config(sim, page_size=4), context)


@pytest.mark.parametrize("drop_count", [False, True], ids=["count", "no-count"])
async def test_the_whole_catalog_is_read_without_next_page_links(
    sim: EconomicSimulator, clock: FakeClock, drop_count: bool
) -> None:
    for n in range(9):
        sim.add_article(f"NY-{n}", f"Ny {n}", Decimal("10.00"), Decimal(25))
    total = len(sim.state.products)
    transport = WithoutLinks(sim, drop_count=drop_count)
    adapter = _adapter(sim, clock, transport)
    try:
        articles = [a async for a in adapter.all_articles()]
        listed = [p async for p in adapter.api.pages("products", dict, "the products", page_size=4)]
    finally:
        await adapter.aclose()
    assert len({a.sku for a in articles}) == total
    assert len(listed) == total
    pages = -(-total // 4)  # per listing; without a count a full last page costs one more
    extra = 2 * (total % 4 == 0) if drop_count else 0
    assert transport.pages == 2 * pages + extra


def test_the_rule_more_after() -> None:
    link = "https://restapi.e-conomic.com/products?skippages=1&pagesize=2"
    assert Pagination(next_page=link).more_after(0, 2, 2)
    assert Pagination(results=5).more_after(1, 2, 2)
    assert not Pagination(results=4).more_after(1, 2, 2)
    assert Pagination().more_after(0, 2, 2)  # a full page and no word: ask the next
    assert not Pagination().more_after(0, 2, 1)  # a short page ends it
    assert not Pagination(next_page=link).more_after(0, 2, 0)  # an empty page ends it
    # a server that ignored pagesize and sent the whole collection: nothing more to ask
    assert not Pagination(results=50).more_after(0, 2, 50)


class Recording(httpx.AsyncBaseTransport):
    """The simulator, noting each request's method, path and Content-Type."""

    def __init__(self, sim: EconomicSimulator) -> None:
        self._inner = httpx.ASGITransport(app=sim.app)
        self.seen: list[tuple[str, str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            (request.method, request.url.path, request.headers.get("content-type", ""))
        )
        return await self._inner.handle_async_request(request)


async def test_every_request_says_content_type_json(
    sim: EconomicSimulator, clock: FakeClock
) -> None:
    """ "Add these three headers to your requests": X-AppSecretToken, X-AgreementGrantToken
    and Content-Type: application/json, shown on a GET (e-conomic/slate,
    source/includes/_tldr.md); 415 is a documented answer. Reads went without it."""
    transport = Recording(sim)
    adapter = _adapter(sim, clock, transport)
    try:
        assert [a async for a in adapter.all_articles()]
        await adapter.api.request("GET", "customers")
    finally:
        await adapter.aclose()
    assert {m for m, _, _ in transport.seen} == {"GET"}
    missing = [(m, p) for m, p, kind in transport.seen if kind != "application/json"]
    assert not missing, missing
