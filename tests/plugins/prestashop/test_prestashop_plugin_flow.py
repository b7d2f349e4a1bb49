"""Plugin registration, config, the simulator boundary, and the real orders and status flows
between the PrestaShop and e-conomic simulators (brygga.testing.SimulatedConnection)."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from prestashop_support import open_adapter

import brygga_prestashop
from brygga.adapters import AdapterContext, Role, ShopAdapter
from brygga.config import load_config
from brygga.errors import ConfigError
from brygga.http.ratelimit import RateLimit
from brygga.models import OrderEvent, Register
from brygga.plugins import PluginHost
from brygga.store import ItemState
from brygga.sync.status import STATUS, WATCH
from brygga.testing import SimulatedConnection, toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_prestashop.adapter import PrestashopAdapter, PrestashopConfig
from brygga_prestashop.simulator import PrestashopSimulator


def test_registered_as_a_shop_kind() -> None:
    spec = PluginHost().adapters["prestashop"]
    assert (spec.kind, spec.role, spec.config_type) == ("prestashop", Role.SHOP, PrestashopConfig)
    catalog = {Register.PRODUCTS, Register.PRICES}
    assert spec.registers == (
        {Register.ORDERS, *catalog},
        {Register.STATUS, Register.STOCK, Register.PRICE_LISTS, *catalog},
    )
    caps = spec.capabilities
    # true only for what the code does: variants (combinations) and group price lists are
    # read/written; no campaign prices, web hooks or lookups by reference
    assert caps.variants and caps.price_lists
    assert not (caps.campaign_price or caps.webhooks)
    assert not caps.lookup_by_reference and caps.rate_limit is None
    assert spec.simulator is not None
    sim = spec.simulator(seed=2)
    assert isinstance(sim, PrestashopSimulator)
    raw = sim.adapter_config("https://butik.example")
    config = msgspec.convert(raw, PrestashopConfig, dec_hook=_dec)
    adapter = spec.factory(config, AdapterContext(connection="c", instance="se"))
    assert isinstance(adapter, PrestashopAdapter) and isinstance(adapter, ShopAdapter)
    assert sim.key not in repr(adapter) and sim.key not in repr(config)


def _dec(type_: type, value: Any) -> Any:
    from brygga.config import dec_hook

    return dec_hook(Path.cwd())(type_, value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"base_url": "butik.example"}, "base_url"),
        ({"version": "9"}, "version"),
        ({"id_shop": 0}, "id_shop"),
        ({"page_size": 1}, "page_size"),
        ({"export_mark": "state"}, "export_mark"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_config_is_strict(override: dict[str, Any], message: str) -> None:
    raw = PrestashopSimulator().adapter_config("https://butik.example") | override
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(raw, PrestashopConfig, dec_hook=_dec)


def _write(folder: Path, shop: dict[str, Any]) -> Path:
    erp = EconomicSimulator(seed_catalog=False).adapter_config("https://eco.example")
    table = PrestashopSimulator(seed_catalog=False).adapter_config("https://butik.example")
    path = folder / "brygga.toml"
    text = toml_config(state="state.db", erp=erp, shops=[table | {"name": "se"} | shop], name="b")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"requests": 0, "per_seconds": 1}, "rate_limit.requests: Expected `int` >= 1"),
        ({"requests": 10, "per_seconds": 0}, "rate_limit.per_seconds: Expected `float` > 0.0"),
        ({"requests": 10, "per_second": 1}, "rate_limit.per_second: unknown key"),
    ],
)
def test_rate_limit_is_validated_like_the_other_adapters(
    tmp_path: Path, value: dict[str, Any], expected: str
) -> None:
    """The same one-line errors as tests/plugins/test_rate_limit_option.py checks."""
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, {"rate_limit": value}), PluginHost())
    assert f"connection[0].shops[0].{expected}" in str(info.value)
    (conn,) = load_config(
        _write(tmp_path, {"rate_limit": {"requests": 5, "per_seconds": 2}}), PluginHost()
    ).connections
    assert conn.shops[0].rate_limit == RateLimit(5, 2.0)


@pytest.mark.anyio
async def test_the_default_rate_limit_is_ten_per_second() -> None:
    from brygga.clock import FakeClock
    from brygga.http.client import HttpContext

    clock = FakeClock()
    sim = PrestashopSimulator(clock=clock)
    import httpx

    http = HttpContext(transport=httpx.ASGITransport(app=sim.app), clock=clock)
    async with open_adapter(sim, http=http, rate_limit=None) as adapter:
        start = clock.monotonic()
        for _ in range(20):
            await adapter.order_statuses()
    # 9 a second (10 kept under by 10 %), after the first window
    assert clock.monotonic() - start >= 2


def test_no_simulator_module_imports_the_adapter_side() -> None:
    """As tests/plugins/test_simulator_boundary.py checks for the other plugins."""
    folder = Path(brygga_prestashop.__file__).parent / "simulator"
    offenders = {}
    for path in sorted(folder.glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert not node.level, f"{path.name}: relative import"
                names.add(node.module or "")
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        bad = {
            n
            for n in names
            if n.startswith("brygga_prestashop.")
            and not n.startswith("brygga_prestashop.simulator")
        }
        if bad:
            offenders[path.name] = sorted(bad)
    assert {"__init__.py", "seed.py", "state.py", "http.py"} <= {
        p.name for p in folder.glob("*.py")
    }
    assert offenders == {}


# -- the real flows ---------------------------------------------------------------------

RULES: dict[str, Any] = {
    "transferred": {"shop_status": "processing-in-progress"},
    # no capture: the Webservice cannot capture, and check refuses a rule that asks it to
    "invoiced": {"shop_status": "shipped", "email": True},
}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(
        tmp_path,
        shop_kind="prestashop",
        shop_options={"seed": 3},
        shop_config={"rate_limit": {"requests": 500, "per_seconds": 0.05}},
        erp_config={"rate_limit": {"requests": 500, "per_seconds": 0.05}},
        status=RULES,
    ) as opened:
        yield opened


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_orders_transfer_once_and_statuses_come_back(env: SimulatedConnection) -> None:
    from decimal import Decimal

    flow = env.flow()
    orders = [
        env.shop.place_order(
            lines=[("KAFFE-500", 2), ("TE-100", 1)],
            email="a@example.se",
            freight=Decimal(49),
            discount_percent=Decimal(10),
        ),
        env.shop.place_order(lines=[("TROJA-L", 1)], email="b@example.se", company="Firma AB"),
    ]
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE, ItemState.DONE]
    await env.drain(flow, "orders.writeback")
    for order_id in orders:
        assert env.copies(order_id) == 1
        (doc,) = env.erp.documents_with_reference(env.reference(order_id))
        assert (doc.gross, doc.vat) == env.shop.order_total(order_id)
        assert env.shop.exported_document(order_id) == doc.number
    # a second poll finds nothing new to transfer (the export mark bumped nothing)
    await flow.poll_once(env.shop_name)
    await env.drain(flow)
    assert all(env.copies(o) == 1 for o in orders)
    # status back: transferred, then invoiced with e-mail
    await _status_round(env, flow)
    assert env.shop.order_status(orders[0]) == "processing-in-progress"
    env.erp.order_event(env.reference(orders[0]), OrderEvent.INVOICED)
    await _status_round(env, flow)
    assert env.shop.order_status(orders[0]) == "shipped"
    assert [(h.state_id, h.sendemail) for h in env.shop.histories(orders[0])] == [
        (3, False),
        (4, True),
    ]


async def _status_round(env: SimulatedConnection, flow: Any) -> None:
    await env.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z'"
        " WHERE register = ? AND state = 'waiting'",
        (WATCH,),
    )
    await flow.engine.drain(WATCH, batch=50)
    await env.drain(flow, STATUS)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_erp_mode_catalog_reaches_the_shop_and_orders_come_back(tmp_path: Path) -> None:
    """e-conomic masters products, prices and stock; PrestaShop takes them (combination
    prices as impacts, stock per combination), and its orders reach e-conomic once."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from brygga.clock import FakeClock

    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    fast = {"rate_limit": {"requests": 500, "per_seconds": 0.05}}
    async with SimulatedConnection.open(
        tmp_path,
        clock=clock,
        shop_kind="prestashop",
        shop_options={"seed": 3, "clock": clock},
        erp_options={"inventory_module": True, "clock": clock},
        shop_config=fast,
        erp_config={"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}
        | fast,
        catalog=True,
        connection={"mode": "erp"},
    ) as env:
        shop, flow = env.shop, env.flow()

        async def cycle() -> None:
            clock.advance(1)
            for discoverer in flow.discoverers:
                for instance in discoverer.instances:
                    await flow.poll(discoverer, instance)
            for register in flow.engine.handlers:
                await env.drain(flow, register)
            failed = await env.store.items.query(states=[ItemState.FAILED])
            assert [f"{i.register} {i.external_id}: {i.last_error}" for i in failed] == []

        await cycle()
        env.erp.set_price("KAFFE-500", Decimal("123.00"))
        env.erp.set_price("TROJA-M", Decimal("319.00"))
        env.erp.set_stock("TROJA-M", Decimal(42))
        env.erp.add_article("NYHET-1", "Nyhet", Decimal("50.00"), Decimal(12))
        env.erp.set_stock("NYHET-1", Decimal(7))
        await cycle()
        await cycle()
        kaffe = next(
            p for p in shop.state.table("products").values() if p["reference"] == "KAFFE-500"
        )
        troja_m = next(
            c for c in shop.state.table("combinations").values() if c["reference"] == "TROJA-M"
        )
        assert kaffe["price"] == "123.000000"
        assert troja_m["price"] == "40.000000"  # 279 + 40 = 319
        assert shop.stock("TROJA-M") == 42
        assert shop.stock("NYHET-1") == 7
        writes = sum(1 for m, _ in shop.requests if m != "GET")
        await cycle()  # nothing changed: nothing written
        assert sum(1 for m, _ in shop.requests if m != "GET") == writes
        order_id = shop.place_order(lines=[("NYHET-1", 2), ("TROJA-M", 1)], email="a@example.se")
        clock.advance(5)
        await cycle()
        await cycle()
        assert env.copies(order_id) == 1
        (doc,) = env.erp.documents_with_reference(env.reference(order_id))
        assert (doc.gross, doc.vat) == shop.order_total(order_id)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_starweb_and_a_prestashop_shop_on_one_erp(tmp_path: Path) -> None:
    """Multishop mixing kinds: each shop's orders reach e-conomic once, under their own
    references, and each gets its own document number back."""
    from brygga.http.client import HttpContext
    from brygga.sync.references import document_reference
    from brygga.sync.wiring import load_checked
    from brygga.testing.process import write_config
    from brygga.testing.routing import RoutingTransport
    from brygga_starweb.simulator import StarwebSimulator

    fast = {"rate_limit": {"requests": 500, "per_seconds": 0.05}}
    starweb, presta, erp = (
        StarwebSimulator(seed=3),
        PrestashopSimulator(seed=3),
        EconomicSimulator(),
    )
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp=erp.adapter_config("http://erp.test") | fast,
        shops=[
            starweb.adapter_config("http://sw.shop.test/api/v2", name="sw") | fast,
            presta.adapter_config("http://ps.shop.test", name="ps") | fast,
        ],
        connection={
            "mode": "erp",
            "registers": {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"},
        },
        sections={"orders": {"overlap": "5m", "lookback": "1h"}},
    )
    loaded = load_checked(path, PluginHost())
    apps = {"sw.shop.test": starweb.app, "ps.shop.test": presta.app, "erp.test": erp.app}
    env = await SimulatedConnection.attach(
        shop=presta, erp=erp, loaded=loaded, http=HttpContext(transport=RoutingTransport(apps))
    )
    try:
        placed = {
            "sw": starweb.place_order(lines=[("KAFFE-500", 1)], email="a@example.se"),
            "ps": presta.place_order(lines=[("KAFFE-500", 1)], email="a@example.se"),
        }
        flow = env.flow()
        for name in ("sw", "ps"):
            assert await flow.poll_once(name) == 1
        await env.drain(flow)
        await env.drain(flow, "orders.writeback")
        numbers = {}
        for name, order_id in placed.items():
            (doc,) = erp.documents_with_reference(document_reference("demo", name, order_id))
            numbers[name] = doc.number
        assert starweb.exported_document(placed["sw"]) == numbers["sw"]
        assert presta.exported_document(placed["ps"]) == numbers["ps"]
        assert numbers["sw"] != numbers["ps"]
        assert len(erp.documents()) == 2
    finally:
        await env.close()


def test_loading_the_plugin_does_not_import_its_simulator() -> None:
    """The daemon never builds a simulator: the spec names it lazily (LazySimulator)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import brygga_prestashop.plugin\n"
        "print('brygga_prestashop.simulator' in sys.modules)\n"
    )
    plugins = str(Path(brygga_prestashop.__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": plugins},
        timeout=60,
    )
    assert done.stdout.strip() == "False", done.stderr
