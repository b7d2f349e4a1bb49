"""The gauges the daemon reads from the state file follow a reload (operator QA).

A connection removed by SIGHUP kept its `brygga_backlog`/`brygga_failed_records` series,
frozen at 0, because the refresh loop went on with the names it started with (the supervisor
had dropped them, the next refresh made them again); a connection a reload added never got
them. The loop now asks for the connections running at each refresh.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from brygga.commands.common import load
from brygga.config import ResolvedConnection
from brygga.http.client import HttpContext
from brygga.metrics import Metrics
from brygga.plugins import PluginHost
from brygga.runtime import app
from brygga.runtime.app import serve
from brygga.runtime.daemon import DaemonControl
from brygga.testing import RoutingTransport, write_config

pytestmark = pytest.mark.anyio

QUIET = {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store runs on aiosqlite


def _config(path: Path, name: str, shop: object, erp: object) -> Path:
    return write_config(
        path,
        state=str(path.parent / "state.db"),
        name=name,
        erp=erp.adapter_config("http://erp.test"),  # type: ignore[attr-defined]
        shops=[shop.adapter_config("http://shop.test/api/v2", name="se")],  # type: ignore[attr-defined]
        connection={"registers": QUIET, "poll": {"orders": "1h"}},
    )


async def _until(check: object) -> None:
    with anyio.fail_after(20):
        while not check():  # type: ignore[operator]  # noqa: ASYNC110
            await anyio.sleep(0.02)


async def test_a_reload_moves_the_state_file_gauges_to_the_running_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "GAUGE_REFRESH", 0.05)
    host = PluginHost()
    shop_spec, erp_spec = host.adapters["starweb"], host.adapters["economic"]
    assert shop_spec.simulator is not None and erp_spec.simulator is not None
    shop, erp = shop_spec.simulator(), erp_spec.simulator()
    path = _config(tmp_path / "brygga.toml", "gone", shop, erp)
    loaded, plugins = load(path)
    http = HttpContext(transport=RoutingTransport({"shop.test": shop.app, "erp.test": erp.app}))
    metrics = Metrics()
    control: DaemonControl[ResolvedConnection] = DaemonControl()

    def held(name: str) -> float | None:
        return metrics.registry.get_sample_value(
            "brygga_credentials_rejected", {"connection": name}
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: serve(
                loaded,
                plugins,
                control=control,
                http=http,
                metrics=metrics,
                handle_os_signals=False,
            )
        )
        await _until(lambda: held("gone") == 0)
        _config(tmp_path / "brygga.toml", "added", shop, erp)  # the same file, renamed
        await control.reload()
        await _until(lambda: held("added") == 0)
        await anyio.sleep(0.3)  # several refreshes after the removal
        assert held("gone") is None, "a removed connection's series came back"
        control.request_stop()
