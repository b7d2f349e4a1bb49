"""The ``rate_limit`` option: one type, validated the same way for every adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brygga.config import load_config
from brygga.errors import ConfigError
from brygga.http.ratelimit import RateLimit
from brygga.plugins import PluginHost
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

ECO_URL = "https://eco.example"
SHOP_URL = "https://butiken.example/api/v2"


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost()


def _write(
    folder: Path, *, erp: dict[str, Any] | None = None, shop: dict[str, Any] | None = None
) -> Path:
    erp_table = EconomicSimulator(seed_catalog=False).adapter_config(ECO_URL) | (erp or {})
    shop_table = StarwebSimulator(seed_catalog=False).adapter_config(SHOP_URL, name="se")
    path = folder / "brygga.toml"
    text = toml_config(
        state="state.db", erp=erp_table, shops=[shop_table | (shop or {})], name="butiken"
    )
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path, host: PluginHost) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, host)
    message = str(info.value)
    assert "\n" not in message
    return message


BAD = [
    ({"requests": 0, "per_seconds": 1}, "rate_limit.requests: Expected `int` >= 1"),
    ({"requests": 10, "per_seconds": -1}, "rate_limit.per_seconds: Expected `float` > 0.0"),
    ({"requests": 10, "per_seconds": 0}, "rate_limit.per_seconds: Expected `float` > 0.0"),
    ({"requests": 10, "per_second": 1}, "rate_limit.per_second: unknown key"),
]


@pytest.mark.parametrize("role", ["erp", "shop"])
@pytest.mark.parametrize(("value", "expected"), BAD)
def test_an_invalid_rate_limit_is_a_one_line_error_for_both_adapters(
    tmp_path: Path, host: PluginHost, role: str, value: dict[str, Any], expected: str
) -> None:
    message = _error(_write(tmp_path, **{role: {"rate_limit": value}}), host)
    table = "erp" if role == "erp" else "shops[0]"
    assert f"connection[0].{table}.{expected}" in message


def test_both_adapters_read_the_option_as_one_type(tmp_path: Path, host: PluginHost) -> None:
    five = {"requests": 5, "per_seconds": 2}
    path = _write(tmp_path, erp={"rate_limit": five}, shop={"rate_limit": five})
    (conn,) = load_config(path, host).connections
    assert conn.erp.rate_limit == conn.shops[0].rate_limit == RateLimit(5, 2.0)
    (unset,) = load_config(_write(tmp_path), host).connections
    assert unset.erp.rate_limit is None and unset.shops[0].rate_limit is None
