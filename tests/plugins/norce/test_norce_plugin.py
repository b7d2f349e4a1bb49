"""The plugin registers kind ``norce``: protocols, capabilities, config checks, no secrets shown."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from norce_support import START, host_with_norce, norce_config, open_adapter

from brygga.adapters import PushReceiver, Role
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.models import Register
from brygga_norce.adapter import NorceAdapter, api_root
from brygga_norce.simulator import NorceSimulator


def test_the_spec_says_what_norce_does() -> None:
    spec = host_with_norce().adapters["norce"]
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
    with pytest.raises(PermanentError, match="set base_url, or slug"):
        api_root(norce_config(sim, base_url=""))


@pytest.mark.anyio
async def test_no_secret_in_repr_or_errors() -> None:
    sim = NorceSimulator(clock=FakeClock(START))
    async with open_adapter(sim, FakeClock(START), client_secret="kit-wrong-secret-42") as adapter:
        assert sim.client_secret not in repr(adapter)
        with pytest.raises(PermanentError) as info:
            await adapter.fetch_order("1")
        assert "invalid_client" in str(info.value) and "kit-wrong" not in str(info.value)
