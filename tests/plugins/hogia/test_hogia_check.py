"""`brygga check` with Hogia Smart refuses, in plain words, what merchants are told it cannot do.

What merchants are told (reference/erp-apis.md §4; DESIGN.md §1 adapter table and §1.1):
Hogia Smart creates **invoices, not orders**; has **no price lists** (ordinary and campaign
price only); **no variant structure** on import; reports no deliveries. The helper articles
``fraktavg``, ``expavg`` and ``rabatt`` must exist (§4.1 [H1]), which ``check --remote``
verifies (as e-conomic's does, with reads only).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brygga.cli import main
from brygga.clock import FakeClock
from brygga.commands.check import remote_reports
from brygga.config import load_config
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.plugins import PluginHost
from brygga.testing import RoutingTransport, toml_config
from brygga_hogia.simulator import HogiaSimulator
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

REGISTERS = ("orders", "status", "products", "prices", "price_lists", "stock")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _config(
    tmp_path: Path,
    *,
    erp_url: str = "https://api.hogia.se",
    shop_url: str = "https://butiken.example/api/v2",
    hogia: HogiaSimulator | None = None,
    shop: StarwebSimulator | None = None,
    orders: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    **connection: Any,
) -> Path:
    path = tmp_path / "brygga.toml"
    erp = (hogia or HogiaSimulator(seed_catalog=False)).adapter_config(erp_url)
    shop_table = (shop or StarwebSimulator(seed_catalog=False)).adapter_config(shop_url, name="se")
    path.write_text(
        toml_config(
            state=str(tmp_path / "state.db"),
            erp=erp,
            shops=[shop_table],
            name="butiken",
            connection=connection,
            sections={
                "orders": orders or {},
                "status": status or {"invoiced": {"shop_status": "completed"}},
            },
        ),
        encoding="utf-8",
    )
    return path


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "-c", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def _rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in REGISTERS:
            rows[cells[0]] = cells[1:]
    return rows


def test_invoices_without_price_lists_pass_and_say_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§4: invoices only; no variant structure; ordinary and campaign price only."""
    path = _config(tmp_path, mode="erp", registers={"price_lists": "off"})
    code, out, err = _check(path, capsys)
    assert code == 0, err
    rows = _rows(out)
    assert rows["orders"][:3] == ["starweb:se", "hogia", "as invoice"]
    assert rows["stock"][:2] == ["hogia", "starweb:se"]
    assert "variants sent as separate articles" in rows["products"][2]
    assert "no campaign price" not in " ".join(rows["prices"])
    assert out.rstrip().endswith("config OK")


def test_an_order_document_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DESIGN §1.1: "an *order* document in Hogia Smart" is refused; §4: invoices, not orders."""
    path = _config(
        tmp_path, mode="erp", registers={"price_lists": "off"}, orders={"document": "order"}
    )
    code, out, err = _check(path, capsys)
    assert code == 1
    assert (
        "register orders: adapter 'hogia' cannot create an order document (it creates: invoice)"
        in err
    )
    assert "config OK" not in out


def test_price_lists_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DESIGN §1.1: "price lists into Hogia Smart" are refused; §4: no price lists. (Asked
    for by hand: the mode alone leaves a register off that the ERP cannot serve.)"""
    code, out, err = _check(_config(tmp_path, mode="erp", registers={"price_lists": "erp"}), capsys)
    assert code == 1
    assert "register price_lists: adapter 'hogia' has no price lists" in err
    assert "config OK" not in out


def test_a_delivery_rule_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """§4.2 [H4]: invoices show billed, paid and cancelled; no delivery state."""
    path = _config(
        tmp_path,
        mode="erp",
        registers={"price_lists": "off"},
        status={"delivered": {"shop_status": "completed"}},
    )
    code, _, err = _check(path, capsys)
    assert code == 1
    assert (
        "adapter 'hogia' reports no delivered events (it reports: invoiced, paid, cancelled)"
        in (err)
    )


def test_plugins_prints_what_merchants_are_told(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    section = out[out.index("  hogia (erp") :]
    assert re.search(r"document_types\s+invoice\n", section)
    assert re.search(r"price_lists\s+False\n", section)
    assert re.search(r"variants\s+False\n", section)
    for told in ("invoices, not orders", "No price lists", "No variant structure", "lags"):
        assert told in section


async def _reports(tmp_path: Path, hogia: HogiaSimulator, **orders: Any) -> dict[str, bool]:
    shop = StarwebSimulator()
    path = _config(
        tmp_path,
        erp_url="http://erp.test",
        shop_url="http://shop.test/api/v2",
        hogia=hogia,
        shop=shop,
        orders=orders,
        mode="erp",
        registers={"price_lists": "off"},
    )
    loaded = load_config(path, PluginHost())
    clock = FakeClock()
    routes = RoutingTransport({"erp.test": hogia.app, "shop.test": shop.app})
    http = HttpContext(transport=routes, clock=clock, limiters=RateLimiterRegistry(clock))
    erp = (await remote_reports(loaded, http))[0]
    assert erp.kind == "hogia" and erp.findings is not None
    return {f.check: f.ok for f in erp.findings}


async def test_check_remote_verifies_the_helper_articles(tmp_path: Path) -> None:
    """§4.1 [H1]: fraktavg, expavg, rabatt (configurable) must exist; reads only."""
    hogia = HogiaSimulator()
    assert await _reports(tmp_path, hogia) == {
        "credentials": True,
        "freight article fraktavg": True,
        "fee article expavg": True,
        "discount article rabatt": True,
        "rounding article avrundning": True,
    }
    hogia.remove_article("expavg")
    found = await _reports(tmp_path, hogia, fee_articles={"handling": "expavg"})
    assert found["fee article expavg"] is False
    assert found["freight article fraktavg"] is True
    assert [m for m, _ in hogia.requests if m != "GET" and m != "POST"] == []
    assert all(p.endswith("/connect/token") for m, p in hogia.requests if m == "POST")


async def test_check_remote_follows_configured_helper_numbers(tmp_path: Path) -> None:
    hogia = HogiaSimulator()
    found = await _reports(tmp_path, hogia, fee_articles={"freight": "FRAKT-1"})
    assert found["freight article FRAKT-1"] is False
    hogia.add_article("FRAKT-1", "Frakt", Decimal(0), Decimal(25))
    found = await _reports(tmp_path, hogia, fee_articles={"freight": "FRAKT-1"})
    assert found["freight article FRAKT-1"] is True
