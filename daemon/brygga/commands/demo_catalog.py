"""`brygga demo --mode erp`: ERP price and stock changes, watched until the shop shows them."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from brygga.models import Register
from brygga.store import Store
from brygga.store.db import from_ts

__all__ = ["CatalogChanges", "Change"]

Kind = Literal["price", "stock"]
CENT = Decimal("0.01")


@dataclass
class Change:
    """One value set in the ERP, waiting to show in the shop."""

    sku: str
    kind: Kind
    value: Decimal
    #: the shop's value when the change was made (a stock level that moves has arrived)
    before: Decimal | None
    made_at: float
    #: the same moment in UTC (compared with the state file's times)
    made_utc: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class CatalogChanges:
    """Makes price and stock changes in the simulated e-conomic and tells when the simulated
    Starweb shop shows them. The shop's stock is what the ERP can sell less what shop orders
    not yet in the ERP hold, so a stock change has arrived when the shop's level moves."""

    shop: Any
    erp: Any
    rng: random.Random
    clock: Callable[[], float]
    pending: dict[tuple[str, Kind], Change] = field(default_factory=dict)
    made: int = 0
    arrived: int = 0
    #: changes a newer change of the same SKU and kind replaced before they showed
    replaced: int = 0
    latencies: list[float] = field(default_factory=list)
    #: the shop's own SKUs that the ERP also has, taken at the start (the ERP's fee articles,
    #: which the products flow then creates in the shop, are left alone)
    skus: list[str] = field(default_factory=list)
    #: SKU → when brygga last finished the shop's stock item for it (from the state file,
    #: :meth:`note_stock_done`): after that the shop shows the ERP's level less what shop
    #: orders not yet in the ERP hold, also when that leaves the shop's level as it was
    stock_done: dict[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.skus:
            self.skus = [s for s in self.shop.catalog_skus() if self.erp.product(s) is not None]

    def _erp_price(self, sku: str) -> Decimal:
        product = self.erp.product(sku) or {}
        return Decimal(str(product.get("salesPrice") or 0))

    def _erp_stock(self, sku: str) -> Decimal:
        product = self.erp.product(sku) or {}
        inventory = product.get("inventory") or {}
        return Decimal(str(inventory.get("available") or 0))

    def _shop_value(self, sku: str, kind: Kind) -> Decimal | None:
        if kind == "price":
            found = self.shop.price(sku)
            return None if found is None else Decimal(found[0]).quantize(CENT)
        level = self.shop.stock(sku)
        return None if level is None else Decimal(level)

    def change(self) -> str:
        """Change one price or stock level in the ERP; the line that says so."""
        sku = self.rng.choice(self.skus)
        kind: Kind = self.rng.choice(("price", "stock"))
        if kind == "price":
            old = self._erp_price(sku)
            new = (old * Decimal(self.rng.choice(["0.9", "0.95", "1.05", "1.1"]))).quantize(CENT)
            self.erp.set_price(sku, new)
            text = f"ERP:  {sku} price {old} -> {new}"
        else:
            old = self._erp_stock(sku)
            new = Decimal(self.rng.randint(20, 120))
            self.erp.set_stock(sku, new)
            text = f"ERP:  {sku} stock {old} -> {new}"
        if (sku, kind) in self.pending:
            self.replaced += 1
        self.pending[(sku, kind)] = Change(
            sku, kind, new, self._shop_value(sku, kind), self.clock()
        )
        self.made += 1
        return text

    def check(self) -> list[str]:
        """Lines for the changes the shop shows now (each once)."""
        lines = []
        now = self.clock()
        for key, change in list(self.pending.items()):
            shown = self._shop_value(change.sku, change.kind)
            if change.kind == "price":
                reached = shown is not None and shown == change.value
            else:
                done = self.stock_done.get(change.sku)
                reached = shown is not None and (
                    shown == change.value
                    or shown != change.before
                    or (done is not None and done > change.made_utc)
                )
            if not reached:
                continue
            del self.pending[key]
            self.arrived += 1
            self.latencies.append(now - change.made_at)
            held = ""
            if change.kind == "stock" and shown != change.value:
                held = f" (ERP {change.value}; shop orders not yet in the ERP hold the rest)"
            lines.append(
                f"shop: {change.sku} {change.kind} {shown}{held}, "
                f"{now - change.made_at:.1f}s after the ERP change"
            )
        return lines

    async def note_stock_done(self, store: Store, connection: str, shop: str) -> None:
        """Read when brygga last finished each of ``shop``'s stock items (one query)."""
        rows = await store.db.fetchall(
            "SELECT external_id, updated_at FROM work_items WHERE connection = ? AND"
            " register = ? AND instance = ? AND state = 'done'",
            (connection, Register.STOCK.value, shop),
        )
        self.stock_done.update({str(r["external_id"]): from_ts(r["updated_at"]) for r in rows})

    def summary(self) -> str:
        recent = self.latencies[-50:]
        latency = f", p50 {statistics.median(recent):.1f}s max {max(recent):.1f}s" if recent else ""
        replaced = f", {self.replaced} replaced by a newer change" if self.replaced else ""
        return (
            f"catalog: {self.made} price and stock change(s) made in the ERP, {self.arrived} "
            f"reached the shop{replaced}, {len(self.pending)} on the way{latency}"
        )
