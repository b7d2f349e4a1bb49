"""The stock register in batches: one ERP read per SKU for all shops, read after the claim."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from catalog_fakes import FakeErp, FakeShop, catalog_flow, poll

from brygga.catalog import StockLevel
from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.models import Register
from brygga.store import ItemState, Store, WorkItem
from brygga.sync.catalog_feed import PAGE
from brygga.sync.flow import Flow
from brygga.sync.stock import MAX_BATCH, REGISTER, StockHandler, stock_batch

pytestmark = pytest.mark.anyio
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
ERP_MASTER = {Register.STOCK: "erp"}
SHOPS = ("se", "no", "dk")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


def _sides() -> tuple[FakeClock, FakeErp, dict[str, FakeShop]]:
    clock = FakeClock(START)
    return clock, FakeErp(clock), {name: FakeShop(clock) for name in SHOPS}


async def _drain(flow: Flow) -> int:
    """Run the stock items as the runtime's worker does: in the plan's batches."""
    return await flow.engine.drain(REGISTER, flow.batch[REGISTER])


async def test_each_sku_is_read_once_from_the_erp_for_all_its_shops(store: Store) -> None:
    clock, erp, shops = _sides()
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER, orders=False)
    skus = [f"A-{n}" for n in range(PAGE + 50)]  # more than one feed page
    for n, sku in enumerate(skus):
        erp.set_stock(sku, n)
    assert await poll(flow, "stock", clock) == len(skus) * len(SHOPS)
    assert await _drain(flow) == len(skus) * len(SHOPS)
    assert erp.stock_reads == len(skus)  # not one per SKU and shop
    for shop in shops.values():
        assert shop.stock == {sku: Decimal(n) for n, sku in enumerate(skus)}


async def test_the_level_is_read_after_the_claim_read_what_orders_hold(store: Store) -> None:
    """An order that reaches the ERP after the feed saw the old level must still be taken
    off once: the level each item uses is read after its claim (the feed's is older)."""
    clock, erp, shops = _sides()
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER)
    erp.set_stock("A-1", 10)
    await poll(flow, "stock", clock)
    await _drain(flow)
    shops["se"].place_order("1001", "A-1", 4)
    await poll(flow, "orders", clock)
    erp.touch_stock("A-1")
    await poll(flow, "stock", clock)  # the feed reads 10 while the order is held
    assert await flow.engine.drain("orders") == 1  # now the ERP has it: its level is 6
    assert erp.levels["A-1"] == 6
    await _drain(flow)
    # 6 in the ERP, nothing held any more: 6, never 10 (the feed's level, read before)
    assert all(shop.stock["A-1"] == 6 for shop in shops.values())
    assert max(shops["no"].shown["A-1"]) == 10 and shops["no"].shown["A-1"][-1] == 6


async def test_a_failed_read_fails_each_item_of_its_sku_alone(store: Store) -> None:
    clock, erp, shops = _sides()

    class Flaky(FakeErp):
        async def stock_of(self, sku: str) -> StockLevel | None:
            if sku == "BAD-1":
                self.stock_reads += 1
                raise TransientError("the ERP is busy")
            return await super().stock_of(sku)

    erp = Flaky(clock)
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER, orders=False)
    erp.set_stock("A-1", 3)
    erp.set_stock("BAD-1", 5)
    await poll(flow, "stock", clock)
    assert await _drain(flow) == 2 * len(SHOPS)
    assert erp.stock_reads == 2
    assert all(shop.stock == {"A-1": Decimal(3)} for shop in shops.values())
    for shop in SHOPS:
        bad = await store.items.find(
            connection="c", register=REGISTER, instance=shop, external_id="BAD-1"
        )
        assert bad is not None and bad.state is ItemState.RETRY
        assert "the ERP is busy" in bad.last_error


async def test_prepared_levels_are_not_kept_past_their_items(store: Store) -> None:
    clock, erp, shops = _sides()
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER, orders=False)
    handler = flow.engine.handlers[REGISTER]
    assert isinstance(handler, StockHandler)
    erp.set_stock("A-1", 3)
    await poll(flow, "stock", clock)
    await _drain(flow)
    assert handler._prepared == {}
    erp.set_stock("A-1", 4)
    await poll(flow, "stock", clock)
    item = await flow.claim(REGISTER)
    assert item is not None
    seen: Sequence[WorkItem] = [item]
    await handler.prepare(seen)
    assert set(handler._prepared) == {item.id}
    await flow.process(item)  # prepares again and handles: nothing stays behind
    assert handler._prepared == {}


def test_a_batch_holds_a_feed_page_for_every_shop() -> None:
    assert stock_batch(1) == PAGE
    assert stock_batch(3) == 3 * PAGE
    assert stock_batch(20) % 20 == 0 and stock_batch(20) <= MAX_BATCH
    assert stock_batch(0) == PAGE
