"""Makes the ``hogia`` kind available to tests before its entry point is in pyproject.toml.

The editable install maps only the packages it knew when it was made, so ``plugins/`` goes
on ``sys.path``; :func:`install` puts the plugin on every PluginHost the tests build (the
conformance kit's, SimulatedConnection's and the CLI's) unless an entry point already
registers it, in which case it does nothing.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path
from typing import Any

import pytest

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
if str(PLUGINS) not in sys.path:
    sys.path.append(str(PLUGINS))

import brygga.commands.common  # noqa: E402
import brygga.commands.plugins_cmd  # noqa: E402
import brygga.testing.conformance.harness as harness  # noqa: E402
import brygga.testing.connection  # noqa: E402
from brygga.plugins import PluginHost  # noqa: E402
from brygga_hogia import plugin  # noqa: E402

KIND = "hogia"


def registered() -> bool:
    """Whether an installed entry point provides the kind already."""
    return any(ep.name == KIND for ep in importlib.metadata.entry_points(group="brygga"))


class HostWithPlugin(PluginHost):
    """A PluginHost that also loads this plugin in-process (unless its entry point does)."""

    def __init__(self, **options: Any) -> None:
        extra = [*options.pop("extra", ())]
        if not registered() or not options.get("entry_points", True):
            extra.append((KIND, plugin))
        super().__init__(extra=extra, **options)


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the plugin on the hosts tests build, for one test."""
    if registered():
        return
    host = HostWithPlugin()
    monkeypatch.setattr(harness, "_plugin_host", lambda: host)
    monkeypatch.setattr(brygga.testing.connection, "PluginHost", HostWithPlugin)
    monkeypatch.setattr(brygga.commands.common, "PluginHost", HostWithPlugin)
    monkeypatch.setattr(brygga.commands.plugins_cmd, "PluginHost", HostWithPlugin)
