"""The status register's plan row: the ERP watch of transferred orders and the shop writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from brygga.adapters import ErpAdapter, ShopAdapter
from brygga.clock import Clock
from brygga.config import StatusConfig
from brygga.mappings import Mapping as FieldMapping
from brygga.models import OrderEvent
from brygga.registers import StatusSource
from brygga.sync.flow import PlanRow
from brygga.sync.status_watch import STATUS, WATCH, WATCH_BATCH, StatusWatchHandler
from brygga.sync.status_write import StatusHandler

__all__ = ["STATUS", "WATCH", "status_plan"]


def status_plan(
    *,
    connection: str,
    erp: ErpAdapter,
    shops: Mapping[str, ShopAdapter],
    settings: StatusConfig,
    reportable: frozenset[OrderEvent],
    clock: Clock,
    interval: float,
    settle: float,
    park: float = 300.0,
    erp_name: str = "",
    mappings: Sequence[FieldMapping] = (),
) -> PlanRow:
    """The status row: a watch worker (batches of documents per ERP request) and a writer.
    ``reportable``: the events the ERP adapter can report (``Capabilities.status_events``)."""
    wanted = frozenset(e for e in settings.events() if e is not OrderEvent.TRANSFERRED)
    wanted &= reportable
    watch = StatusWatchHandler(
        erp=erp if isinstance(erp, StatusSource) else None,
        clock=clock,
        wanted=wanted,
        interval=interval,
        horizon=float(settings.watch),
    )
    write = StatusHandler(
        connection=connection,
        shops=shops,
        rules={shop: settings.rules(shop) for shop in shops},
        clock=clock,
        settle=settle,
        park=park,
        mappings=mappings,
        erp_name=erp_name,
    )
    return PlanRow(
        handlers=(watch, write),
        workers={WATCH: 1, STATUS: 1},
        batch={WATCH: WATCH_BATCH},
    )
