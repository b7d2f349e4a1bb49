"""A new ERP article's stock reaches every shop the products flow creates it in, whichever of
its items runs first (QA finding: e-conomic with its inventory module, two Starweb shops, mode
``erp``; the stock item of ``NY-2`` for shop ``hb`` ran before the product item, ended
"skipped: shop hb has no article NY-2" and was never tried again).

README, Catalog flows: "a new variant's stock comes with the stock flow". A level for an SKU a
shop lacks *yet* waits while the products flow (from the same ERP, creating on) will create it,
and the products handler queues the level once it created the article; a shop the products
flow does not feed keeps the plain skip. All on the e-conomic and Starweb simulators.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brygga.catalog import Article
from brygga.clock import FakeClock
from brygga.store import ItemState, WorkItem
from brygga.sync.article_wait import WAIT_DELAYS
from brygga.sync.flow import Flow
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio

SHOPS = ("se", "hb")
#: e-conomic product groups for new products per VAT rate (seeded groups of the simulator)
GROUPS = {"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}
NEW = ("NY-1", "NY-2")


@asynccontextmanager
async def _opened(
    tmp_path: Path, mode: str = "erp", **options: Any
) -> AsyncIterator[SimulatedConnection]:
    """Two Starweb shops and e-conomic with its inventory module, on one fake clock."""
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    async with SimulatedConnection.open(
        tmp_path,
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"inventory_module": True, "clock": clock},
        erp_config=GROUPS,
        catalog=True,
        shops=SHOPS,
        connection={"mode": mode},
        **options,
    ) as env:
        yield env


async def _poll(env: SimulatedConnection, flow: Flow) -> None:
    """A second on, every feed of every system polled once (nothing run)."""
    assert isinstance(env.clock, FakeClock)
    env.clock.advance(1)
    for discoverer in flow.discoverers:
        for instance in discoverer.instances:
            await flow.poll(discoverer, instance)


async def _settled(env: SimulatedConnection, flow: Flow) -> None:
    """Poll and run everything until the catalog is in step (before the test's change)."""
    await _poll(env, flow)
    for register in flow.engine.handlers:
        await env.drain(flow, register)


async def _new_articles(env: SimulatedConnection, flow: Flow) -> None:
    """QA's change in the ERP: new articles, then their stock set; the feeds polled."""
    for sku in NEW:
        env.erp.add_article(sku, f"Ny {sku}", Decimal("50.00"), Decimal(25))
        env.erp.set_stock(sku, Decimal(20))
    await _poll(env, flow)


async def _items(env: SimulatedConnection, register: str, sku: str) -> dict[str, WorkItem]:
    return {
        i.instance: i
        for i in await env.store.items.query()
        if i.register == register and i.external_id == sku
    }


async def _failures(env: SimulatedConnection) -> list[str]:
    failed = await env.store.items.query(states=[ItemState.FAILED])
    return [f"{i.register} {i.instance} {i.external_id}: {i.last_error}" for i in failed]


async def _run_due(env: SimulatedConnection, flow: Flow, register: str) -> list[ItemState]:
    """Run the items of ``register`` that are due now, once each (retries are not forced)."""
    states = []
    while (item := await flow.claim(register)) is not None:
        states.append(await flow.process(item))
    return states


def _assert_levels(env: SimulatedConnection, quantity: Decimal) -> None:
    for shop in SHOPS:
        for sku in NEW:
            assert env.shops[shop].price(sku) is not None, f"{sku} not created in {shop}"
            assert env.shops[shop].stock(sku) == quantity, f"{sku} in {shop}"


async def test_stock_items_run_before_the_product_items_still_end_with_the_level_everywhere(
    tmp_path: Path,
) -> None:
    """QA's order: every stock item runs (to its end) before any product item; the creation
    queues the level again, so both shops end with both articles and their level."""
    async with _opened(tmp_path) as env:
        flow = env.flow()
        await _settled(env, flow)
        await _new_articles(env, flow)
        await env.drain(flow, "stock")  # retries made due at once: every wait used up
        for sku in NEW:
            for shop, item in (await _items(env, "stock", sku)).items():
                assert item.state is ItemState.SKIPPED, (shop, item.last_error)
                # a clear sentence, after a bounded number of tries
                assert item.attempts == len(WAIT_DELAYS) + 1
                assert f"shop {shop} still has no article {sku}" in item.last_error
                assert "queues this level again" in item.last_error
        await env.drain(flow, "products")
        await env.drain(flow, "stock")
        assert await _failures(env) == []
        _assert_levels(env, Decimal(20))
        for sku in NEW:
            items = await _items(env, "stock", sku)
            assert {s: i.state for s, i in items.items()} == dict.fromkeys(SHOPS, ItemState.DONE)
        # nothing changed since: further polls write no level again
        await _poll(env, flow)
        assert not any(s is ItemState.DONE for s in await env.drain(flow, "stock"))


async def test_a_waiting_level_costs_no_request_and_follows_the_creation_at_once(
    tmp_path: Path,
) -> None:
    async with _opened(tmp_path) as env:
        flow = env.flow()
        await _settled(env, flow)
        await _new_articles(env, flow)
        assert set(await _run_due(env, flow, "stock")) == {ItemState.RETRY}
        item = (await _items(env, "stock", "NY-2"))["hb"]
        assert item.last_error.startswith("stock NY-2: waiting: shop hb has no article NY-2 yet")
        assert "the products flow creates it from economic" in item.last_error
        # its next try, while the products flow has not put it there: no request anywhere
        before = [len(env.erp.requests), *(len(env.shops[s].requests) for s in SHOPS)]
        env.clock.advance(WAIT_DELAYS[0] + 1)  # type: ignore[attr-defined]
        assert set(await _run_due(env, flow, "stock")) == {ItemState.RETRY}
        assert [len(env.erp.requests), *(len(env.shops[s].requests) for s in SHOPS)] == before
        # the products flow creates the articles: their levels are due now, not in 45 s
        await _run_due(env, flow, "products")
        states = await _run_due(env, flow, "stock")
        assert states == [ItemState.DONE] * (len(SHOPS) * len(NEW))
        assert await _failures(env) == []
        _assert_levels(env, Decimal(20))


async def test_a_level_in_flight_while_the_article_is_created_is_written_by_its_next_try(
    tmp_path: Path,
) -> None:
    """The creation lands while the stock item is in flight (after the shop said it has no
    such article): the creation's follow-up cannot reopen an item in flight, so the item's
    own wait brings the level."""
    async with _opened(tmp_path) as env:
        flow = env.flow()
        await _settled(env, flow)
        await _new_articles(env, flow)
        hb = flow.engine.handlers["stock"].sinks["hb"]  # type: ignore[attr-defined]
        real_fetch: Callable[[str], Awaitable[Article | None]] = hb.fetch_article

        async def create_after_look(sku: str) -> Article | None:
            found = await real_fetch(sku)
            await _run_due(env, flow, "products")  # the product items run meanwhile
            return found

        hb.fetch_article = create_after_look
        try:
            await _run_due(env, flow, "stock")
        finally:
            del hb.fetch_article
        item = (await _items(env, "stock", "NY-1"))["hb"]
        assert item.state is ItemState.RETRY and "waiting" in item.last_error
        await env.drain(flow, "stock")
        assert await _failures(env) == []
        _assert_levels(env, Decimal(20))


async def test_a_creation_between_the_refusal_and_the_look_is_written_in_the_same_try(
    tmp_path: Path,
) -> None:
    async with _opened(tmp_path) as env:
        flow = env.flow()
        await _settled(env, flow)
        await _new_articles(env, flow)
        for shop in SHOPS:
            sink = flow.engine.handlers["stock"].sinks[shop]  # type: ignore[attr-defined]
            real_put: Callable[[str, Decimal], Awaitable[str]] = sink.put_stock

            async def refused_then_created(
                sku: str, quantity: Decimal, real: Any = real_put, sink: Any = sink
            ) -> str:
                sink.put_stock = real  # only the first write of the test races
                try:
                    return await real(sku, quantity)
                finally:
                    await _run_due(env, flow, "products")

            sink.put_stock = refused_then_created
        states = await _run_due(env, flow, "stock")
        assert ItemState.FAILED not in states
        await env.drain(flow, "stock")
        assert await _failures(env) == []
        _assert_levels(env, Decimal(20))


async def test_a_shop_the_products_flow_does_not_feed_keeps_the_plain_skip(
    tmp_path: Path,
) -> None:
    """``combo``: the shops are master of products, the ERP of stock. A level for an article
    a shop lacks is for an article it does not sell: skipped at once, no wait."""
    async with _opened(tmp_path, mode="combo") as env:
        flow = env.flow()
        await _settled(env, flow)
        await _new_articles(env, flow)
        await env.drain(flow, "stock")
        for sku in NEW:
            for shop, item in (await _items(env, "stock", sku)).items():
                assert item.state is ItemState.SKIPPED
                assert item.attempts == 1
                assert item.last_error == (
                    f"stock {sku}: shop {shop} has no article {sku}, so it keeps no stock of it "
                    "(the next change of its level looks again)"
                )
        assert env.shops["hb"].catalog.find_sku("NY-1") is None  # never created there
        assert await _failures(env) == []


async def test_with_create_off_a_level_the_shop_lacks_is_skipped_at_once(tmp_path: Path) -> None:
    async with _opened(tmp_path, catalog_config={"create": False}) as env:
        flow = env.flow()
        await _settled(env, flow)
        await _new_articles(env, flow)
        await env.drain(flow, "stock")
        item = (await _items(env, "stock", "NY-2"))["hb"]
        assert item.state is ItemState.SKIPPED and item.attempts == 1
        assert item.last_error.startswith("stock NY-2: shop hb has no article NY-2, so it")
