"""The daemon (brygga.runtime.app.serve) keeps its rate limiters in the state file: a run leaves
its windows and a clean stop there, and the next run on the file starts its first poll without
the one-window wait a new limiter used to make (the Starweb and e-conomic simulators behind a
RoutingTransport, on the system clock)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import anyio
import httpx
import pytest

from brygga.commands.common import load
from brygga.config import ResolvedConnection
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.runtime.app import serve
from brygga.runtime.daemon import DaemonControl
from brygga.testing import RoutingTransport, write_config

pytestmark = pytest.mark.anyio

CATALOG_OFF = {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store runs on aiosqlite


class Arrivals:
    """ASGI wrapper: when each request reached the simulator (monotonic)."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.at: list[float] = []

    async def __call__(self, scope: dict[str, object], receive: object, send: object) -> None:
        if scope["type"] == "http":
            self.at.append(time.monotonic())
        await self.app(scope, receive, send)  # type: ignore[operator]


async def _run_once(path: Path, shop: Arrivals, erp: Arrivals) -> float:
    """One daemon on the config until its first poll reached the shop; returns the seconds
    from its start to that poll."""
    loaded, plugins = load(path)
    http = HttpContext(
        transport=RoutingTransport({"shop.test": shop, "erp.test": erp})  # type: ignore[dict-item]
    )
    control: DaemonControl[ResolvedConnection] = DaemonControl()
    before = len(shop.at)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            started = time.monotonic()
            tg.start_soon(
                lambda: serve(loaded, plugins, control=control, http=http, handle_os_signals=False)
            )
            while len(shop.at) == before:  # noqa: ASYNC110
                await anyio.sleep(0.005)
            first = shop.at[before] - started
            await anyio.sleep(0.1)
            control.request_stop()
    return first


async def test_a_run_leaves_its_windows_and_the_next_one_starts_without_waiting(
    tmp_path: Path,
) -> None:
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    assert shop_spec.simulator is not None and erp_spec.simulator is not None
    shop_sim, erp_sim = shop_spec.simulator(), erp_spec.simulator()
    shop, erp = Arrivals(shop_sim.app), Arrivals(erp_sim.app)
    shop_table = shop_sim.adapter_config("http://shop.test/api/v2", name="se")
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp=erp_sim.adapter_config("http://erp.test"),
        shops=[shop_table],
        connection={"registers": CATALOG_OFF, "poll": {"orders": "1h"}},
    )

    await _run_once(path, shop, erp)
    with sqlite3.connect(tmp_path / "state.db") as db:
        run = db.execute("SELECT stopped_at, lease_until FROM limiter_run").fetchone()
        windows = db.execute("SELECT account, sends FROM limiter_windows").fetchall()
        dump = "\n".join(db.iterdump())
    assert run is not None and run[0] is not None  # the clean stop is marked
    assert run[1] > 0  # its requests started under a lease
    assert any(account.startswith("shop.test#") and sends != "[]" for account, sends in windows)
    # keys are the registry's (host and a hash), never a credential
    assert str(shop_table["client_secret"]) not in dump

    # the second run starts its first poll at once: the window holds the first run's few
    # requests, far from the limit (a new limiter without memory waited one window, 1.02 s)
    second = await _run_once(path, shop, erp)
    assert second < 0.8

    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT stopped_at FROM limiter_run").fetchone()[0] is not None


async def test_the_simulators_answer_through_the_routing_transport() -> None:
    # guards the test above against measuring a transport that never reaches a simulator
    shop_sim = PluginHost().adapters["starweb"].simulator
    assert shop_sim is not None
    arrivals = Arrivals(shop_sim().app)
    transport = RoutingTransport({"shop.test": arrivals})  # type: ignore[dict-item]
    async with httpx.AsyncClient(transport=transport) as client:
        await client.get("http://shop.test/api/v2/orders")
    assert len(arrivals.at) == 1
