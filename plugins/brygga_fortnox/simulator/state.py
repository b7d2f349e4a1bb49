"""In-memory Fortnox data: wire-shaped records with hidden modification times.

Records are dicts with the spec's PascalCase property names (reference §2.6 [spec F1]); each
keeps its last modification time (aware UTC, the simulator's clock) beside it, which the
``lastmodified`` filter reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from brygga.clock import Clock

__all__ = ["Kind", "SimState"]

#: the collections the simulator keeps
Kind = str


@dataclass
class SimState:
    """Every record by collection and key, and when each was last changed."""

    clock: Clock
    records: dict[Kind, dict[str, dict[str, Any]]] = field(default_factory=dict)
    modified: dict[Kind, dict[str, datetime]] = field(default_factory=dict)
    #: next number per numbered collection (customers, invoices, orders, payments)
    counters: dict[Kind, int] = field(default_factory=dict)
    #: stock balances of the warehouse module: (article, stock point) -> (in stock, available)
    stock: dict[tuple[str, str], tuple[Decimal, Decimal]] = field(default_factory=dict)
    #: the zone ``lastmodified`` is read in ([unknown]: Europe/Stockholm unless a test says)
    lastmodified_zone: tzinfo = field(default_factory=lambda: ZoneInfo("Europe/Stockholm"))
    #: whether a payment moves its invoice's ``lastmodified`` (not promised: off)
    payment_touches_invoice: bool = False

    def table(self, kind: Kind) -> dict[str, dict[str, Any]]:
        return self.records.setdefault(kind, {})

    def get(self, kind: Kind, key: str) -> dict[str, Any] | None:
        return self.table(kind).get(key)

    def put(self, kind: Kind, key: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store ``record`` under ``key``; its modification time moves to now."""
        self.table(kind)[key] = record
        self.touch(kind, key)
        return record

    def touch(self, kind: Kind, key: str) -> None:
        self.modified.setdefault(kind, {})[key] = self.clock.now()

    def modified_at(self, kind: Kind, key: str) -> datetime:
        return self.modified.get(kind, {}).get(key, self.clock.now())

    def next_number(self, kind: Kind, start: int = 1) -> str:
        number = self.counters.get(kind, start)
        self.counters[kind] = number + 1
        return str(number)

    def taken(self, kind: Kind, key: str) -> bool:
        """Whether ``key`` is used or was ever used (Fortnox never reuses customer numbers,
        2000637 [doc F5])."""
        return key in self.table(kind) or key in self.table(f"{kind}:deleted")
