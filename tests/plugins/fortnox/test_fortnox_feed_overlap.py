"""Fortnox's change feeds: an article the overlap lists again unchanged is no new change.

QA finding: with Fortnox as the ERP (prices Fortnox → Norce, 2 s polls), a failed price record
was reopened by every poll (9 failed attempts in 90 s): the feed reported each listed article
at the window's start, and the 5-minute overlap listed it again and again, each time "newer".

Reference/erp-apis.md §2.2: "``lastmodified`` takes ``YYYY-MM-DD HH:MM``" [doc F4]
(https://www.fortnox.se/developer/guides-and-good-to-know/parameters), and §2.7: "Note
``lastmodified`` has minute resolution → overlap windows and de-duplicate". §2.6: list items
carry ``ArticleNumber, Description, DisposableQuantity, EAN, QuantityInStock,
ReservedQuantity, SalesPrice, Unit, VAT, WebshopArticle`` (no change time of their own) [spec F1].
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brygga.clock import FakeClock
from brygga.store import ItemState, WorkItem
from brygga.sync.flow import Flow
from brygga.testing import SimulatedConnection
from brygga_fortnox.catalog import ListedVersions
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio

OVERLAP = timedelta(minutes=5)


async def test_an_article_listed_again_by_the_overlap_keeps_its_first_report(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(3 * 3600)  # the seed articles are past the 2 hours read early
    cursor = clock.now()
    sim.set_article("TE-100", SalesPrice=Decimal("47.50"))
    async with open_adapter() as adapter:
        reports: list[datetime] = []
        for _ in range(5):  # polls 2 s apart, each re-reading 5 minutes
            clock.advance(2)
            since, cursor = cursor - OVERLAP, clock.now()
            changes = [c async for c in adapter.changed_articles(since, cursor)]
            assert [c.sku for c in changes] == ["TE-100"]  # the overlap lists it every time
            reports.append(changes[0].modified_at)
        assert len(set(reports)) == 1, reports  # one change, reported once
        # a real change of the article, within the same overlap: reported newer
        sim.set_article("TE-100", SalesPrice=Decimal("49.00"))
        clock.advance(2)
        since, cursor = cursor - OVERLAP, clock.now()
        changed = [c async for c in adapter.changed_articles(since, cursor)]
        assert [c.sku for c in changed] == ["TE-100"]
        assert changed[0].modified_at > reports[0]
        # polls for the next 2 hours still list it (lastmodified is sent 2 hours early, so
        # that no reading of its undocumented time zone misses a change): the same version
        # again; the first poll whose window starts 2 hours past the change does not list it
        for _ in range(4):
            clock.advance(2400)
            since, cursor = cursor - OVERLAP, clock.now()
            again = [c async for c in adapter.changed_articles(since, cursor)]
            assert [(c.sku, c.modified_at) for c in again] == [("TE-100", changed[0].modified_at)]
        clock.advance(2400)
        since, cursor = cursor - OVERLAP, clock.now()
        assert [c async for c in adapter.changed_articles(since, cursor)] == []


async def test_a_stock_level_listed_again_keeps_its_report_and_a_new_level_is_newer(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(3 * 3600)
    cursor = clock.now()
    sim.set_stock("KAFFE-500", Decimal(12))
    async with open_adapter() as adapter:

        async def poll() -> list[tuple[str, Decimal, datetime]]:
            nonlocal cursor
            clock.advance(2)
            since, cursor = cursor - OVERLAP, clock.now()
            return [
                (s.sku, s.quantity, s.modified_at)
                async for s in adapter.changed_stock(since, cursor)
            ]

        first, again = await poll(), await poll()
        assert first == again and [q for _, q, _ in first] == [Decimal(12)]
        sim.set_stock("KAFFE-500", Decimal(11))
        newer = await poll()
        assert [q for _, q, _ in newer] == [Decimal(11)] and newer[0][2] > first[0][2]


def test_a_window_starting_after_the_last_listing_is_a_new_change_whatever_the_content() -> None:
    """Same list item (e.g. a change of ``Active`` only, which list items do not carry), but
    the article's ``lastmodified`` moved past the last listing: a new change."""
    versions = ListedVersions()
    t0 = datetime(2026, 5, 4, 8, 0, 30, tzinfo=UTC)
    first = versions.report("A-1", b"same", t0, t0 + timedelta(seconds=2))
    assert versions.report("A-1", b"same", t0 + timedelta(seconds=2), t0 + timedelta(seconds=4))
    assert versions.report("A-1", b"same", t0 + timedelta(minutes=1), t0 + timedelta(minutes=2))
    later = t0 + timedelta(minutes=3)  # starts after the last listing (t0 + 2 min)
    assert versions.report("A-1", b"same", later, later + timedelta(seconds=2)) > first
    versions.window(later + timedelta(minutes=10))
    assert len(versions) == 0  # no listing from there can repeat it


# -- the flow: a failed price record on Fortnox → Norce ---------------------------------------

PRICES_ONLY = {"registers": {"products": "off", "stock": "off", "price_lists": "off"}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@asynccontextmanager
async def _opened(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    async with SimulatedConnection.open(
        tmp_path,
        shop_kind="norce",
        erp_kind="fortnox",
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        shop_config={"job_poll_interval": 0.5},
        erp_options={"rate_limit": None, "clock": clock},
        erp_config={"rate_limit": {"requests": 1000, "per_seconds": 0.05}},
        catalog=True,
        connection=PRICES_ONLY,
        catalog_config={"overlap": "5m"},
    ) as env:
        yield env


async def _poll(env: SimulatedConnection, flow: Flow) -> None:
    """2 s on: the prices feed polled once, its due items run (retries are not forced)."""
    env.clock.advance(2)  # type: ignore[attr-defined]
    for discoverer in flow.discoverers:
        if discoverer.register == "prices":
            for instance in discoverer.instances:
                await flow.poll(discoverer, instance)
    while (item := await flow.claim("prices")) is not None:
        await flow.process(item)


async def _price_item(env: SimulatedConnection, sku: str) -> WorkItem:
    found = [i for i in await env.store.items.query() if i.register == "prices"]
    items = [i for i in found if i.external_id == sku]
    assert len(items) == 1, found
    return items[0]


async def _tries(env: SimulatedConnection, item: WorkItem) -> int:
    rows = await env.store.db.fetchall(
        "SELECT COUNT(*) AS n FROM attempts WHERE work_item_id = ?", (item.id,)
    )
    return int(rows[0]["n"])


async def test_a_failed_price_record_is_tried_again_only_when_the_article_changes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with _opened(tmp_path) as env:
        flow = env.flow()
        await _poll(env, flow)
        env.erp.add_article("OKAND-1", "Okänd i Norce", Decimal("10.00"), Decimal(25))
        caplog.set_level(logging.WARNING, logger="brygga.sync.engine")
        await _poll(env, flow)
        item = await _price_item(env, "OKAND-1")
        assert item.state is ItemState.FAILED
        assert await _tries(env, item) == 1
        for _ in range(45):  # 90 s of 2 s polls, all inside the 5-minute overlap
            await _poll(env, flow)
        item = await _price_item(env, "OKAND-1")
        assert item.state is ItemState.FAILED
        assert await _tries(env, item) == 1, "re-attempted by polls while nothing changed"
        warnings = [r for r in caplog.records if "OKAND-1" in r.getMessage()]
        assert len(warnings) == 1
        # the article really changes: its record is tried again (once)
        env.erp.set_article("OKAND-1", SalesPrice=Decimal("12.00"))
        await _poll(env, flow)
        await _poll(env, flow)
        item = await _price_item(env, "OKAND-1")
        assert await _tries(env, item) == 2
