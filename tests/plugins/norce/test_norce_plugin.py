"""The plugin registers kind ``norce``: protocols, capabilities, config checks, no secrets shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from norce_support import START, norce_config, open_adapter

import brygga_norce
from brygga.adapters import PushReceiver, RemoteNeeds, Role
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.models import Register
from brygga.plugins import PluginHost
from brygga_norce.adapter import NorceAdapter, api_root
from brygga_norce.simulator import NorceSimulator


def test_the_spec_says_what_norce_does() -> None:
    spec = PluginHost().adapters["norce"]
    assert spec.role is Role.SHOP and spec.adapter is NorceAdapter
    assert spec.registers.reads == frozenset({Register.ORDERS})
    assert spec.registers.writes == frozenset({Register.STATUS, Register.STOCK, Register.PRICES})
    assert PushReceiver in spec.protocols
    assert spec.capabilities.webhooks is True
    assert spec.capabilities.variants is False and spec.capabilities.price_lists is False
    assert isinstance(spec.simulator(), NorceSimulator)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"rate_limit": {"requests": 0, "per_seconds": 1}}, "rate_limit.requests"),
        ({"environment": "test"}, "environment"),
        ({"channels": [-1]}, "channels"),
        ({"job_polls": 0}, "job_polls"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_config_is_refused(overrides: dict[str, Any], error: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=error):
        norce_config(NorceSimulator(), **overrides)


def test_the_api_host_is_built_from_slug_region_and_environment() -> None:
    """[NO14]: [clientname].api-[region][.playground|.stage].norce.tech."""
    sim = NorceSimulator()
    config = norce_config(sim, base_url="", slug="acme", environment="stage")
    assert api_root(config) == "https://acme.api-se.stage.norce.tech"
    config = norce_config(sim, base_url="", slug="acme", environment="prod", region="no")
    assert api_root(config) == "https://acme.api-no.norce.tech"
    with pytest.raises(msgspec.ValidationError, match="set base_url"):
        norce_config(sim, base_url="")


@pytest.mark.anyio
async def test_no_secret_in_repr_or_errors() -> None:
    sim = NorceSimulator(clock=FakeClock(START))
    async with open_adapter(sim, FakeClock(START), client_secret="kit-wrong-secret-42") as adapter:
        assert sim.client_secret not in repr(adapter)
        with pytest.raises(PermanentError) as info:
            await adapter.fetch_order("1")
        assert "invalid_client" in str(info.value) and "kit-wrong" not in str(info.value)


def test_loading_the_plugin_imports_no_simulator_and_no_test_kit() -> None:
    """The daemon never builds a simulator: loading the plugin must not import one."""
    code = (
        "import json, sys\n"
        "import brygga_norce.plugin\n"
        "print(json.dumps([m for m in sys.modules if m.startswith(("
        "'brygga_norce.simulator', 'brygga.testing', 'pytest'))]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(norce_plugin_dir()))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    assert json.loads(result.stdout) == []


@pytest.mark.anyio
async def test_check_remote_reads_only_and_names_statuses_norce_cannot_set() -> None:
    clock = FakeClock(START)
    sim = NorceSimulator(clock=clock)
    async with open_adapter(sim, clock) as adapter:
        findings = await adapter.verify_remote(RemoteNeeds(shop_statuses=("Delivered", "Shipped")))
    assert [(f.check, f.ok) for f in findings] == [
        ("credentials", True),
        ("Query API", True),
        ("order statuses", False),
    ]
    assert "'Shipped'" in findings[2].detail and "Delivered" in findings[2].detail
    assert all(method == "GET" or "token" in path for method, path in sim.requests)
    async with open_adapter(sim, clock, client_secret="wrong-secret-123") as adapter:
        (bad,) = await adapter.verify_remote(RemoteNeeds())
    assert not bad.ok and "invalid_client" in bad.detail and "wrong-secret" not in bad.detail


def norce_plugin_dir() -> str:
    return str(Path(brygga_norce.__file__).resolve().parents[1])
