"""Run `brygga run` as a real process against simulators served on loopback by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

import anyio

from brygga.sync.orders import document_reference
from brygga.testing import DaemonProcess, serve_asgi, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

SHOP = "se"


@dataclass
class Loopback:
    """Both simulators on loopback ports, plus what a test needs to drive and check them."""

    shop: StarwebSimulator
    erp: EconomicSimulator
    shop_url: str
    erp_url: str
    tmp: Path
    placed: list[str] = field(default_factory=list)

    def place(self, rng: Random) -> str:
        skus = ["KAFFE-500", "TE-100", "BOK-01", "TROJA-M", "CHOKLAD-70"]
        oid = self.shop.place_order(
            lines=[(rng.choice(skus), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))],
            email=f"kund{rng.randint(1, 20)}@example.se",
            freight=Decimal(rng.choice(["0", "49.00"])),
        )
        self.placed.append(oid)
        return oid

    def copies(self, connection: str, oid: str) -> int:
        return len(self.erp.documents_with_reference(document_reference(connection, SHOP, oid)))

    def config(
        self, path: Path, *, name: str = "butiken", port: int, extra_shops: int = 0, **kw: Any
    ) -> Path:
        shops = [self.shop.adapter_config(self.shop_url, name=SHOP)]
        return write_config(
            path,
            state=str(self.tmp / "state.db"),
            listen=f"127.0.0.1:{port}",
            name=name,
            erp=self.erp.adapter_config(self.erp_url),
            shops=shops,
            daemon={"shutdown_deadline": "5s", "log_level": "info"},
            connection={"registers": {"price_lists": "off"}, "poll": {"orders": "1s"}},
            sections={"orders": {"overlap": "2m", "lookback": "1h", "workers": 2}},
            **kw,
        )


@asynccontextmanager
async def loopback(tmp: Path, *, seed: int = 0) -> AsyncIterator[Loopback]:
    shop = StarwebSimulator(seed=seed)
    erp = EconomicSimulator()
    shop.faults.in_process = erp.faults.in_process = False
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        shop_port = await tg.start(serve_asgi, shop.app, stop)
        erp_port = await tg.start(serve_asgi, erp.app, stop)
        try:
            yield Loopback(
                shop=shop,
                erp=erp,
                shop_url=f"http://127.0.0.1:{shop_port}/api/v2",
                erp_url=f"http://127.0.0.1:{erp_port}",
                tmp=tmp,
            )
        finally:
            stop.set()


Daemon = DaemonProcess


async def wait_until(predicate: Any, seconds: float, what: str) -> None:
    with anyio.move_on_after(seconds):
        while not predicate():  # noqa: ASYNC110 - polls state another process changes
            await anyio.sleep(0.1)
        return
    raise AssertionError(f"timed out waiting for {what}")
