"""What an adapter reads and writes follows from the protocols its class implements, and
`brygga check` refuses (or marks) a register an adapter has no protocol for."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from brygga.adapters import AdapterConfig, AdapterSpec, Capabilities, Role
from brygga.config import load_config
from brygga.hookspecs import hookimpl
from brygga.models import DocumentRef, DocumentType, Order, OrderChange, Register
from brygga.plugins import PluginHost
from brygga.registers import Registers
from brygga.sync.flows import FlowRow, flow_table
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

NONE: frozenset[Register] = frozenset()


class OrdersOnly:
    """A third party's shop adapter: the orders protocols only, declared by nothing but its
    methods (no base classes)."""

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


class WithStatus(OrdersOnly):
    """The same shop, which also takes statuses from the ERP."""

    async def order_statuses(self) -> list[str]:
        return ["completed"]

    async def set_status(
        self,
        shop_order_id: str,
        status_id_code: str,
        *,
        email: bool,
        capture: bool,
        tracking_number: str = "",
        carrier: str = "",
    ) -> bool:
        return False


class NoExportMark:
    """Reads orders but cannot note the ERP document on them: not a shop adapter."""

    changed_orders = OrdersOnly.changed_orders
    fetch_order = OrdersOnly.fetch_order
    aclose = OrdersOnly.aclose


class MiniConfig(AdapterConfig, kw_only=True, forbid_unknown_fields=True):
    kind: str = "mini"


def _spec(adapter: type[Any], kind: str = "mini") -> AdapterSpec:
    return AdapterSpec(
        kind=kind,
        role=Role.SHOP,
        config_type=MiniConfig,
        capabilities=Capabilities(),
        factory=adapter,
        adapter=adapter,
    )


class _Plugin:
    def __init__(self, make_spec: Callable[[], AdapterSpec]) -> None:
        self.make_spec = make_spec

    @hookimpl
    def brygga_register_adapters(self, register: Callable[[AdapterSpec], None]) -> None:
        register(self.make_spec())


# -- derived registers ---------------------------------------------------------------------------


def test_first_party_registers_follow_from_their_protocols() -> None:
    adapters = PluginHost().adapters
    starweb, economic = adapters["starweb"], adapters["economic"]
    catalog = {Register.PRODUCTS, Register.PRICES}
    assert starweb.registers == Registers(
        reads=frozenset({Register.ORDERS, *catalog}),
        writes=frozenset({Register.STATUS, *catalog, Register.STOCK, Register.PRICE_LISTS}),
    )
    assert [p.__name__ for p in starweb.protocols] == [
        "OrderSource",
        "ExportMark",
        "StatusSink",
        "ProductSource",
        "ProductSink",
        "PriceSink",
        "StockSink",
        "PriceListSink",
        "RemoteVerifier",
    ]
    assert economic.registers == Registers(
        reads=frozenset({*catalog, Register.STOCK, Register.STATUS}),
        writes=frozenset({Register.ORDERS, *catalog}),
    )
    assert [p.__name__ for p in economic.protocols] == [
        "CurrencyPrices",
        "StatusSource",
        "DocumentSink",
        "ProductSource",
        "ProductSink",
        "PriceSink",
        "StockSource",
        "DocumentChecker",
        "DocumentBooker",
        "DocumentCanceller",
        "CustomerGroups",
        "RemoteVerifier",
        "ReferenceReader",
    ]


def test_capabilities_no_longer_claim_registers() -> None:
    facts = PluginHost().adapters["starweb"].capabilities
    assert not hasattr(facts, "reads") and not hasattr(facts, "writes")
    described = PluginHost().adapters["starweb"].describe()
    assert (described["reads"], described["writes"]) == (
        ["orders", "prices", "products"],
        ["price_lists", "prices", "products", "status", "stock"],
    )
    assert described["protocols"][:3] == ["OrderSource", "ExportMark", "StatusSink"]


def test_a_third_party_shop_with_the_orders_protocols_only_is_accepted() -> None:
    host = PluginHost(entry_points=False, extra=[("mini", _Plugin(lambda: _spec(OrdersOnly)))])
    assert host.plugins["mini"].error == ""
    spec = host.adapters["mini"]
    assert spec.registers == Registers(reads=frozenset({Register.ORDERS}), writes=NONE)
    assert spec.describe()["writes"] == []
    assert "StatusSink" not in spec.describe()["protocols"]


def test_implementing_status_sink_makes_status_a_write() -> None:
    spec = _spec(WithStatus)
    assert spec.registers == Registers(
        reads=frozenset({Register.ORDERS}), writes=frozenset({Register.STATUS})
    )
    assert "StatusSink" in spec.describe()["protocols"]


def test_a_class_that_is_no_shop_adapter_is_refused_when_registered() -> None:
    with pytest.raises(TypeError) as info:
        _spec(NoExportMark)
    assert str(info.value) == (
        "adapter kind 'mini': NoExportMark is not a shop adapter: it lacks "
        "ExportMark (mark_exported)"
    )
    host = PluginHost(entry_points=False, extra=[("mini", _Plugin(lambda: _spec(NoExportMark)))])
    assert "NoExportMark is not a shop adapter" in host.plugins["mini"].error
    assert "mini" not in host.adapters


# -- the flow table ------------------------------------------------------------------------------


def _rows(tmp_path: Path, adapter: type[Any], **connection: Any) -> dict[Register, FlowRow]:
    """The flow table of e-conomic with a Starweb shop and a ``mini`` shop of ``adapter``."""
    path = tmp_path / "brygga.toml"
    path.write_text(
        toml_config(
            state="state.db",
            erp=EconomicSimulator(seed_catalog=False).adapter_config("https://eco.example"),
            shops=[
                StarwebSimulator(seed_catalog=False).adapter_config(
                    "https://shop.example/api/v2", name="se"
                ),
                {"kind": "mini", "name": "m"},
            ],
            connection=connection,
            sections={"status": {"invoiced": {"shop_status": "completed"}}},
        ),
        encoding="utf-8",
    )
    host = PluginHost(extra=[("mini", _Plugin(lambda: _spec(adapter)))])
    (conn,) = load_config(path, host).connections
    return {row.register: row for row in flow_table(conn)}


def test_a_shop_without_status_sink_refuses_the_status_register(tmp_path: Path) -> None:
    rows = _rows(tmp_path, OrdersOnly)
    status = rows[Register.STATUS]
    assert (status.source, status.target) == ("economic", "starweb:se, mini:m")
    assert status.error == (
        "register status: adapter 'mini' (m) cannot receive status: it implements no StatusSink"
    )
    assert not status.active
    assert rows[Register.ORDERS].active


def test_a_shop_with_status_sink_runs_the_status_register(tmp_path: Path) -> None:
    status = _rows(tmp_path, WithStatus)[Register.STATUS]
    assert status.active
    assert status.note.startswith("1 rule(s), see the status table")


def test_a_register_this_version_runs_is_refused_naming_adapter_and_protocol(
    tmp_path: Path,
) -> None:
    orders = _rows(tmp_path, OrdersOnly, registers={"orders": "erp"})[Register.ORDERS]
    assert not orders.active
    assert orders.error == (
        "register orders: adapter 'economic' (economic) cannot supply orders: it implements "
        "no OrderSource; "
        "register orders: adapter 'starweb' (se) cannot receive orders: it implements no "
        "DocumentSink; "
        "register orders: adapter 'mini' (m) cannot receive orders: it implements no "
        "DocumentSink"
    )


class DocumentsOnly:
    """A third party's ERP: the orders protocols only (no DocumentCanceller)."""

    def __init__(self, config: Any, context: Any) -> None:
        self.config = config

    async def find_customer(self, customer: Any, match_on: Any) -> str | None:
        return None

    async def create_customer(self, customer: Any, currency: str) -> str:
        return "1"

    async def find_document(self, reference: str, document_type: Any) -> DocumentRef | None:
        return None

    async def create_document(self, document: Any) -> DocumentRef:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def _orders_row(tmp_path: Path, shop_changes: str, erp: str) -> FlowRow:
    path = tmp_path / "brygga.toml"
    erp_table = (
        {"kind": "minierp", "name": "erp"}
        if erp == "minierp"
        else EconomicSimulator(seed_catalog=False).adapter_config("https://eco.example")
    )
    path.write_text(
        toml_config(
            state="state.db",
            erp=erp_table,
            shops=[
                StarwebSimulator(seed_catalog=False).adapter_config(
                    "https://shop.example/api/v2", name="se"
                )
            ],
            connection={"registers": {"price_lists": "off"}},
            sections={"orders": {"shop_changes": shop_changes}},
        ),
        encoding="utf-8",
    )

    def spec() -> AdapterSpec:
        return AdapterSpec(
            kind="minierp",
            role=Role.ERP,
            config_type=MiniConfig,
            capabilities=Capabilities(document_types=frozenset({DocumentType.INVOICE})),
            factory=DocumentsOnly,
            adapter=DocumentsOnly,
        )

    host = PluginHost(extra=[("minierp", _Plugin(spec))])
    (conn,) = load_config(path, host).connections
    return {row.register: row for row in flow_table(conn)}[Register.ORDERS]


def test_shop_changes_cancel_needs_an_erp_that_can_cancel(tmp_path: Path) -> None:
    refused = _orders_row(tmp_path, "cancel", "minierp")
    assert refused.error == (
        "register orders: adapter 'minierp' cannot cancel documents, so [connection.orders] "
        'shop_changes = "cancel" cannot be done; use "flag"'
    )
    assert _orders_row(tmp_path, "flag", "minierp").error == ""
    assert _orders_row(tmp_path, "cancel", "economic").error == ""
