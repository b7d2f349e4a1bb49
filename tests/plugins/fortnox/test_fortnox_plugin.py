"""The Fortnox plugin: its spec, what it reads and writes, its config (like the others')."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brygga.adapters import LazySimulator, Role
from brygga.config import load_config
from brygga.errors import ConfigError
from brygga.http.ratelimit import RateLimit
from brygga.models import DocumentType, OrderEvent, Register
from brygga.plugins import PluginHost
from brygga.testing import toml_config
from brygga_fortnox.adapter import FortnoxAdapter, FortnoxConfig
from brygga_fortnox.simulator import FortnoxSimulator
from brygga_starweb.simulator import StarwebSimulator


def test_the_plugin_registers_the_fortnox_adapter() -> None:
    host = PluginHost()
    spec = host.adapters["fortnox"]
    assert spec.role is Role.ERP and spec.config_type is FortnoxConfig
    assert spec.adapter is FortnoxAdapter
    assert isinstance(spec.simulator, LazySimulator)
    assert spec.simulator.load() is FortnoxSimulator
    assert spec.registers == (
        {
            Register.PRODUCTS,
            Register.PRICES,
            Register.STOCK,
            Register.STATUS,
            Register.PRICE_LISTS,
        },
        {Register.ORDERS},
    )
    caps = spec.capabilities
    assert caps.document_types == {DocumentType.INVOICE, DocumentType.ORDER}
    assert caps.status_events == {OrderEvent.INVOICED, OrderEvent.PAID, OrderEvent.CANCELLED}
    # the documented limit (reference/erp-apis.md §2.4, [doc F6]
    # https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits-for-fortnox-api)
    assert caps.rate_limit == RateLimit(25, 5.0)
    assert caps.lookup_by_reference and not caps.variants and caps.price_lists
    assert not caps.webhooks
    protocols = {p.__name__ for p in spec.protocols}
    assert {"DocumentChecker", "DocumentBooker", "DocumentCanceller", "RemoteVerifier"} <= (
        protocols
    )


def _write(folder: Path, erp: dict[str, Any]) -> Path:
    table = FortnoxSimulator(seed_catalog=False).adapter_config("https://api.fortnox.test")
    shop = StarwebSimulator(seed_catalog=False).adapter_config(
        "https://s.example/api/v2", name="se"
    )
    path = folder / "brygga.toml"
    path.write_text(
        toml_config(state="state.db", erp=table | erp, shops=[shop], name="butiken"),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"requests": 0, "per_seconds": 5}, "rate_limit.requests: Expected `int` >= 1"),
        ({"requests": 10, "per_seconds": 0}, "rate_limit.per_seconds: Expected `float` > 0.0"),
        ({"requests": 10, "per_second": 1}, "rate_limit.per_second: unknown key"),
    ],
)
def test_an_invalid_rate_limit_is_a_one_line_error(
    tmp_path: Path, value: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, {"rate_limit": value}), PluginHost())
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_a_valid_config_loads_with_secrets_hidden(tmp_path: Path) -> None:
    loaded = load_config(
        _write(tmp_path, {"rate_limit": {"requests": 20, "per_seconds": 5}}), PluginHost()
    )
    erp = loaded.connections[0].erp
    assert isinstance(erp, FortnoxConfig)
    assert erp.rate_limit == RateLimit(20, 5.0)
    assert "sim-fortnox-client-secret" not in repr(erp)
    assert erp.client_secret.reveal() == "sim-fortnox-client-secret"
