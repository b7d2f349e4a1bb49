"""A Specter product with variants (TROJA with sizes S/M/L) into a Starweb and a PrestaShop shop.

Specter's model (wire assumptions 9 and 16 of ``brygga_specter/wire.py``; modelled, Specter
publishes no API description, reference/erp-apis.md §3.4): a variant names its product in
``ParentItemCode`` and has its own unique ``ItemCode`` ("Product numbers: must be unique per
variant", §3.2 [S3]); the product is an item too, told apart by having variants. The parent is
the product, not a sellable article: Starweb gets no size-less variant for it, PrestaShop does
not fail it (its product-level stock is PrestaShop's sum of the combinations' and never written,
reference/shop-apis.md §3.6 [PS14]), and every variant's stock and price arrive (QA finding:
the parent failed in PrestaShop on every change and became variant "TROJA" in Starweb).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brygga.catalog import Article
from brygga.clock import FakeClock
from brygga.commands.sync_products import SyncRequest, sync_products
from brygga.errors import NothingToDo
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.store import ItemState
from brygga.sync.flow import Flow
from brygga.sync.wiring import load_checked
from brygga.testing import RoutingTransport, SimulatedConnection, write_config
from brygga_prestashop.simulator import PrestashopSimulator
from brygga_specter.catalog import SpecterCatalog
from brygga_specter.simulator import SpecterSimulator
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

SIZES = ("TROJA-S", "TROJA-M", "TROJA-L")
FAST = {"requests": 1_000, "per_seconds": 0.05}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


class Setup:
    def __init__(self, env: SimulatedConnection, erp: Any, sw: Any, ps: Any) -> None:
        self.env, self.erp, self.sw, self.ps = env, erp, sw, ps


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    """Specter (seeded with TROJA and its sizes) and two empty shops, products ERP -> shops."""
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    erp = SpecterSimulator(clock=clock)
    sw = StarwebSimulator(seed=3, clock=clock, seed_catalog=False)
    ps = PrestashopSimulator(clock=clock, seed_catalog=False)
    limit = {"rate_limit": FAST}
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="specter",
        erp={**erp.adapter_config("http://erp.test"), **limit},
        shops=[
            {
                **sw.adapter_config("http://sw.test/api/v2", name="sw"),
                **limit,
                "variant_attribute": "Storlek",
            },
            {**ps.adapter_config("http://ps.test", name="ps"), **limit},
        ],
        connection={"mode": "erp", "registers": {"price_lists": "off"}},
        sections={"orders": {"overlap": "5m", "lookback": "1h"}},
    )
    loaded = load_checked(path, PluginHost())
    routes = {"sw.test": sw.app, "ps.test": ps.app, "erp.test": erp.app}
    http = HttpContext(transport=RoutingTransport(routes), clock=clock)
    env = await SimulatedConnection.attach(shop=sw, erp=erp, loaded=loaded, http=http)
    try:
        yield Setup(env, erp, sw, ps)
    finally:
        await env.close()


async def _sync_from_erp(setup: Setup) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    request = SyncRequest("specter", "erp", None, False)  # type: ignore[arg-type]
    code = await sync_products(setup.env.loaded, request, http=setup.env.http, out=out, err=err)
    return code, out.getvalue() + err.getvalue()


async def _run(setup: Setup, flow: Flow, register: str) -> list[ItemState]:
    clock = setup.env.clock
    assert isinstance(clock, FakeClock)
    clock.advance(1)
    for discoverer in flow.discoverers:
        if discoverer.register == register:
            for instance in discoverer.instances:
                await flow.poll(discoverer, instance)
    return await setup.env.drain(flow, register)


async def _failed(setup: Setup) -> list[str]:
    return [
        f"{i.register} {i.instance} {i.external_id}: {i.last_error}"
        for i in await setup.env.store.items.query(states=[ItemState.FAILED])
    ]


def _starweb_troja(sw: StarwebSimulator) -> Any:
    found = [p for p in sw.catalog.products.values() if p.external_id == "TROJA"]
    assert len(found) == 1, [p.external_id for p in sw.catalog.products.values()]
    return found[0]


def _starweb_skus(sw: StarwebSimulator) -> list[str]:
    return [v.sku for p in sw.catalog.products.values() for v in p.variants]


def _ps_rows(ps: PrestashopSimulator, table: str, reference: str) -> list[dict[str, Any]]:
    return [r for r in ps.state.table(table).values() if r["reference"] == reference]


def _ps_name(product: dict[str, Any]) -> str:
    name = product["name"]
    return str(next(iter(name.values())) if isinstance(name, dict) else name)


def _ps_price(ps: PrestashopSimulator, sku: str) -> Decimal:
    """A combination's absolute price: the product's base price plus its impact (§3.6)."""
    (combo,) = _ps_rows(ps, "combinations", sku)
    product = ps.state.table("products")[int(combo["id_product"])]
    return Decimal(product["price"]) + Decimal(combo["price"])


async def test_the_source_marks_the_parent_and_lists_it_after_its_variants(
    setup: Setup,
) -> None:
    """Assumption 16: the parent is the item its variants name; it carries no price (its own
    is no variant's) and comes after them, so a shop has the product its variants made."""
    flow = setup.env.flow()
    source = flow.erp
    assert isinstance(source, SpecterCatalog)
    parent = await source.fetch_article("TROJA")
    size = await source.fetch_article("TROJA-S")
    plain = await source.fetch_article("KAFFE-500")
    assert parent is not None and size is not None and plain is not None
    assert (parent.has_variants, parent.price, parent.name) == (True, None, "Troja")
    assert (size.has_variants, size.product_sku, size.variant_name) == (False, "TROJA", "S")
    assert (size.name, size.price) == ("Troja S", Decimal("299.00"))
    assert (plain.has_variants, plain.price is not None) == (False, True)
    order = [a.sku async for a in source.all_articles()]
    assert order.index("TROJA") > max(order.index(s) for s in SIZES)
    assert sorted(order) == sorted(setup.erp.state.items)  # every item once


async def test_sync_from_erp_gives_both_shops_the_product_and_its_sizes_not_the_parent(
    setup: Setup,
) -> None:
    code, output = await _sync_from_erp(setup)
    assert code == 0, output
    # Starweb: one product TROJA with the three sizes, no size-less variant "TROJA"
    assert "TROJA" not in _starweb_skus(setup.sw)
    troja = _starweb_troja(setup.sw)
    assert sorted(v.sku for v in troja.variants) == sorted(SIZES)
    assert troja.name == "Troja"  # the product's name, not a size's
    for sku in SIZES:
        price = setup.sw.price(sku)
        assert price is not None and price[0] == Decimal("299.00")
    # PrestaShop: product TROJA with three combinations, each at its absolute price
    (product,) = _ps_rows(setup.ps, "products", "TROJA")
    assert _ps_name(product) == "Troja"
    combos = [c for c in setup.ps.state.table("combinations").values()]
    assert sorted(c["reference"] for c in combos if c["id_product"] == product["id"]) == sorted(
        SIZES
    )
    assert [_ps_price(setup.ps, sku) for sku in SIZES] == [Decimal("299.00")] * 3
    # a second run writes nothing and fails nothing
    code, output = await _sync_from_erp(setup)
    assert code == 0, output
    assert "TROJA" not in _starweb_skus(setup.sw)


async def test_the_daemon_leaves_the_parent_alone_and_sends_each_size(setup: Setup) -> None:
    code, output = await _sync_from_erp(setup)
    assert code == 0, output
    flow = setup.env.flow()
    for register in ("products", "stock"):
        await _run(setup, flow, register)
    assert await _failed(setup) == []
    # stock: each size's own level; a stock change of the parent itself is no shop's
    assert setup.env.clock is not None
    setup.env.clock.advance(5)  # type: ignore[attr-defined]
    setup.erp.set_stock("TROJA-M", Decimal(7))
    setup.erp.set_stock("TROJA", Decimal(99))
    await _run(setup, flow, "stock")
    assert setup.sw.stock("TROJA-M") == Decimal(7)
    assert setup.ps.stock("TROJA-M") == 7
    assert setup.ps.stock("TROJA") == 7  # PrestaShop's own sum of the combinations (S, L: 0)
    assert await _failed(setup) == []
    # a price change of a size and a new name of the product (the parent) reach both shops
    setup.env.clock.advance(5)  # type: ignore[attr-defined]
    setup.erp.set_price("TROJA-L", Decimal("319.00"))
    setup.erp.set_item("TROJA", Description="Tröja")
    states = await _run(setup, flow, "products")
    assert await _failed(setup) == [], states
    price = setup.sw.price("TROJA-L")
    assert price is not None and price[0] == Decimal("319.00")
    assert _ps_price(setup.ps, "TROJA-L") == Decimal("319.00")
    assert _ps_price(setup.ps, "TROJA-S") == Decimal("299.00")  # the base price did not move
    assert _starweb_troja(setup.sw).name == "Tröja"
    (product,) = _ps_rows(setup.ps, "products", "TROJA")
    assert _ps_name(product) == "Tröja"
    assert "TROJA" not in _starweb_skus(setup.sw)
    assert sorted(v.sku for v in _starweb_troja(setup.sw).variants) == sorted(SIZES)


async def test_a_parent_processed_before_its_product_exists_is_skipped_not_failed(
    setup: Setup,
) -> None:
    """The daemon alone (no initial sync): whichever order the items run in, the parent never
    fails and Starweb never gets a variant TROJA; once the sizes made the product, the
    parent's next change names it."""
    flow = setup.env.flow()
    await _run(setup, flow, "products")
    assert await _failed(setup) == []
    assert "TROJA" not in _starweb_skus(setup.sw)
    assert sorted(v.sku for v in _starweb_troja(setup.sw).variants) == sorted(SIZES)
    assert len(_ps_rows(setup.ps, "products", "TROJA")) == 1
    setup.env.clock.advance(5)  # type: ignore[attr-defined]
    setup.erp.set_item("TROJA", Description="Tröja")
    await _run(setup, flow, "products")
    assert await _failed(setup) == []
    assert _starweb_troja(setup.sw).name == "Tröja"


async def test_the_parents_own_stock_and_list_prices_are_not_sent(setup: Setup) -> None:
    """A parent's stock or price-list price is no variant's (assumption 16): the stock feed and
    the list-price feed leave it out, and asking for its level is a skip with the reason."""
    flow = setup.env.flow()
    source = flow.erp
    assert isinstance(source, SpecterCatalog)
    clock = setup.env.clock
    assert isinstance(clock, FakeClock)
    since = clock.now()
    clock.advance(5)
    setup.erp.set_stock("TROJA", Decimal(99))
    setup.erp.set_stock("TROJA-S", Decimal(4))
    setup.erp.set_list_price("TROJA", "B2B", Decimal("250.00"))
    setup.erp.set_list_price("TROJA-S", "B2B", Decimal("240.00"))
    clock.advance(5)
    until = clock.now()
    levels = [level.sku async for level in source.changed_stock(since, until)]
    assert levels == ["TROJA-S"]
    listed = [(p.sku, p.price) async for p in source.changed_list_prices(since, until)]
    assert listed == [("TROJA-S", Decimal("240.00"))]
    with pytest.raises(NothingToDo, match="TROJA is a product with variants"):
        await source.stock_of("TROJA")
    level = await source.stock_of("TROJA-S")
    assert level is not None and level.quantity == Decimal(4)


def _parent(sku: str, name: str, **fields: Any) -> Article:
    base: dict[str, Any] = {
        "name": name,
        "currency": "SEK",
        "vat_rate": Decimal(25),
        "has_variants": True,
        "modified_at": datetime(2026, 5, 4, 8, 0, tzinfo=UTC),
    }
    return Article(sku=sku, **(base | fields))


async def test_prestashop_takes_a_parent_as_the_product_and_a_size_makes_its_product(
    setup: Setup,
) -> None:
    """PrestaShop's side alone: a size whose product the shop lacks makes the product first
    (named without the size, base price 0, so the combination's impact is its price, §3.6);
    the parent then renames it, never as a combination and never with a price or stock."""
    flow = setup.env.flow()
    ps = flow.shops["ps"]
    size = Article(
        sku="MOSSA-S",
        name="Mössa S",
        product_sku="MOSSA",
        variant_name="S",
        currency="SEK",
        price=Decimal("149.00"),
        vat_rate=Decimal(25),
        modified_at=datetime(2026, 5, 4, 8, 0, tzinfo=UTC),
    )
    assert await ps.put_article(size, create=True, update=True) == "created"  # type: ignore[attr-defined]
    (product,) = _ps_rows(setup.ps, "products", "MOSSA")
    assert (_ps_name(product), Decimal(product["price"])) == ("Mössa", Decimal(0))
    assert _ps_price(setup.ps, "MOSSA-S") == Decimal("149.00")
    renamed = _parent("MOSSA", "Mössa ull")
    assert await ps.put_article(renamed, create=True, update=True) == "updated"  # type: ignore[attr-defined]
    assert await ps.put_article(renamed, create=True, update=True) == "unchanged"  # type: ignore[attr-defined]
    (product,) = _ps_rows(setup.ps, "products", "MOSSA")
    assert (_ps_name(product), Decimal(product["price"])) == ("Mössa ull", Decimal(0))
    assert _ps_rows(setup.ps, "combinations", "MOSSA") == []
    # a parent the shop lacks altogether: the product, without combinations
    assert await ps.put_article(_parent("KEPS", "Keps"), create=True, update=True) == "created"  # type: ignore[attr-defined]
    (keps,) = _ps_rows(setup.ps, "products", "KEPS")
    assert _ps_name(keps) == "Keps"
