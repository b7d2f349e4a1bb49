"""The flow table and the wiring of the catalog registers, per mode and override, with fake
adapters registered the way a third-party plugin registers them."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from catalog_fakes import FakeErp, FakeShop

from brygga.adapters import AdapterConfig, AdapterSpec, Capabilities, Role
from brygga.clock import FakeClock
from brygga.config import ResolvedConnection, load_config
from brygga.errors import ConfigError
from brygga.hookspecs import hookimpl
from brygga.http.client import HttpContext
from brygga.models import DocumentRef, DocumentType, Order, OrderChange, Register
from brygga.plugins import PluginHost
from brygga.store import Store
from brygga.sync.flows import FlowRow, flow_table
from brygga.sync.wiring import open_flow
from brygga.testing import toml_config


class FakeConfig(AdapterConfig, kw_only=True, forbid_unknown_fields=True):
    kind: str = "fake"


class OrdersOnlyShop:
    """A shop adapter with the orders protocols only (no catalog protocol)."""

    def __init__(self, config: Any, context: Any) -> None:
        self.config = config

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        changes: tuple[OrderChange, ...] = ()
        for change in changes:
            yield change

    async def fetch_order(self, shop_order_id: str) -> Order:
        raise NotImplementedError

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        return None

    async def aclose(self) -> None:
        return None


def _spec(kind: str, role: Role, adapter: type[Any], **caps: Any) -> AdapterSpec:
    factory: Callable[[Any, Any], Any] = (
        adapter if adapter is OrdersOnlyShop else (lambda cfg, ctx: adapter(FakeClock()))
    )
    return AdapterSpec(
        kind=kind,
        role=role,
        config_type=FakeConfig,
        capabilities=Capabilities(**caps),
        factory=factory,
        adapter=adapter,
    )


class _Plugin:
    @hookimpl
    def brygga_register_adapters(self, register: Callable[[AdapterSpec], None]) -> None:
        invoice = frozenset({DocumentType.INVOICE})
        register(_spec("fakeerp", Role.ERP, FakeErp, document_types=invoice, price_lists=True))
        register(_spec("nolists", Role.ERP, FakeErp, document_types=invoice))
        register(_spec("fakeshop", Role.SHOP, FakeShop, price_lists=True, variants=True))
        register(_spec("bareshop", Role.SHOP, OrdersOnlyShop))


def _conn(
    tmp_path: Path,
    *,
    erp: str = "fakeerp",
    shops: tuple[str, ...] = ("fakeshop",),
    **connection: Any,
) -> ResolvedConnection:
    catalog = connection.pop("catalog", None)
    path = tmp_path / "brygga.toml"
    path.write_text(
        toml_config(
            state="state.db",
            erp={"kind": erp, "base_url": "https://erp.test"},
            shops=[
                {"kind": kind, "name": f"s{i}", "base_url": "https://shop.test"}
                for i, kind in enumerate(shops)
            ],
            connection=connection,
            sections={"catalog": catalog} if catalog else None,
        ),
        encoding="utf-8",
    )
    host = PluginHost(entry_points=False, extra=[("fakes", _Plugin())])
    (conn,) = load_config(path, host).connections
    return conn


def _rows(conn: ResolvedConnection) -> dict[Register, FlowRow]:
    return {row.register: row for row in flow_table(conn)}


def test_erp_mode_catalog_rows_say_how_they_run(tmp_path: Path) -> None:
    conn = _conn(
        tmp_path,
        shops=("fakeshop", "fakeshop"),
        catalog={"shops": {"s1": {"stock_buffer": 2, "price_lists": {"B2B": "resellers"}}}},
    )
    rows = _rows(conn)
    assert not [row.error for row in rows.values() if row.error]
    products = rows[Register.PRODUCTS]
    assert (products.source, products.target) == ("fakeerp", "fakeshop:s0, fakeshop:s1")
    assert products.note == (
        "variants sent as separate articles (one side has no variant structure); "
        "create and update; with prices; changed only; no campaign price from fakeerp (it has none)"
    )
    assert rows[Register.PRICES].note.startswith("with the products")
    assert rows[Register.STOCK].note == (
        "available = ERP quantity - orders not yet in the ERP; an order is held until "
        "transferred: with [connection.orders] book = false its draft may not lower the ERP's "
        "quantity yet (book = true closes the gap); buffer s1 2; changed only"
    )
    assert rows[Register.PRICE_LISTS].note == "mapped: s1 B2B -> resellers"


def test_combo_prices_run_on_their_own(tmp_path: Path) -> None:
    rows = _rows(_conn(tmp_path, mode="combo", catalog={"update": False}))
    products, prices = rows[Register.PRODUCTS], rows[Register.PRICES]
    assert (products.source, products.target) == ("fakeshop:s0", "fakeerp")
    assert "create; without prices (prices from the erp)" in products.note
    # fakeerp has no campaign price: the note does not promise one and then deny it
    assert prices.note == (
        "ordinary price on their own (products from the shop); "
        "no campaign price from fakeerp (it has none)"
    )
    assert rows[Register.PRICE_LISTS].note.startswith("no list mapped yet")


def test_impossible_catalog_flows_are_refused_naming_register_adapter_and_reason(
    tmp_path: Path,
) -> None:
    # price lists asked for by hand: the mode alone leaves them off when the ERP has none
    rows = _rows(
        _conn(
            tmp_path,
            erp="nolists",
            shops=("fakeshop", "bareshop"),
            registers={"price_lists": "erp"},
        )
    )
    assert rows[Register.STOCK].error == (
        "register stock: adapter 'bareshop' (s1) cannot receive stock: it implements no StockSink"
    )
    assert "adapter 'bareshop' (s1) cannot receive products" in rows[Register.PRODUCTS].error
    assert "register price_lists: adapter 'nolists' has no price lists" in (
        rows[Register.PRICE_LISTS].error
    )
    assert "shop 's1' has no price lists" in rows[Register.PRICE_LISTS].error
    stock_from_shop = _rows(_conn(tmp_path, registers={"stock": "shop"}))[Register.STOCK]
    assert stock_from_shop.error.startswith(
        "register stock: flows from the ERP to the shops only (the ERP keeps the stock"
    )


def test_overrides_turn_registers_off(tmp_path: Path) -> None:
    rows = _rows(_conn(tmp_path, registers={"stock": "off", "prices": "off"}))
    assert (rows[Register.STOCK].note, rows[Register.PRICES].note) == ("off", "off")
    assert "without prices (prices off)" in rows[Register.PRODUCTS].note


def _flow_registers(conn: ResolvedConnection, store: Store) -> dict[str, list[str]]:
    flow = open_flow(
        conn,
        store=store,
        http=HttpContext(),
        clock=FakeClock(),
        run_id="r",
        rng=random.Random(0),
    )
    return {d.register: list(d.instances) for d in flow.discoverers}


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_wiring_runs_each_active_catalog_register(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "state.db") as store:
        erp_mode = _flow_registers(
            _conn(tmp_path, catalog={"shops": {"s0": {"price_lists": {"B2B": "b2b"}}}}), store
        )
        assert erp_mode == {
            "orders": ["s0"],
            "products": ["fakeerp"],
            "price_lists": ["fakeerp"],
            "stock": ["fakeerp"],
        }
        combo = _flow_registers(_conn(tmp_path, mode="combo"), store)
        assert combo == {
            "orders": ["s0"],
            "products": ["s0"],
            "prices": ["fakeerp"],
            "price_lists": ["fakeerp"],
            "stock": ["fakeerp"],
        }
        off = _flow_registers(_conn(tmp_path, mode="ecom", registers={"products": "off"}), store)
        assert off == {"orders": ["s0"]}


@pytest.mark.parametrize(
    ("catalog", "expected"),
    [
        (
            {"shops": {"dk": {"stock_buffer": 1}}},
            "connection[0].catalog.shops.dk: no shop of this connection is named 'dk'; "
            "name one of: s0",
        ),
        (
            {"shops": {"s0": {"stock_buffer": -2}}},
            "connection[0].catalog.shops.s0.stock_buffer: -2 is below zero",
        ),
        ({"workers": 0}, "connection[0].catalog.workers: 0 is out of range"),
    ],
)
def test_catalog_settings_that_cannot_work_are_config_errors(
    tmp_path: Path, catalog: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _conn(tmp_path, catalog=catalog)
    assert f"{tmp_path / 'brygga.toml'}: {expected}" in str(info.value)
