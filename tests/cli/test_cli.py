"""The `brygga` command line in-process (check, plugins, status, --version) and as a script."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

import brygga
from brygga.cli import main
from brygga.store import ItemState, Store
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

SHOP_URL = "https://butiken.example/api/v2"
REGISTERS = ("orders", "status", "products", "prices", "price_lists", "stock")


def _connection(name: str, **connection: Any) -> str:
    return toml_config(
        state="state/brygga.db",
        erp=EconomicSimulator(seed_catalog=False).adapter_config("https://eco.example"),
        shops=[StarwebSimulator(seed_catalog=False).adapter_config(SHOP_URL, name="se")],
        name=name,
        connection=connection,
        sections={"status": {"invoiced": {"shop_status": "completed", "email": True}}},
    )


def _write(folder: Path, text: str) -> Path:
    path = folder / "brygga.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A valid config: mode erp with price lists off."""
    return _write(tmp_path, _connection("butiken", registers={"price_lists": "off"}))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- check -----------------------------------------------------------------------------------


def _flow_rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in REGISTERS:
            rows[cells[0]] = cells[1:]
    return rows


def test_check_prints_the_flow_table(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "check", "-c", str(config_file))
    assert code == 0, err
    assert "connection butiken: mode erp, erp economic, shops se (starweb)" in out
    assert re.search(r"^\s+register\s+from\s+to\s+note$", out, re.M)
    rows = _flow_rows(out)
    assert set(rows) == set(REGISTERS)
    assert rows["orders"][:3] == ["starweb:se", "economic", "as invoice"]
    assert rows["status"][:2] == ["economic", "starweb:se"]
    assert rows["stock"][:2] == ["economic", "starweb:se"]
    assert rows["price_lists"] == ["-", "-", "off"]
    assert rows["prices"][2].startswith("with the products")
    assert rows["status"][2].startswith("1 rule(s), see the status table")
    assert re.search(r"^\s+erp event\s+shop status\s+e-mail\s+tracking\s+capture$", out, re.M)
    assert re.search(r"^\s+invoiced\s+completed\s+yes\s+no\s+no$", out, re.M)
    assert "variants sent as separate articles" in rows["products"][2]
    assert out.rstrip().endswith("config OK")
    assert f"state file {config_file.parent / 'state' / 'brygga.db'}" in out
    assert not (config_file.parent / "state").exists(), "check never creates the state file"


def test_check_refuses_flows_the_adapters_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # price lists asked of the ERP by hand (the mode alone leaves them off when it has none)
    path = _write(tmp_path, _connection("butiken", registers={"price_lists": "erp"}))
    code, out, err = _run(capsys, "check", "-c", str(path))
    assert code == 1
    price_lists = _flow_rows(out)["price_lists"]
    assert price_lists[:2] == ["economic", "starweb:se"]
    assert "register price_lists: adapter 'economic' has no price lists" in err
    # Starweb takes statuses (StatusSink) and e-conomic reports invoiced (StatusSource)
    assert _flow_rows(out)["status"][:2] == ["economic", "starweb:se"]
    assert "config refused" in err
    assert "config OK" not in out


def test_check_refuses_a_status_rule_the_erp_never_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = toml_config(
        state="state/brygga.db",
        erp=EconomicSimulator(seed_catalog=False).adapter_config("https://eco.example"),
        shops=[StarwebSimulator(seed_catalog=False).adapter_config(SHOP_URL, name="se")],
        connection={"registers": {"price_lists": "off"}},
        sections={"status": {"delivered": {"shop_status": "completed", "capture": True}}},
    )
    code, _, err = _run(capsys, "check", "-c", str(_write(tmp_path, text)))
    assert code == 1
    assert (
        "register status: [connection.status.delivered]: adapter 'economic' reports no "
        "delivered events (it reports: invoiced, paid, cancelled), so this rule would never "
        "fire; remove it or give its shop status to one of those"
    ) in err


def test_check_refuses_orders_flowing_from_the_erp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _connection("butiken", registers={"orders": "erp"}))
    code, _, err = _run(capsys, "check", "-c", str(path))
    assert code == 1
    assert (
        "register orders: adapter 'economic' (economic) cannot supply orders: "
        "it implements no OrderSource"
    ) in err
    assert "adapter 'starweb' (se) cannot receive orders: it implements no DocumentSink" in err
    assert "config refused" in err


def test_check_of_a_broken_config_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _connection("butiken", registers={"price_lists": "off"}, modee="erp")
    path = _write(tmp_path, text)
    code, out, err = _run(capsys, "check", "-c", str(path))
    assert code == 2
    assert out == ""
    assert err == (
        f"error: {path}: connection[0].modee: unknown key `modee` (did you mean `mode`?)\n"
    )


def test_check_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "check", "-c", str(tmp_path / "nope.toml"))
    assert code == 2
    assert "cannot read config" in err


def test_check_honours_disabled_plugins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _connection("butiken", registers={"price_lists": "off"})
    text = text.replace("[daemon]\n", '[daemon]\ndisabled_plugins = ["starweb"]\n')
    code, _, err = _run(capsys, "check", "-c", str(_write(tmp_path, text)))
    assert code == 2
    assert "connection[0].shops[0].kind" in err
    assert "plugin 'starweb' is disabled" in err


def test_check_honours_disabled_plugins_in_a_file_with_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # some Windows editors save UTF-8 with a BOM; the plugin list must still be read from it
    text = _connection("butiken", registers={"price_lists": "off"})
    text = text.replace("[daemon]\n", '[daemon]\ndisabled_plugins = ["starweb"]\n')
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    code, _, err = _run(capsys, "check", "-c", str(path))
    assert code == 2
    assert "plugin 'starweb' is disabled" in err


# -- plugins ------------------------------------------------------------------------------------


def test_plugins_lists_plugins_adapters_and_capabilities(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "plugins")
    assert code == 0
    plugin_rows = {
        cells[0]: cells[1:]
        for cells in (re.split(r"\s{2,}", line.strip()) for line in out.splitlines())
        if cells[0] in ("starweb", "economic")
    }
    assert plugin_rows["starweb"][0] == "loaded"
    assert "brygga_starweb.plugin" in plugin_rows["starweb"][1]
    assert plugin_rows["starweb"][2] == "adapter starweb"
    assert plugin_rows["economic"][2] == "adapter economic"
    assert re.search(r"^  economic \(erp, plugin economic\): ", out, re.M)
    assert re.search(r"^  starweb \(shop, plugin starweb\): ", out, re.M)
    assert re.search(r"^\s+document_types\s+invoice, order$", out, re.M)
    assert re.search(
        r"^\s+protocols\s+OrderSource, ExportMark, StatusSink, ProductSource, ProductSink, "
        r"PriceSink, StockSink, PriceListSink, RemoteVerifier$",
        out,
        re.M,
    )
    assert re.search(r"^\s+reads\s+orders, prices, products$", out, re.M)
    assert re.search(r"^\s+writes\s+price_lists, prices, products, status, stock$", out, re.M)
    assert re.search(r"^\s+lookup_by_reference\s+True$", out, re.M)
    assert re.search(r"^\s+rate_limit\s+10/1s \(published\)", out, re.M)  # e-conomic's
    assert "note: " in out
    assert re.search(r"^\s+simulator\s+yes$", out, re.M)


# -- status ------------------------------------------------------------------------------------


def test_status_before_any_run(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "status", "-c", str(config_file))
    assert code == 0
    assert "no state yet" in out
    assert str(config_file.parent / "state" / "brygga.db") in out


def test_status_of_a_broken_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "status", "-c", str(_write(tmp_path, "[daemon]\nstat = 1\n")))
    assert code == 2
    assert "did you mean `state`" in err


async def _record_work(state: Path, now: datetime) -> None:
    """butiken: two failed orders and one waiting in the backlog; outlet: one done, polled."""
    async with await Store.open(state) as store:
        for order_id in ("1001", "1002", "1003", "1004"):
            await store.items.enqueue(
                connection="butiken",
                register="orders",
                instance="se",
                external_id=order_id,
                now=now,
                ready=True,
            )
        for _ in range(3):
            item = await store.items.claim(
                connection="butiken", register="orders", now=now, run_id="t"
            )
            assert item is not None
            if item.external_id == "1003":
                await store.items.finish(item.id, ItemState.DONE, now)
            else:
                await store.items.finish(
                    item.id, ItemState.FAILED, now, error=f"order {item.external_id}: unknown SKU"
                )
        await store.status.success("butiken", "orders", "se", now)
        await store.items.enqueue(
            connection="outlet",
            register="orders",
            instance="se",
            external_id="2001",
            now=now,
            ready=True,
        )
        item = await store.items.claim(connection="outlet", register="orders", now=now, run_id="t")
        assert item is not None
        await store.items.finish(item.id, ItemState.DONE, now)
        await store.status.success("outlet", "orders", "se", now - timedelta(seconds=30))


def test_status_after_work_prints_one_line_per_connection_and_register(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _connection("butiken", registers={"price_lists": "off"})
    outlet = _connection("outlet", registers={"price_lists": "off"})
    text += "\n[[connection]]" + outlet.split("[[connection]]", 1)[1]
    path = _write(tmp_path, text)
    anyio.run(_record_work, tmp_path / "state" / "brygga.db", datetime.now(UTC), backend="asyncio")

    code, out, _ = _run(capsys, "status", "-c", str(path))
    assert code == 1, "a connection needs attention"
    lines = out.splitlines()
    assert "butiken: ATTENTION: 2 failed orders record(s)" in lines
    assert "outlet: last known: healthy" in lines  # no daemon runs: as the daemon left it
    butiken = lines[lines.index("butiken: ATTENTION: 2 failed orders record(s)") + 1]
    assert re.match(  # failed records: not "ok"
        r"^\s+orders\s+errors\s+last success \d+[sm] ago\s+backlog 1\s+done 1\s+failed 2$",
        butiken,
    )
    outlet_line = lines[lines.index("outlet: last known: healthy") + 1]
    assert re.match(
        r"^\s+orders\s+ok\s+last success \d+[sm] ago\s+backlog 0\s+done 1\s+failed 0$", outlet_line
    )


def test_status_when_nothing_succeeded_for_long_says_late(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def stale(state: Path) -> None:
        async with await Store.open(state) as store:
            await store.status.success(
                "butiken", "orders", "se", datetime.now(UTC) - timedelta(hours=5)
            )

    anyio.run(stale, config_file.parent / "state" / "brygga.db", backend="asyncio")
    code, out, _ = _run(capsys, "status", "-c", str(config_file))
    assert code == 1
    assert "butiken: ATTENTION: orders late" in out.splitlines()
    assert re.search(r"orders\s+late\s+last success 5h ago", out)


# -- version and the console script ------------------------------------------------------------


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"brygga {brygga.__version__}"


def test_python_dash_m_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "brygga", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"brygga {brygga.__version__}"


def test_console_script_runs_check(config_file: Path) -> None:
    script = Path(sys.executable).parent / "brygga"
    if not script.exists():
        pytest.skip(f"console script not installed beside {sys.executable}")
    result = subprocess.run(
        [str(script), "check", "-c", str(config_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "config OK" in result.stdout
    broken = subprocess.run(
        [str(script), "check", "-c", str(config_file.parent / "missing.toml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert broken.returncode == 2
    assert broken.stderr.count("\n") == 1


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage: brygga" in capsys.readouterr().err


def _two_shops(status: dict[str, Any]) -> str:
    shop = StarwebSimulator(seed_catalog=False)
    return toml_config(
        state="state/brygga.db",
        erp=EconomicSimulator(seed_catalog=False).adapter_config("https://eco.example"),
        shops=[
            shop.adapter_config(SHOP_URL, name="se"),
            shop.adapter_config("https://butikken.example/api/v2", name="no"),
        ],
        connection={"registers": {"price_lists": "off"}},
        sections={"status": status},
    )


def test_a_shop_of_its_own_rules_shows_them_in_the_status_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = {
        "invoiced": {"shop_status": "completed", "email": True},
        "shops": {"no": {"invoiced": {"shop_status": "fullfort", "capture": True}}},
    }
    code, out, err = _run(capsys, "check", "-c", str(_write(tmp_path, _two_shops(status))))
    assert code == 0, err
    assert _flow_rows(out)["status"][2].startswith("2 rule(s), see the status table")
    assert re.search(r"^\s+invoiced\s+completed\s+yes\s+no\s+no$", out, re.M)
    assert re.search(r"^\s+invoiced \(no\)\s+fullfort\s+no\s+no\s+yes$", out, re.M)


def test_status_rules_for_an_unknown_shop_or_an_event_never_reported_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = {"shops": {"dk": {"invoiced": {"shop_status": "shipped"}}}}
    code, _, err = _run(capsys, "check", "-c", str(_write(tmp_path, _two_shops(unknown))))
    assert code != 0
    assert "status.shops.dk: no shop of this connection is named 'dk'; name one of: no, se" in err
    never = {"shops": {"no": {"delivered": {"shop_status": "levert"}}}}
    code, _, err = _run(capsys, "check", "-c", str(_write(tmp_path, _two_shops(never))))
    assert code == 1
    assert "adapter 'economic' reports no delivered events" in err
