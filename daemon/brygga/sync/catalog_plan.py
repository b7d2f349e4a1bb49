"""The catalog rows of a connection's plan (stock, products, prices, price lists), from its sides.

Wiring builds the sides from the config; tests build them from fake adapters. A register whose
master is ``off`` (or that this version does not run) gets no row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from brygga.clock import Clock
from brygga.config import CatalogConfig, PollConfig
from brygga.models import Register
from brygga.registers import OrderSource, StockSink, StockSource
from brygga.store import Store
from brygga.sync.flow import PlanRow
from brygga.sync.stock import StockHandler, stock_plan

__all__ = ["CATALOG_ROWS", "CatalogSides", "catalog_rows"]


@dataclass(frozen=True)
class CatalogSides:
    """One connection's systems and settings, as the catalog registers need them."""

    connection: str
    erp_name: str
    erp: object
    shops: Mapping[str, object]
    #: register → where it is mastered: ``erp``, ``shop`` or ``off``
    masters: Mapping[Register, str]
    store: Store
    clock: Clock
    settings: CatalogConfig = field(default_factory=CatalogConfig)
    poll: PollConfig = field(default_factory=PollConfig)

    def master(self, register: Register) -> str:
        return self.masters.get(register, "off")

    def feed_options(self, register: Register) -> dict[str, float]:
        return {
            "interval": float(getattr(self.poll, register.value)),
            "lookback": float(self.settings.lookback),
            "overlap": float(self.settings.overlap),
        }


def _stock(sides: CatalogSides) -> PlanRow | None:
    if sides.master(Register.STOCK) != "erp" or not isinstance(sides.erp, StockSource):
        return None
    sinks = {name: shop for name, shop in sides.shops.items() if isinstance(shop, StockSink)}
    handler = StockHandler(
        connection=sides.connection,
        source_name=sides.erp_name,
        source=sides.erp,
        sinks=sinks,
        shops={n: s for n, s in sides.shops.items() if isinstance(s, OrderSource)},
        clock=sides.clock,
        buffers={
            name: sides.settings.shop(name).stock_buffer
            for name in sinks
            if sides.settings.shop(name).stock_buffer > Decimal(0)
        },
    )
    return stock_plan(
        handler=handler,
        store=sides.store,
        workers=sides.settings.workers,
        **sides.feed_options(Register.STOCK),
    )


#: one builder per catalog register
CATALOG_ROWS: dict[Register, Callable[[CatalogSides], PlanRow | None]] = {
    Register.STOCK: _stock,
}


def catalog_rows(sides: CatalogSides) -> list[PlanRow]:
    """The rows of every catalog register that runs for these sides."""
    rows = (build(sides) for build in CATALOG_ROWS.values())
    return [row for row in rows if row is not None]
