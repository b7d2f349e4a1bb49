"""Opening a connection: its adapters, mappings, handlers and plan, in one place.

The daemon, ``replay --here``, the test harness and the demo all open connections here. A new
register is one more row in :data:`PLAN`; the runtime that runs the flow does not change.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from brygga.accountstate import AdapterStateStore, MemoryAdapterState
from brygga.adapters import AdapterContext, ConfigNeeds, ErpAdapter, ShopAdapter
from brygga.clock import Clock
from brygga.config import LoadedConfig, ResolvedConnection, load_config, settle_seconds
from brygga.errors import BryggaError, ConfigError
from brygga.http.client import HttpContext
from brygga.mappings import Mapping, of_register
from brygga.models import Register
from brygga.plugins import PluginHost
from brygga.store import Store
from brygga.sync.catalog_plan import CATALOG_ROWS, CatalogSides
from brygga.sync.engine import Engine
from brygga.sync.flow import Flow, PlanRow
from brygga.sync.flows import flow_table, masters, status_option_problems
from brygga.sync.observer import FlowObserver, NullObserver
from brygga.sync.orders import OrdersHandler, orders_plan
from brygga.sync.status import status_plan
from brygga.sync.status_backfill import backfill_watch
from brygga.timeutil import zone_info

__all__ = ["PLAN", "Wiring", "build_adapters", "config_problems", "load_checked", "open_flow"]


@dataclass(frozen=True)
class Wiring:
    """What a plan row is built from: one connection, its adapters and shared dependencies."""

    conn: ResolvedConnection
    store: Store
    clock: Clock
    erp: ErpAdapter
    shops: dict[str, ShopAdapter]
    mappings: Sequence[Mapping]

    @property
    def settle(self) -> float:
        return settle_seconds(self.conn.erp_spec, self.conn.erp)


def _orders(w: Wiring) -> PlanRow:
    conn = w.conn
    handler = OrdersHandler(
        connection=conn.name,
        erp_name=conn.erp.name,
        shops=w.shops,
        erp=w.erp,
        options=conn.config.orders,
        clock=w.clock,
        mappings=[m for m in w.mappings if m.register is Register.ORDERS],
        lookup_by_reference=conn.erp_spec.capabilities.lookup_by_reference,
        settle=w.settle,
        timezones={cfg.name: zone_info(cfg.timezone) for cfg in conn.shops},
        watch_status=_status_runs(conn),
    )
    return orders_plan(handler=handler, store=w.store, interval=conn.config.poll.orders)


def _status_runs(conn: ResolvedConnection) -> bool:
    return masters(conn)[Register.STATUS] == "erp"


def _status(w: Wiring) -> PlanRow:
    conn = w.conn
    if not _status_runs(conn):
        return PlanRow(handlers=())

    async def backfill() -> int:
        return await backfill_watch(
            w.store,
            connection=conn.name,
            document_type=conn.config.orders.document,
            booked=conn.config.orders.book,
            horizon=float(conn.config.status.watch),
            clock=w.clock,
        )

    row = status_plan(
        connection=conn.name,
        erp=w.erp,
        shops=w.shops,
        settings=conn.config.status,
        reportable=conn.erp_spec.capabilities.status_events,
        clock=w.clock,
        interval=float(conn.config.poll.status),
        # a status write in doubt waits for the slowest shop's settle period
        settle=max(
            settle_seconds(spec, cfg) for spec, cfg in zip(conn.shop_specs, conn.shops, strict=True)
        ),
        park=float(conn.config.orders.revisit),
        erp_name=conn.erp.name,
        mappings=of_register(w.mappings, Register.STATUS),
    )
    return dataclasses.replace(row, startup=(("status watch of earlier orders", backfill),))


def _catalog_sides(w: Wiring) -> CatalogSides:
    conn = w.conn
    return CatalogSides(
        connection=conn.name,
        erp_name=conn.erp.name,
        erp=w.erp,
        shops=w.shops,
        masters=masters(conn),
        store=w.store,
        clock=w.clock,
        settings=conn.config.catalog,
        poll=conn.config.poll,
        prices_turned_off=conn.config.registers.prices == "off",
        orders=conn.config.orders,
        mappings=w.mappings,
    )


def _catalog(register: Register) -> Callable[[Wiring], PlanRow]:
    """The plan row of a catalog register (empty when it is off or not run)."""
    build = CATALOG_ROWS[register]

    def row(w: Wiring) -> PlanRow:
        return build(_catalog_sides(w)) or PlanRow(handlers=())

    row.__name__ = f"_{register.value}"
    return row


#: the flow plan: one row per register this version runs
PLAN: tuple[Callable[[Wiring], PlanRow], ...] = (
    _orders,
    _status,
    *(_catalog(register) for register in CATALOG_ROWS),
)


def build_adapters(
    conn: ResolvedConnection, http: HttpContext, state: AdapterStateStore | None = None
) -> tuple[ErpAdapter, dict[str, ShopAdapter]]:
    """The connection's adapters; ``state`` is the daemon's durable per-account adapter state
    (None: each adapter gets an in-memory one, e.g. for a check without a state file)."""
    shared = state if state is not None else MemoryAdapterState()

    def context(instance: str) -> AdapterContext:
        return AdapterContext(conn.name, instance, http, shared)

    erp = conn.erp_spec.factory(conn.erp, context(conn.erp.name))
    if not isinstance(erp, ErpAdapter):
        raise BryggaError(f"adapter {conn.erp.kind!r} did not build an ERP adapter")
    shops: dict[str, ShopAdapter] = {}
    for spec, cfg in zip(conn.shop_specs, conn.shops, strict=True):
        shop = spec.factory(cfg, context(cfg.name))
        if not isinstance(shop, ShopAdapter):
            raise BryggaError(f"adapter {cfg.kind!r} did not build a shop adapter")
        shops[cfg.name] = shop
    return erp, shops


def open_flow(
    conn: ResolvedConnection,
    *,
    store: Store,
    http: HttpContext,
    clock: Clock,
    run_id: str,
    mappings: Sequence[Mapping] = (),
    rng: random.Random,
    observer: FlowObserver | None = None,
    plan: Sequence[Callable[[Wiring], PlanRow]] | None = None,
) -> Flow:
    """The one wiring of a connection (daemon, replay, test harness, demo), with the rows of
    ``plan`` (:data:`PLAN` by default). Close its adapters with :meth:`Flow.aclose`."""
    erp, shops = build_adapters(conn, http, store.adapter_state)
    wiring = Wiring(conn, store, clock, erp, shops, mappings)
    rows = [row(wiring) for row in (PLAN if plan is None else plan)]
    engine = Engine(
        connection=conn.name,
        store=store,
        clock=clock,
        run_id=run_id,
        handlers={h.register: h for row in rows for h in row.handlers},
        observer=observer or NullObserver(),
        rng=rng,
        retry_max=float(conn.config.orders.retry_max),
    )
    return Flow(engine=engine, rows=rows, erp=erp, shops=shops, settle=wiring.settle)


def config_problems(conn: ResolvedConnection) -> list[str]:
    """What the connection's adapter configs lack for the registers its flows write into
    their systems (:class:`brygga.adapters.ConfigNeeds`, e.g. e-conomic's product group when
    products flow into it), and the status rules that ask a shop for what it cannot do
    (:func:`brygga.sync.flows.status_option_problems`), one sentence each."""
    flows = masters(conn)
    into_erp = frozenset(r for r, master in flows.items() if master == "shop")
    into_shops = frozenset(r for r, master in flows.items() if master == "erp")
    systems = [(conn.erp, into_erp), *((cfg, into_shops) for cfg in conn.shops)]
    return [
        problem
        for cfg, registers in systems
        if isinstance(cfg, ConfigNeeds)
        for problem in cfg.write_problems(registers)
    ] + status_option_problems(conn)


def load_checked(path: Path, host: PluginHost) -> LoadedConfig:
    """Load and validate a config with ``host``'s plugins, including the flow checks (every
    enabled register's adapters can do it, and their configs name what it needs:
    :func:`config_problems`); raise ConfigError."""
    loaded = load_config(path, host)
    problems = [
        f"{loaded.path}: connection {conn.name!r}: {problem}"
        for conn in loaded.connections
        for problem in config_problems(conn)
    ]
    problems += [
        f"{loaded.path}: connection {conn.name!r}: {row.error}"
        for conn in loaded.connections
        for row in flow_table(conn)
        if row.error
    ]
    if problems:
        raise ConfigError("\n".join(problems))
    host.startup(loaded.config.plugins)
    return loaded
