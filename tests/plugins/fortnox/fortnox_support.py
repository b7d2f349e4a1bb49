"""Test helpers: ``brygga_fortnox`` importable, and registered while a Fortnox test runs.

Until ``fortnox = "brygga_fortnox.plugin"`` is in pyproject.toml's ``[project.entry-points.
brygga]`` and the package is reinstalled, the editable install neither finds the package nor
lists the plugin. Importing this module puts ``plugins/`` on ``sys.path``; :func:`registered`
makes every ``PluginHost`` that loads entry points (the conformance kit's cached one too)
register the plugin in-process as the entry point would, and undoes it afterwards, so other
tests see the installed plugins only. Once the entry point exists it changes nothing.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
if str(PLUGINS) not in sys.path:
    sys.path.append(str(PLUGINS))

BASE_URL = "https://api.fortnox.test"


@contextmanager
def registered() -> Iterator[None]:
    """While open: a ``PluginHost`` built with entry points (and ``fortnox`` not disabled)
    also registers the ``fortnox`` kind."""
    import brygga.plugins
    from brygga.testing.conformance import harness

    if any(ep.name == "fortnox" for ep in importlib.metadata.entry_points(group="brygga")):
        yield
        return
    host_type: Any = brygga.plugins.PluginHost
    original = host_type.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        wanted = kwargs.get("entry_points", True) and "fortnox" not in set(
            kwargs.get("disabled", ())
        )
        if wanted and "fortnox" not in self.adapters:
            from brygga_fortnox import plugin

            self.pm.register(plugin, name="fortnox")
            self.plugins.setdefault("fortnox", brygga.plugins.LoadedPlugin("fortnox", "tests"))
            plugin.brygga_register_adapters(self._adapter_registrar("fortnox"))

    host_type.__init__ = init
    harness._plugin_host.cache_clear()
    try:
        yield
    finally:
        host_type.__init__ = original
        harness._plugin_host.cache_clear()


def config_for(sim: Any, **overrides: Any) -> Any:
    """The adapter config for ``sim`` (a fresh consent) with ``overrides``."""
    import msgspec

    from brygga.config import dec_hook
    from brygga_fortnox.adapter import FortnoxConfig

    raw = {**sim.adapter_config(BASE_URL), **overrides}
    return msgspec.convert(raw, FortnoxConfig, dec_hook=dec_hook(Path.cwd()))
