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

from prestashop_support import register_plugin


@pytest.fixture(autouse=True)
def _prestashop_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PluginHost built in these tests knows the ``prestashop`` kind."""
    register_plugin(monkeypatch)
