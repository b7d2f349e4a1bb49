"""Plugins' field mappings run for every register, not only orders (QA finding: a products
mapping registered by a copy of contrib/plugin-template was listed by `brygga plugins` and never
ran). Each test drives the real wiring (``SimulatedConnection``: Starweb shops and e-conomic on
one fake clock), the same flow the daemon runs, or ``brygga sync products`` itself, and fails
on a daemon whose catalog flows do not run the mappings.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from brygga.catalog import Article, ListPrice, StockLevel
from brygga.clock import FakeClock
from brygga.commands.sync_products import SyncRequest, sync_products
from brygga.errors import NothingToDo, PermanentError
from brygga.mappings import Mapping, MappingContext, Skip, apply_mappings, mapped_stock
from brygga.models import DocumentState, OrderEvent, Register
from brygga.store import ItemState, WorkItem
from brygga.sync.flow import Flow
from brygga.sync.status_write import StatusHandler
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio

SHOPS = ("se", "no")
#: e-conomic product groups for new products per VAT rate (seeded groups of the simulator)
GROUPS = {"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}
SKU = "KAFFE-500"


@asynccontextmanager
async def _opened(tmp_path: Path, mode: str, *mappings: Mapping) -> AsyncIterator[Any]:
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
    ) as env:
        env.mappings = mappings
        yield env


async def _cycle(env: SimulatedConnection, flow: Flow) -> None:
    """A second on: every feed of every system polled once, then every due item run."""
    assert isinstance(env.clock, FakeClock)
    env.clock.advance(1)
    for discoverer in flow.discoverers:
        for instance in discoverer.instances:
            await flow.poll(discoverer, instance)
    for register in flow.engine.handlers:
        await env.drain(flow, register)


def _writes(env: SimulatedConnection) -> int:
    """Requests that change something, on the ERP and on every shop (token requests aside)."""
    logs = [env.erp.requests, *(shop.requests for shop in env.shops.values())]
    return sum(
        1
        for log in logs
        for method, path in log
        if method in {"POST", "PUT", "PATCH", "DELETE"} and "token" not in path
    )


async def _items(env: SimulatedConnection, register: str, sku: str = SKU) -> list[WorkItem]:
    found = await env.store.items.query(connection="demo")
    return [i for i in found if i.register == register and i.external_id == sku]


async def _failures(env: SimulatedConnection) -> list[str]:
    failed = await env.store.items.query(states=[ItemState.FAILED])
    return [f"{i.register} {i.instance} {i.external_id}: {i.last_error}" for i in failed]


def _name(shop: Any, sku: str = SKU) -> str:
    return str(shop.catalog_product(sku).name)


class _Upper:
    """A products mapping that upper-cases names, recording the contexts it ran in."""

    def __init__(self) -> None:
        self.seen: list[MappingContext] = []

    def __call__(self, article: Article, context: MappingContext) -> Article:
        self.seen.append(context)
        return msgspec.structs.replace(article, name=article.name.upper())

    def mapping(self) -> Mapping:
        return Mapping(name="upper-names", register=Register.PRODUCTS, transform=self)


# -- products, ERP → shops --------------------------------------------------------------------


async def test_a_products_mapping_upper_cases_names_from_the_erp_in_both_shops(
    tmp_path: Path,
) -> None:
    upper = _Upper()
    async with _opened(tmp_path, "erp", upper.mapping()) as env:
        flow = env.flow()
        await _cycle(env, flow)
        assert await _failures(env) == []
        env.erp.set_product(SKU, name="Kaffe mörkrost 500 g")
        await _cycle(env, flow)
        assert await _failures(env) == []
        for shop in env.shops.values():
            assert _name(shop) == "KAFFE MÖRKROST 500 G"
        # the context names the connection, the ERP as source and each shop as destination
        contexts = {(c.connection, c.source, c.target, c.shop, c.register) for c in upper.seen}
        erp = env.loaded.connections[0].erp.name
        assert ("demo", erp, "se", "se", Register.PRODUCTS) in contexts
        assert ("demo", erp, "no", "no", Register.PRODUCTS) in contexts
        assert all(not c.to_erp for c in upper.seen)
        # mapped and fingerprinted after: more polls write nothing
        before = _writes(env)
        for _ in range(3):
            await _cycle(env, flow)
        assert _writes(env) == before


async def test_the_initial_sync_runs_the_products_mapping_and_the_daemon_agrees(
    tmp_path: Path,
) -> None:
    upper = _Upper()
    async with _opened(tmp_path, "erp", upper.mapping()) as env:
        env.erp.set_product(SKU, name="Kaffe ljusrost")
        out, err = io.StringIO(), io.StringIO()
        code = await sync_products(
            env.loaded,
            SyncRequest("demo", "erp"),
            http=env.http,
            out=out,
            err=err,
            mappings=env.mappings,
        )
        assert code == 0, out.getvalue() + err.getvalue()
        for shop in env.shops.values():
            assert _name(shop) == "KAFFE LJUSROST"
        assert {c.connection for c in upper.seen} == {"demo"}
        # the daemon maps the same way: its products items find nothing to change
        flow = env.flow()
        await _cycle(env, flow)
        assert await _failures(env) == []
        for shop in env.shops.values():
            assert _name(shop) == "KAFFE LJUSROST"
        items = await _items(env, "products")
        assert {i.instance for i in items} == set(SHOPS)
        assert {i.result for i in items} == {"unchanged"}, [i.result for i in items]


async def test_a_skip_in_a_products_mapping_skips_it_in_the_initial_sync_too(
    tmp_path: Path,
) -> None:
    def keep_coffee(article: Article, context: MappingContext) -> Article:
        if article.sku == SKU:
            raise Skip("the shop names its coffee itself")
        return article

    skip = Mapping(name="keep-coffee", register=Register.PRODUCTS, transform=keep_coffee)
    async with _opened(tmp_path, "erp", skip) as env:
        before = _name(env.shop)
        env.erp.set_product(SKU, name="Nytt namn")
        out, err = io.StringIO(), io.StringIO()
        request = SyncRequest("demo", "erp")
        code = await sync_products(
            env.loaded, request, http=env.http, out=out, err=err, mappings=env.mappings
        )
        assert code == 0, out.getvalue() + err.getvalue()
        assert _name(env.shop) == before


# -- stock ------------------------------------------------------------------------------------


async def test_a_stock_mapping_changes_the_level_written(tmp_path: Path) -> None:
    def keep_two(level: StockLevel, context: MappingContext) -> StockLevel:
        assert context.register is Register.STOCK and context.target == context.shop
        return msgspec.structs.replace(level, quantity=level.quantity - 2)

    buffer = Mapping(name="safety-two", register=Register.STOCK, transform=keep_two)
    async with _opened(tmp_path, "erp", buffer) as env:
        flow = env.flow()
        await _cycle(env, flow)
        env.erp.set_stock(SKU, Decimal(42))
        env.erp.set_stock("TE-100", Decimal(1))
        await _cycle(env, flow)
        assert await _failures(env) == []
        for shop in env.shops.values():
            assert shop.stock(SKU) == Decimal(40)
            assert shop.stock("TE-100") == Decimal(0)  # never below 0
        events = await env.store.events.for_record("demo", "stock", "se", SKU)
        said = "; 40 written, as the stock mappings say"
        assert any("available 42 = " in e.message and said in e.message for e in events), [
            e.message for e in events
        ]
        before = _writes(env)
        for _ in range(3):
            await _cycle(env, flow)
        assert _writes(env) == before


# -- prices (combo: the ERP's prices to the shops' own products) -----------------------------


async def test_a_skip_in_a_prices_mapping_skips_that_sku_with_the_sentence(
    tmp_path: Path,
) -> None:
    def hand_priced(article: Article, context: MappingContext) -> Article:
        if article.sku == SKU:
            raise Skip(f"{article.sku} is priced by hand in {context.shop}")
        return article

    def plus_ten(article: Article, context: MappingContext) -> Article:
        assert article.price is not None
        return msgspec.structs.replace(article, price=article.price + 10)

    mappings = (
        Mapping(name="hand-priced", register=Register.PRICES, transform=hand_priced, order=1),
        Mapping(name="plus-ten", register=Register.PRICES, transform=plus_ten),
    )
    async with _opened(tmp_path, "combo", *mappings) as env:
        flow = env.flow()
        await _cycle(env, flow)
        assert await _failures(env) == []
        shop_price = env.shop.price(SKU)
        env.erp.set_price(SKU, Decimal("111.00"))
        env.erp.set_price("TE-100", Decimal("40.00"))
        await _cycle(env, flow)
        assert await _failures(env) == []
        for shop in env.shops.values():
            assert shop.price("TE-100")[0] == Decimal("50.00")
        assert env.shop.price(SKU) == shop_price
        skipped = await _items(env, "prices")
        assert {i.state for i in skipped} == {ItemState.SKIPPED}
        assert {i.last_error for i in skipped} == {
            f"skipped by mapping 'hand-priced': {SKU} is priced by hand in {shop}" for shop in SHOPS
        }


# -- a broken mapping -------------------------------------------------------------------------


async def test_a_raising_mapping_fails_only_that_record_naming_the_mapping(
    tmp_path: Path,
) -> None:
    def broken(article: Article, context: MappingContext) -> Article:
        if article.sku == SKU:
            raise KeyError("colour")
        return msgspec.structs.replace(article, name=article.name + " *")

    mapping = Mapping(name="colours", register=Register.PRODUCTS, transform=broken, plugin="acme")
    async with _opened(tmp_path, "erp", mapping) as env:
        flow = env.flow()
        await _cycle(env, flow)
        env.erp.set_product(SKU, name="Kaffe X")
        env.erp.set_product("TE-100", name="Te Y")
        await _cycle(env, flow)
        failures = await _failures(env)
        assert sorted(failures) == sorted(
            f"products {shop} {SKU}: product {SKU} for {shop}: mapping 'colours' (acme) "
            "failed: KeyError: 'colour'"
            for shop in SHOPS
        )
        for shop in env.shops.values():
            assert _name(shop, "TE-100") == "Te Y *"
            assert _name(shop) != "Kaffe X"


# -- combo: no echo loop ----------------------------------------------------------------------


async def test_combo_with_a_name_mapping_settles(tmp_path: Path) -> None:
    """combo: products from the shop to the ERP, prices from the ERP to the shops. A mapping
    that changes the name (upper-case on every products write, both ways it could run) must
    not make the flows answer each other's writes: a rename on either side costs a bounded
    number of writes, and further polls write nothing."""
    upper = _Upper()
    async with _opened(tmp_path, "combo", upper.mapping()) as env:
        se = env.shops["se"]
        flow = env.flow()
        for _ in range(2):
            await _cycle(env, flow)
        assert await _failures(env) == []
        settled = _writes(env)
        for _ in range(3):
            await _cycle(env, flow)
        assert _writes(env) == settled
        # a rename in the shop: the ERP gets it upper-cased, the ERP's change feed reports
        # that write back (prices flow), which writes nothing
        se.catalog_product(SKU).name = "Kaffe i butiken"
        se.touch_product(SKU)
        before = _writes(env)
        for _ in range(6):
            await _cycle(env, flow)
        product = env.erp.product(SKU)
        assert product is not None and product["name"] == "KAFFE I BUTIKEN"
        assert _writes(env) - before == 1  # the one PUT of the product in e-conomic
        # a rename in the ERP (and a price change): the price reaches both shops, the
        # products flow is the shop's, so nothing comes back and nothing repeats
        puts: list[str] = []
        put_article = flow.erp.put_article

        async def counted(article: Article, *, create: bool, update: bool) -> str:
            puts.append(article.name)
            return str(await put_article(article, create=create, update=update))

        flow.erp.put_article = counted
        env.erp.set_product(SKU, name="Kaffe i e-conomic")
        env.erp.set_price(SKU, Decimal("99.00"))
        before = _writes(env)
        for _ in range(6):
            await _cycle(env, flow)
        # one price write per shop; the shops' changes (their new prices) come back through
        # the products feed and fingerprint as what was written: nothing goes to the ERP
        assert _writes(env) - before == 2
        # the shop's article changed (its new price) and was looked at again: it fingerprints
        # as the mapped article last written, so the ERP is not even asked
        assert puts == []
        last = _writes(env)
        for _ in range(4):
            await _cycle(env, flow)
        assert _writes(env) == last
        assert await _failures(env) == []
        for shop in env.shops.values():
            assert shop.price(SKU)[0] == Decimal("99.00")


# -- price lists and status (handlers driven directly) ----------------------------------------


def test_a_stock_mapping_result_is_never_below_zero_and_skips_become_nothing_to_do() -> None:
    now = datetime(2026, 5, 4, tzinfo=UTC)
    level = StockLevel(sku="A1", quantity=Decimal(9), modified_at=now)

    def skip(level: StockLevel, context: MappingContext) -> StockLevel:
        raise Skip("not stocked online")

    minus = Mapping(
        name="minus",
        register=Register.STOCK,
        transform=lambda lv, c: msgspec.structs.replace(lv, quantity=lv.quantity - 20),
    )
    args: dict[str, Any] = {"connection": "c", "erp": "erp", "shop": "se"}
    assert mapped_stock([], level, Decimal(3), **args) == Decimal(3)
    assert mapped_stock([minus], level, Decimal(3), **args) == Decimal(0)
    with pytest.raises(NothingToDo, match="skipped by mapping 'nope': not stocked online"):
        mapped_stock([Mapping("nope", Register.STOCK, skip)], level, Decimal(3), **args)


def test_a_mapping_result_that_breaks_the_type_s_rules_fails_naming_the_mapping() -> None:
    price = ListPrice(price_list="B2B", sku="A1", currency="SEK", price=Decimal(10))
    negative = Mapping(
        name="discount",
        register=Register.PRICE_LISTS,
        transform=lambda p, c: msgspec.structs.replace(p, price=p.price - 20),
        plugin="acme",
    )
    context = MappingContext.between(
        "c", Register.PRICE_LISTS, source="erp", target="se", erp="erp"
    )
    assert (context.shop, context.source, context.target) == ("se", "erp", "se")
    with pytest.raises(PermanentError, match=r"A1 for se: mapping 'discount' .*negative"):
        apply_mappings(price, [negative], context, record="price list A1 for se")


def test_the_orders_context_keeps_its_direction() -> None:
    context = MappingContext("c", "se", "erp", Register.ORDERS)
    assert (context.source, context.target, context.to_erp) == ("se", "erp", True)


async def test_a_status_mapping_sees_the_erp_state_before_the_rules(tmp_path: Path) -> None:
    """A status mapping that drops ``invoiced`` (this merchant's shop shows delivery only)
    makes the handler write no status for an invoiced order, and one that skips records it."""
    from brygga.config import StatusRule

    seen: list[MappingContext] = []

    def delivery_only(state: DocumentState, context: MappingContext) -> DocumentState:
        seen.append(context)
        if "X" in state.number:
            raise Skip("test orders")
        return msgspec.structs.replace(state, events=state.events - {OrderEvent.INVOICED})

    async def _item(number: str) -> WorkItem:
        state = DocumentState(reference="r", number=number, events=frozenset({OrderEvent.INVOICED}))
        now = datetime(2026, 5, 4, tzinfo=UTC)
        return WorkItem(
            id=1,
            connection="c",
            register="status",
            instance="se",
            external_id="1001",
            state=ItemState.NEW,
            attempts=0,
            next_attempt=now,
            last_error="",
            reference="",
            result="",
            payload=msgspec.json.encode(state),
            run_id="run-1",
            source_time="",
            created_at=now,
            updated_at=now,
            bound="r",
        )

    handler = StatusHandler(
        connection="c",
        shops={"se": object()},  # type: ignore[dict-item]
        rules={"se": {OrderEvent.INVOICED: StatusRule(shop_status="completed")}},
        clock=FakeClock(datetime(2026, 5, 4, tzinfo=UTC)),
        settle=10,
        mappings=(Mapping("delivery-only", Register.STATUS, delivery_only),),
        erp_name="economic",
    )
    item = await _item("1")
    assert handler.intent(item) == ""
    outcome = await handler.handle(item)
    assert outcome.result == "unchanged"
    assert seen[-1].source == "economic" and seen[-1].target == "se"
    with pytest.raises(NothingToDo, match="skipped by mapping 'delivery-only': test orders"):
        await handler.handle(await _item("X1"))


async def test_a_skip_in_a_prices_mapping_keeps_the_price_where_prices_go_with_products(
    tmp_path: Path,
) -> None:
    """``erp`` mode: the prices go with the products, so the prices mappings run in the products
    flow; a Skip there keeps the shop's price (the article goes without prices) and the rest of
    the article is written, with the sentence in its event."""

    def hand_priced(article: Article, context: MappingContext) -> Article:
        if article.sku == SKU:
            raise Skip("priced by hand in the shop")
        return article

    skip = Mapping(name="hand-priced", register=Register.PRICES, transform=hand_priced)
    async with _opened(tmp_path, "erp", skip) as env:
        flow = env.flow()
        await _cycle(env, flow)
        shop_price = env.shop.price(SKU)
        env.erp.set_product(SKU, name="Kaffe nytt namn", salesPrice=Decimal("123.00"))
        env.erp.set_price("TE-100", Decimal("46.00"))
        await _cycle(env, flow)
        assert await _failures(env) == []
        for shop in env.shops.values():
            assert _name(shop) == "Kaffe nytt namn"
            assert shop.price("TE-100")[0] == Decimal("46.00")
        assert env.shop.price(SKU) == shop_price
        events = await env.store.events.for_record("demo", "products", "se", SKU)
        assert any(
            "price skipped by mapping 'hand-priced': priced by hand in the shop" in e.message
            for e in events
        ), events


async def test_a_price_lists_mapping_changes_the_list_price_written(tmp_path: Path) -> None:
    """The price-lists flow (fake adapters: e-conomic keeps no price lists), wired through
    CatalogSides as the daemon wires it: a mapping rounds the list price up to whole kronor,
    and the unchanged mapped price costs no second write."""
    import random

    from catalog_fakes import FakeErp, FakeShop, drain, poll

    from brygga.config import CatalogConfig, PollConfig, ShopCatalogConfig
    from brygga.store import Store
    from brygga.sync.catalog_plan import CatalogSides, catalog_rows
    from brygga.sync.engine import Engine

    seen: list[MappingContext] = []

    def whole_kronor(price: ListPrice, context: MappingContext) -> ListPrice:
        seen.append(context)
        return msgspec.structs.replace(price, price=price.price.to_integral_value("ROUND_CEILING"))

    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    erp, se = FakeErp(clock), FakeShop(clock)
    async with await Store.open(tmp_path / "state.db") as store:
        sides = CatalogSides(
            connection="c",
            erp_name="erp",
            erp=erp,
            shops={"se": se},
            masters={Register.PRICE_LISTS: "erp"},
            store=store,
            clock=clock,
            settings=CatalogConfig(shops={"se": ShopCatalogConfig(price_lists={"ÅF": "B2B"})}),
            poll=PollConfig(),
            mappings=(Mapping("whole-kronor", Register.PRICE_LISTS, whole_kronor),),
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
        flow = Flow(engine=engine, rows=rows, erp=erp, shops={"se": se})
        erp.set_list_price(
            ListPrice(price_list="ÅF", sku="A-1", currency="SEK", price=Decimal("79.20"))
        )
        await poll(flow, "price_lists", clock)
        assert await drain(flow, "price_lists") == ["done"]
        assert se.list_prices["B2B", "A-1"].price == Decimal(80)
        assert (seen[0].source, seen[0].target, seen[0].register) == (
            "erp",
            "se",
            Register.PRICE_LISTS,
        )
        await poll(flow, "price_lists", clock)  # the same price reported again
        await drain(flow, "price_lists")
        assert se.list_price_writes == 1
