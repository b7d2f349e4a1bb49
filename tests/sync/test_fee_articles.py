"""The connection's fee articles stay out of the shops (QA finding 2 of 2026-12-03).

The articles a connection puts on ERP order rows — ``[connection.orders] fee_articles``:
freight ``fraktavg``, handling fee ``expavg``, discount ``rabatt``, rounding ``avrundning``,
and the per-rate forms the ERP adapters use (``<article>-<rate>``, e.g. ``fraktavg-12``;
README "Configuration": ``vat_articles``) — are no products: the ERP → shop products, prices,
price lists and stock flows and the initial sync skip them with a sentence naming the
article's role, and the shop never shows them. Shop → ERP is unaffected: the ERP needs them.
Before the fix, ``brygga demo --mode erp`` created ten of them in the Starweb shop, "Frakt"
visible as a product.
"""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from catalog_fakes import FakeErp, FakeShop, article, drain, poll

from brygga.catalog import ListPrice
from brygga.clock import FakeClock
from brygga.commands.sync_products import SyncRequest, sync_products
from brygga.config import (
    CatalogConfig,
    FeeArticles,
    OrdersConfig,
    PollConfig,
    ShopCatalogConfig,
)
from brygga.models import Register
from brygga.store import ItemState, Store, WorkItem
from brygga.store.sync_checkpoint import SyncCheckpoint
from brygga.sync.catalog_items import DEFAULT_ORDER_ONLY, OrderOnly
from brygga.sync.catalog_plan import CatalogSides, catalog_rows
from brygga.sync.engine import Engine
from brygga.sync.flow import Flow
from brygga.sync.initial_sync import InitialSync
from brygga.sync.wiring import build_adapters
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
#: the fee articles the e-conomic simulator is seeded with (as the demo's ERP is)
SEEDED_FEES = {
    "fraktavg",
    "fraktavg-12",
    "fraktavg-6",
    "expavg",
    "expavg-12",
    "expavg-6",
    "rabatt",
    "rabatt-12",
    "rabatt-6",
    "avrundning",
}
#: e-conomic needs a product group per VAT rate for new products (as in the command's tests)
GROUPS = {"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


# -- which SKUs ------------------------------------------------------------------------------


def test_the_default_fee_articles_in_every_vat_form_and_nothing_else() -> None:
    for sku in SEEDED_FEES | {"fraktavg-25", "rabatt-0", "avrundning-0"}:
        assert sku in DEFAULT_ORDER_ONLY, sku
    for sku in ("KAFFE-500", "frakt", "fraktavg-13", "avrundning-12", "", "Fraktavg"):
        assert sku not in DEFAULT_ORDER_ONLY, sku
    assert DEFAULT_ORDER_ONLY.reason("fraktavg", "se") == (
        "fraktavg is this connection's freight article (order rows only, [connection.orders] "
        "fee_articles); not offered in the shop se"
    )
    assert "handling-fee article for 12 % VAT rows" in str(
        DEFAULT_ORDER_ONLY.reason("expavg-12", "se")
    )
    assert DEFAULT_ORDER_ONLY.reason("KAFFE-500", "se") is None


def test_the_connections_own_fee_articles_and_vat_rates() -> None:
    orders = OrdersConfig(
        fee_articles=FeeArticles(freight="FRAKT", handling="EXP", discount="RAB", rounding="ORE"),
        vat_rates=[25.0, 12.5, 10.0],
    )
    own = OrderOnly.of_orders(orders, excluded=["PRESENTKORT"])
    for sku in ("FRAKT", "FRAKT-12.5", "FRAKT-10", "FRAKT-0", "EXP-25", "RAB-10", "ORE", "ORE-0"):
        assert sku in own, sku
    assert "fraktavg" not in own and "FRAKT-12" not in own and "ORE-25" not in own
    assert "exclude_skus" in str(own.reason("PRESENTKORT", "se"))
    assert not OrderOnly() and OrderOnly().reason("fraktavg", "se") is None


# -- the flows, on fakes -----------------------------------------------------------------------


def _flow(
    store: Store,
    clock: FakeClock,
    erp: FakeErp,
    shop: FakeShop,
    masters: dict[Register, str],
    orders: OrdersConfig | None = None,
    settings: CatalogConfig | None = None,
) -> Flow:
    sides = CatalogSides(
        connection="c",
        erp_name="erp",
        erp=erp,
        shops={"se": shop},
        masters=masters,
        store=store,
        clock=clock,
        settings=settings or CatalogConfig(),
        poll=PollConfig(),
        **({"orders": orders} if orders else {}),
    )
    rows = catalog_rows(sides)
    engine = Engine(
        connection="c",
        store=store,
        clock=clock,
        run_id="run-1",
        handlers={h.register: h for row in rows for h in row.handlers},
        rng=random.Random(0),
    )
    return Flow(engine=engine, rows=rows, erp=erp, shops={"se": shop})


async def _items(store: Store, register: str) -> dict[str, WorkItem]:
    found = await store.items.query(connection="c")
    return {item.external_id: item for item in found if item.register == register}


async def test_erp_products_reach_the_shop_without_the_fee_articles(store: Store) -> None:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), FakeShop(clock)
    for sku in ("fraktavg", "fraktavg-12", "rabatt-6", "avrundning", "KAFFE-500", "TE-100"):
        erp.set(article(sku, clock))
    flow = _flow(store, clock, erp, shop, {Register.PRODUCTS: "erp", Register.PRICES: "erp"})
    await poll(flow, "products", clock)
    await drain(flow, "products")
    assert set(shop.articles) == {"KAFFE-500", "TE-100"}
    items = await _items(store, "products")
    for sku in ("fraktavg", "fraktavg-12", "rabatt-6", "avrundning"):
        assert items[sku].state is ItemState.SKIPPED, items[sku]
        assert f"{sku} is this connection's" in str(items[sku].last_error)
        assert "not offered in the shop se" in str(items[sku].last_error)
    assert "freight article for 12 % VAT rows" in str(items["fraktavg-12"].last_error)
    assert items["KAFFE-500"].state is ItemState.DONE


async def test_the_connections_own_fee_articles_are_the_ones_skipped(store: Store) -> None:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), FakeShop(clock)
    for sku in ("FRAKT", "FRAKT-12", "fraktavg"):
        erp.set(article(sku, clock))
    orders = OrdersConfig(fee_articles=FeeArticles(freight="FRAKT"))
    flow = _flow(store, clock, erp, shop, {Register.PRODUCTS: "erp"}, orders=orders)
    await poll(flow, "products", clock)
    await drain(flow, "products")
    # "fraktavg" is not this connection's freight article: an ordinary product here
    assert set(shop.articles) == {"fraktavg"}


async def test_combo_prices_skip_the_fee_articles_without_a_request(store: Store) -> None:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), FakeShop(clock)
    for sku in ("expavg", "KAFFE-500"):
        shop.set(article(sku, clock, price=Decimal(1)))
        erp.set(article(sku, clock, price=Decimal(50)))
    flow = _flow(store, clock, erp, shop, {Register.PRODUCTS: "shop", Register.PRICES: "erp"})
    await poll(flow, "prices", clock)
    await drain(flow, "prices")
    assert shop.articles["KAFFE-500"].price == Decimal(50)
    assert shop.articles["expavg"].price == Decimal(1)  # the shop's own, never written
    item = (await _items(store, "prices"))["expavg"]
    assert item.state is ItemState.SKIPPED and "handling-fee article" in str(item.last_error)


async def test_shop_products_reach_the_erp_fee_articles_included(store: Store) -> None:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), FakeShop(clock)
    for sku in ("fraktavg", "KAFFE-500"):
        shop.set(article(sku, clock))
    flow = _flow(store, clock, erp, shop, {Register.PRODUCTS: "shop", Register.PRICES: "off"})
    await poll(flow, "products", clock)
    await drain(flow, "products")
    assert set(erp.articles) == {"fraktavg", "KAFFE-500"}


async def test_stock_of_a_fee_article_is_skipped_and_not_read(store: Store) -> None:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), FakeShop(clock)
    erp.set_stock("fraktavg-6", 0)
    erp.set_stock("KAFFE-500", 7)
    flow = _flow(store, clock, erp, shop, {Register.STOCK: "erp"})
    await poll(flow, "stock", clock)
    await drain(flow, "stock")
    assert shop.stock == {"KAFFE-500": Decimal(7)}
    assert erp.stock_reads == 1  # KAFFE-500's level only
    item = (await _items(store, "stock"))["fraktavg-6"]
    assert item.state is ItemState.SKIPPED and "freight article for 6 % VAT" in str(item.last_error)


async def test_a_list_price_of_a_fee_article_is_skipped(store: Store) -> None:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), FakeShop(clock)
    for sku in ("rabatt", "KAFFE-500"):
        erp.set_list_price(
            ListPrice(
                price_list="B2B",
                sku=sku,
                currency="SEK",
                price=Decimal(40),
                min_quantity=Decimal(1),
            )
        )
    settings = CatalogConfig(shops={"se": ShopCatalogConfig(price_lists={"B2B": "Handlare"})})
    flow = _flow(store, clock, erp, shop, {Register.PRICE_LISTS: "erp"}, settings=settings)
    await poll(flow, "price_lists", clock)
    await drain(flow, "price_lists")
    assert set(shop.list_prices) == {("Handlare", "KAFFE-500")}
    items = await _items(store, "price_lists")
    (rabatt,) = [i for key, i in items.items() if "/rabatt@" in key]
    assert rabatt.state is ItemState.SKIPPED and "discount article" in str(rabatt.last_error)


# -- the initial sync, on fakes ----------------------------------------------------------------


async def test_the_initial_sync_from_the_erp_counts_the_fee_articles_apart(store: Store) -> None:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), FakeShop(clock)
    for sku in ("fraktavg", "expavg-12", "avrundning", "KAFFE-500"):
        erp.set(article(sku, clock))
    for dry_run in (True, False):
        checkpoint = None if dry_run else SyncCheckpoint(store.db, "c", "erp")
        sync = InitialSync("erp", erp, {"se": shop}, clock, checkpoint)
        tally = await sync.run()
        assert (tally.articles, tally.fee_articles, tally.failed) == (4, 3, 0)
        assert (tally.created, tally.skipped) == (1, 0)  # the dry run: "would be created"
        assert set(shop.articles) == (set() if dry_run else {"KAFFE-500"})
        assert {f.sku for f in tally.fee_skips} == {"fraktavg", "expavg-12", "avrundning"}
        assert all("not offered in the shop se" in f.sentence for f in tally.fee_skips)
    assert set(shop.articles) == {"KAFFE-500"}


async def test_the_initial_sync_from_a_shop_copies_every_article(store: Store) -> None:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), FakeShop(clock)
    for sku in ("fraktavg", "KAFFE-500"):
        shop.set(article(sku, clock))
    sync = InitialSync("se", shop, {"erp": erp}, clock, SyncCheckpoint(store.db, "c", "se"))
    tally = await sync.run()
    assert (tally.created, tally.fee_articles) == (2, 0)
    assert set(erp.articles) == {"fraktavg", "KAFFE-500"}


async def test_the_initial_sync_takes_the_connections_own_fee_articles(store: Store) -> None:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), FakeShop(clock)
    for sku in ("FRAKT", "fraktavg"):
        erp.set(article(sku, clock))
    own = OrderOnly.of(FeeArticles(freight="FRAKT"), [25.0])
    checkpoint = SyncCheckpoint(store.db, "c", "erp")
    tally = await InitialSync("erp", erp, {"se": shop}, clock, checkpoint, order_only=own).run()
    assert (tally.created, tally.fee_articles) == (1, 1)
    assert set(shop.articles) == {"fraktavg"}


# -- on the e-conomic and Starweb simulators (the demo's systems) ------------------------------


@asynccontextmanager
async def _simulated(tmp_path: Path, **options: Any) -> AsyncIterator[SimulatedConnection]:
    """The simulators on one fake clock, seeded as the demo's (the ERP has the fee articles);
    e-conomic's Tröja variants are removed, as in tests/cli/test_sync_products.py (their
    names rewrite one Starweb product's name per variant, unrelated to this)."""
    clock = FakeClock(START)
    async with SimulatedConnection.open(
        tmp_path,
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"clock": clock},
        erp_config=GROUPS,
        catalog=True,
        **options,
    ) as env:
        for sku in ("TROJA-S", "TROJA-M", "TROJA-L"):
            env.erp.remove_article(sku)
        yield env


def _shop_skus(env: SimulatedConnection) -> set[str]:
    return {v.sku for p in env.shop.catalog.products.values() for v in p.variants}


async def test_simulated_erp_products_flow_leaves_the_fee_articles_out(tmp_path: Path) -> None:
    products_only = {"registers": {"stock": "off", "price_lists": "off"}}
    async with _simulated(tmp_path, connection=products_only) as env:
        assert not _shop_skus(env) & SEEDED_FEES
        env.erp.add_article("NY-1", "Ny kopp", Decimal("79.00"), Decimal(25))
        for sku in sorted(SEEDED_FEES):  # every fee article changes in the ERP
            env.erp.set_price(sku, Decimal("49.00"))
        flow = env.flow()
        assert isinstance(env.clock, FakeClock)
        env.clock.advance(1)
        await flow.poll_once("economic")
        await env.drain(flow, "products")
        skus = _shop_skus(env)
        assert "NY-1" in skus and not skus & SEEDED_FEES, sorted(skus & SEEDED_FEES)
        skipped = {
            item.external_id: str(item.last_error)
            for item in await env.store.items.query(states=[ItemState.SKIPPED])
            if item.register == "products"
        }
        assert set(skipped) >= SEEDED_FEES
        assert "fraktavg is this connection's freight article" in skipped["fraktavg"]


async def test_simulated_initial_sync_from_the_erp_as_the_demo_runs_it(tmp_path: Path) -> None:
    """The demo (``brygga demo --mode erp``) copies the catalog with ``sync_products`` before
    the daemon starts: the shop gets the products, not the fee articles."""
    async with _simulated(tmp_path) as env:
        out, err = io.StringIO(), io.StringIO()
        code = await sync_products(
            env.loaded, SyncRequest("demo", "erp"), http=env.http, out=out, err=err
        )
        assert code == 0, out.getvalue() + err.getvalue()
        skus = _shop_skus(env)
        assert "KAFFE-500" in skus and not skus & SEEDED_FEES, sorted(skus & SEEDED_FEES)
        # the same pass on its own: the ten fee articles counted apart, nothing else changes
        conn = env.loaded.connections[0]
        erp, shops = build_adapters(conn, env.http)
        try:
            tally = await InitialSync(
                "economic", erp, shops, env.clock, checkpoint=None, create=True
            ).run()
        finally:
            await erp.aclose()
            for shop in shops.values():
                await shop.aclose()
        assert tally.fee_articles == len(SEEDED_FEES) and tally.created == 0
        assert {f.sku for f in tally.fee_skips} == SEEDED_FEES
        assert all("(order rows only" in f.sentence for f in tally.fee_skips)


async def test_the_daemon_and_sync_products_take_the_connections_own_fee_articles(
    tmp_path: Path,
) -> None:
    # the wiring passes [connection.orders] to the catalog flows and `sync products` passes it
    # to the initial sync: a connection whose freight article is FRAKT-X keeps FRAKT-X (and its
    # VAT forms) out of the shop, and fraktavg, no longer its freight article, goes in
    products_only = {"registers": {"stock": "off", "price_lists": "off"}}
    own = {"fee_articles": {"freight": "FRAKT-X"}}
    async with _simulated(tmp_path, connection=products_only, orders=own) as env:
        env.erp.add_article("FRAKT-X", "Frakt", Decimal("49.00"), Decimal(25))
        env.erp.add_article("FRAKT-X-12", "Frakt 12", Decimal("49.00"), Decimal(12))
        out, err = io.StringIO(), io.StringIO()
        code = await sync_products(
            env.loaded, SyncRequest("demo", "erp"), http=env.http, out=out, err=err
        )
        assert code == 0, out.getvalue() + err.getvalue()
        skus = _shop_skus(env)
        assert not skus & {"FRAKT-X", "FRAKT-X-12"}, sorted(skus)
        assert "fraktavg" in skus  # an ordinary article for this connection
        assert "skipped: fee articles" in out.getvalue()
        env.erp.set_price("FRAKT-X", Decimal("59.00"))
        flow = env.flow()
        assert isinstance(env.clock, FakeClock)
        env.clock.advance(1)
        await flow.poll_once("economic")
        await env.drain(flow, "products")
        assert not _shop_skus(env) & {"FRAKT-X", "FRAKT-X-12"}
