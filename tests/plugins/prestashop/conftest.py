"""Fixtures for the PrestaShop plugin tests: the plugin registered with the PluginHost (until
its entry point is in pyproject.toml), a simulator on a fake clock and adapters on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import brygga_prestashop  # noqa: F401
except ImportError:  # an editable install made before the package existed does not map it
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "plugins"))

from prestashop_support import register_plugin, utc

from brygga.clock import FakeClock
from brygga_prestashop.simulator import PrestashopSimulator

#: a winter Monday morning; Stockholm is UTC+1
START = utc(2026, 2, 2, 8, 0, 0)


@pytest.fixture(autouse=True)
def _prestashop_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PluginHost built in these tests knows the ``prestashop`` kind."""
    register_plugin(monkeypatch)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sim(clock: FakeClock) -> PrestashopSimulator:
    return PrestashopSimulator(clock=clock)
