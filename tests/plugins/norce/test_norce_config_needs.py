"""A Norce shop that stock or prices flow into needs the codes Norce imports them to: a config
error before anything runs (``ConfigNeeds``, as e-conomic's product group).

Norce's Connect imports name the place by code (``WarehouseCode``/``LocationCode`` for
on-hand values, ``PriceListCode`` for prices: reference/shop-apis.md §4.4 [NO7]); without
``warehouse``/``location``/``price_list`` the adapter refused every SKU at run time
(brygga_norce.catalog). QA found `brygga check` passing such a config. Now `brygga check`
(exit 2) and the daemon's start refuse it, naming the keys, the shop and the fix, and only
where the register flows into that shop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brygga.cli import main
from brygga.errors import ConfigError
from brygga.plugins import PluginHost
from brygga.sync.wiring import load_checked
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_norce.simulator import NorceSimulator


def write(tmp_path: Path, drop: tuple[str, ...], registers: dict[str, str]) -> Path:
    shop = NorceSimulator().adapter_config("https://norce.example", name="no")
    for key in drop:
        del shop[key]
    path = tmp_path / "brygga.toml"
    path.write_text(
        toml_config(
            state="state.db",
            name="butiken",
            erp=EconomicSimulator(seed_catalog=False).adapter_config(
                "https://restapi.e-conomic.com"
            ),
            shops=[shop],
            connection={"mode": "erp", "registers": {"price_lists": "off", **registers}},
        ),
        encoding="utf-8",
    )
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "-c", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


STOCK_ONLY = {"prices": "off"}
PRICES_ONLY = {"stock": "off"}


@pytest.mark.parametrize(
    ("drop", "registers", "named"),
    [
        (("warehouse", "location"), STOCK_ONLY, "warehouse and location: missing: stock"),
        (("location",), STOCK_ONLY, "location: missing: stock"),
        (("price_list",), PRICES_ONLY, "price_list: missing: prices"),
        (("price_list", "warehouse"), {}, "warehouse: missing: stock"),
    ],
    ids=["stock-both", "stock-location", "prices", "both-registers"],
)
def test_check_refuses_a_norce_shop_without_the_codes_its_flows_need(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    drop: tuple[str, ...],
    registers: dict[str, str],
    named: str,
) -> None:
    code, out, err = check(write(tmp_path, drop, registers), capsys)
    assert code == 2, (out, err)
    assert "config OK" not in out
    assert f"connection 'butiken': [[connection.shops]] name = \"no\" (norce): {named}" in err
    if "price_list" in drop and not registers:
        assert "price_list: missing: prices" in err
    with pytest.raises(ConfigError, match="missing"):
        load_checked(write(tmp_path, drop, registers), PluginHost())


@pytest.mark.parametrize(
    ("drop", "registers"),
    [
        (("warehouse", "location"), PRICES_ONLY),
        (("price_list",), STOCK_ONLY),
        (("price_list", "warehouse", "location"), {"stock": "off", "prices": "off"}),
        ((), {}),
    ],
    ids=["no-stock", "no-prices", "orders-only", "all-set"],
)
def test_check_passes_when_the_codes_are_not_needed_or_set(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    drop: tuple[str, ...],
    registers: dict[str, Any],
) -> None:
    code, out, err = check(write(tmp_path, drop, registers), capsys)
    assert code == 0, (out, err)
    assert out.rstrip().endswith("config OK")
