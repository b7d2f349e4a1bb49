"""`brygga check --remote` tells each adapter how the connection uses its system (the registers
read from it and written to it), and e-conomic says when stock is read from an agreement
without the inventory module (first-hour QA: `remote OK`, then every stock poll failed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brygga.cli import main
from brygga.clock import FakeClock
from brygga.commands.check import SystemReport, remote_needs, remote_reports
from brygga.config import load_config
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.models import Register
from brygga.plugins import PluginHost
from brygga.testing import RoutingTransport, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

INVENTORY = "inventory module (stock is read from e-conomic)"


def _config(tmp_path: Path, erp: EconomicSimulator, shop: StarwebSimulator, **kw: Any) -> Path:
    return write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp=erp.adapter_config("http://erp.test"),
        shops=[shop.adapter_config("http://shop.test/api/v2", name="se")],
        connection={"registers": {"price_lists": "off"}, **kw},
    )


async def _reports(path: Path, erp: EconomicSimulator, shop: StarwebSimulator) -> SystemReport:
    loaded = load_config(path, PluginHost())
    routes = RoutingTransport({"erp.test": erp.app, "shop.test": shop.app})
    clock = FakeClock()
    http = HttpContext(transport=routes, clock=clock, limiters=RateLimiterRegistry(clock))
    found = await remote_reports(loaded, http)
    return found[0]  # the ERP's


def _findings(report: SystemReport) -> dict[str, tuple[bool, str]]:
    assert report.findings is not None
    return {f.check: (f.ok, f.detail) for f in report.findings}


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_stock_from_an_agreement_without_the_inventory_module_is_a_problem(
    tmp_path: Path,
) -> None:
    erp, shop = EconomicSimulator(), StarwebSimulator()
    path = _config(tmp_path, erp, shop, mode="erp")
    ok, detail = _findings(await _reports(path, erp, shop))[INVENTORY]
    assert not ok
    assert "no inventory module" in detail and "stock" in detail
    erp.set_inventory_module(True)
    ok, _detail = _findings(await _reports(path, erp, shop))[INVENTORY]
    assert ok
    assert [m for m, _ in erp.requests if m != "GET"] == []  # reads only


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_stock_from_the_shop_needs_no_inventory_module(tmp_path: Path) -> None:
    erp, shop = EconomicSimulator(), StarwebSimulator()
    path = _config(tmp_path, erp, shop, mode="ecom")
    assert INVENTORY not in _findings(await _reports(path, erp, shop))


def test_the_needs_name_the_registers_read_and_written(tmp_path: Path) -> None:
    erp, shop = EconomicSimulator(), StarwebSimulator()
    loaded = load_config(_config(tmp_path, erp, shop, mode="erp"), PluginHost())
    conn = loaded.connections[0]
    of_erp, of_shop = remote_needs(conn), remote_needs(conn, "se")
    assert Register.STOCK in of_erp.reads and Register.STOCK in of_shop.writes
    assert Register.ORDERS in of_erp.writes and Register.ORDERS in of_shop.reads
    assert Register.STOCK not in of_erp.writes and Register.STOCK not in of_shop.reads


def test_check_remote_exits_1_on_the_missing_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the command: the problem is printed and the exit code is 1, not `remote OK`."""
    erp, shop = EconomicSimulator(), StarwebSimulator()
    path = _config(tmp_path, erp, shop, mode="erp")
    routes = RoutingTransport({"erp.test": erp.app, "shop.test": shop.app})
    clock = FakeClock()
    monkeypatch.setattr(
        "brygga.commands.check.HttpContext",
        lambda: HttpContext(transport=routes, clock=clock, limiters=RateLimiterRegistry(clock)),
    )
    code = main(["check", "--remote", "-c", str(path)])
    out, _err = capsys.readouterr()
    assert code == 1
    assert f"PROBLEM  {INVENTORY}: e-conomic cannot be the stock source" in out
    assert "remote OK" not in out
