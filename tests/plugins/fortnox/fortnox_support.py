"""Test helpers: make ``brygga_fortnox`` importable and registered before its entry point exists.

Until ``fortnox = "brygga_fortnox.plugin"`` is in pyproject.toml's ``[project.entry-points.
brygga]`` and the package is reinstalled, the editable install neither finds the package nor
lists the plugin: :func:`install` puts ``plugins/`` on ``sys.path`` and makes every
``PluginHost`` (the conformance kit's cached one too) register the plugin in-process. Once the
entry point exists it changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"


def install() -> None:
    """Idempotent: importable package, and a PluginHost that knows the ``fortnox`` kind."""
    if str(PLUGINS) not in sys.path:
        sys.path.append(str(PLUGINS))
    import brygga.plugins
    from brygga.testing.conformance import harness

    host_type: Any = brygga.plugins.PluginHost
    if getattr(host_type, "_fortnox_patched", False):
        return
    original = host_type.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if "fortnox" not in self.adapters and "fortnox" not in set(kwargs.get("disabled", ())):
            from brygga_fortnox import plugin

            self.pm.register(plugin, name="fortnox")
            self.plugins.setdefault("fortnox", brygga.plugins.LoadedPlugin("fortnox", "tests"))
            plugin.brygga_register_adapters(self._adapter_registrar("fortnox"))

    host_type.__init__ = init
    host_type._fortnox_patched = True
    harness._plugin_host.cache_clear()


install()

BASE_URL = "https://api.fortnox.test"


def config_for(sim: Any, **overrides: Any) -> Any:
    """The adapter config for ``sim`` (a fresh consent) with ``overrides``."""
    import msgspec

    from brygga.config import dec_hook
    from brygga_fortnox.adapter import FortnoxConfig

    raw = {**sim.adapter_config(BASE_URL), **overrides}
    return msgspec.convert(raw, FortnoxConfig, dec_hook=dec_hook(Path.cwd()))
