"""Helpers of the Vendure tests: the plugin on sys.path, and adapter configs."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

# Until pyproject.toml lists brygga_vendure (package + entry point), the plugin is imported
# from the source tree.
_PLUGINS = str(Path(__file__).resolve().parents[3] / "plugins")
if _PLUGINS not in sys.path:
    sys.path.insert(0, _PLUGINS)

from vendure_server import VendureServer  # noqa: E402

__all__ = ["host_with_vendure", "vendure_config", "vendure_config_raw"]


@functools.cache
def host_with_vendure() -> Any:
    """The installed plugins, plus Vendure while it is no entry point yet (once it is, the
    installed one is used: registering it twice would be refused)."""
    import brygga_vendure.plugin as vendure_plugin
    from brygga.plugins import PluginHost

    host = PluginHost()
    if "vendure" in host.adapters:
        return host
    return PluginHost(extra=[("vendure", vendure_plugin)])


def vendure_config_raw(raw: dict[str, Any]) -> Any:
    """``raw`` decoded into a VendureConfig as the config loader does."""
    import msgspec

    from brygga.config import dec_hook
    from brygga_vendure.adapter import VendureConfig

    return msgspec.convert(raw, VendureConfig, dec_hook=dec_hook(Path.cwd()))


def vendure_config(server: VendureServer, **overrides: Any) -> Any:
    """A VendureConfig for ``server`` (decoded as the config loader does)."""
    raw = {
        "kind": "vendure",
        "name": "vendure-real",
        "base_url": server.admin_url,
        "username": server.superadmin,
        "password": server.password,
        # a test server on loopback: no need for the default 10 requests/s
        "rate_limit": {"requests": 500, "per_seconds": 1},
        **overrides,
    }
    return vendure_config_raw(raw)
