"""The ops tests' world: a config file, its state file, both simulators and a flow "daemon"."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from brygga.cli import main
from brygga.store import ItemState
from brygga.sync.orders import OrdersFlow, document_reference
from brygga.testing import SimulatedConnection

CONNECTION = "demo"
SHOP = "se"
SKUS = ("KAFFE-500", "TE-100", "BOK-01", "TROJA-M")


@dataclass
class Ops(SimulatedConnection):
    """Simulators, the loaded config, a store handle, and a way to run CLI commands."""

    capsys: Any = None

    @property
    def config(self) -> Path:
        return self.config_path

    def flow(self, run_id: str = "daemon-1") -> OrdersFlow:
        """What a daemon's connection actor would build (the tests drive it by hand)."""
        return super().flow(run_id)

    def place(self, n: int = 1) -> list[str]:
        return [
            self.shop.place_order(
                lines=[(SKUS[i % 4], 1 + i % 3), (SKUS[(i + 1) % 4], 1)],
                email=f"kund{i}@example.se",
                freight=Decimal("49.00"),
            )
            for i in range(n)
        ]

    def break_coffee(self) -> None:
        """Orders with KAFFE-500 fail permanently (unknown article in the ERP)."""
        self.erp.remove_article("KAFFE-500")

    def fix_coffee(self) -> None:
        self.erp.add_article("KAFFE-500", "Kaffe mellanrost 500 g", Decimal("89.00"), Decimal(25))

    def documents(self, oid: str, generation: int = 0) -> list[str]:
        reference = document_reference(CONNECTION, SHOP, oid)
        if generation:
            reference += f"#r{generation}"
        return [d.number for d in self.erp.documents_with_reference(reference)]

    async def drain(  # type: ignore[override]
        self, flow: OrdersFlow, register: str = "orders"
    ) -> list[ItemState]:
        """Process every due item of ``register`` (as the daemon's workers would): unlike the
        base class, retries stay at their backoff time."""
        outcomes = []
        while (item := await flow.claim(register)) is not None:
            outcomes.append(await flow.process(item))
        return outcomes

    async def transfer(self, oids: list[str]) -> OrdersFlow:
        """Poll and work until the given orders are through (transfer and write-back)."""
        flow = self.flow()
        await flow.poll_once(SHOP)
        await self.drain(flow)
        await self.drain(flow, "orders.writeback")
        for oid in oids:
            await self.item(oid)
        return flow

    async def cli(self, *argv: str) -> tuple[int, str, str]:
        """Run `brygga ARGV -c CONFIG` as a user would: its own event loop and store handle
        (in a worker thread, since this test's loop is running)."""
        self.capsys.readouterr()
        code = await anyio.to_thread.run_sync(main, [*argv, "-c", str(self.config)])
        out, err = self.capsys.readouterr()
        return code, out, err
