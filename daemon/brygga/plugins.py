"""Plugin loading: entry points in group ``brygga`` (first-party adapters included)."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import pluggy

from brygga import hookspecs
from brygga.adapters import AdapterSpec, Role
from brygga.errors import ConfigError, PluginError
from brygga.mappings import Mapping

__all__ = ["LoadedPlugin", "PluginHost"]

log = logging.getLogger(__name__)

_ROLE_NAMES = {Role.SHOP: "a shop", Role.ERP: "an ERP"}


@dataclass
class LoadedPlugin:
    name: str
    source: str
    error: str = ""
    disabled: bool = False
    adapters: list[str] = field(default_factory=list)
    mappings: list[str] = field(default_factory=list)


class PluginHost:
    """Loads plugins once and keeps what they registered.

    A plugin that fails to import is recorded (not raised, not logged: logging may not be
    set up yet): the commands refuse a config that gives a failed plugin settings
    (:meth:`refusal`) and warn about the others (:meth:`failed`); an adapter kind only a
    failed plugin would have provided is refused where a connection names it.
    """

    def __init__(
        self,
        *,
        disabled: Iterable[str] = (),
        extra: Iterable[tuple[str, object]] = (),
        entry_points: bool = True,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}
        self.adapters: dict[str, AdapterSpec] = {}
        self.mappings: list[Mapping] = []
        disabled_set = set(disabled)
        if entry_points:
            for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT):
                self._load_entry_point(ep, disabled_set)
        for name, obj in extra:
            if name in disabled_set:
                self.plugins[name] = LoadedPlugin(name, "in-process", disabled=True)
                continue
            self.pm.register(obj, name=name)
            self.plugins[name] = LoadedPlugin(name, "in-process")
        self._collect()

    def _load_entry_point(self, ep: importlib.metadata.EntryPoint, disabled: set[str]) -> None:
        source = f"{ep.dist.name if ep.dist else '?'} ({ep.value})"
        if ep.name in disabled:
            self.plugins[ep.name] = LoadedPlugin(ep.name, source, disabled=True)
            return
        try:
            obj = ep.load()
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            log.debug("plugin %s failed to load: %s", ep.name, message)
            self.plugins[ep.name] = LoadedPlugin(ep.name, source, error=message)
            return
        self.pm.register(obj, name=ep.name)
        self.plugins[ep.name] = LoadedPlugin(ep.name, source)

    def _collect(self) -> None:
        for impl in self.pm.hook.brygga_register_adapters.get_hookimpls():
            self._call(impl, "adapters", self._adapter_registrar(impl.plugin_name))
        for impl in self.pm.hook.brygga_register_mappings.get_hookimpls():
            self._call(impl, "mappings", self._mapping_registrar(impl.plugin_name))

    def _call(self, impl: Any, what: str, register: Any) -> None:
        try:
            impl.function(register=register)
        except Exception as exc:
            message = f"registering {what} failed: {type(exc).__name__}: {exc}"
            log.debug("plugin %s: %s", impl.plugin_name, message)
            plugin = self.plugins.setdefault(impl.plugin_name, LoadedPlugin(impl.plugin_name, "?"))
            plugin.error = plugin.error or message

    def _adapter_registrar(self, plugin: str) -> Any:
        def register(spec: AdapterSpec) -> None:
            if not isinstance(spec, AdapterSpec):
                raise PluginError(f"expected an AdapterSpec, got {type(spec).__name__}")
            existing = self.adapters.get(spec.kind)
            if existing is not None:
                raise PluginError(
                    f"adapter kind {spec.kind!r} is already registered by plugin "
                    f"{existing.plugin!r}"
                )
            self.adapters[spec.kind] = replace(spec, plugin=plugin)
            self.plugins[plugin].adapters.append(spec.kind)

        return register

    def _mapping_registrar(self, plugin: str) -> Any:
        def register(mapping: Mapping) -> None:
            if not isinstance(mapping, Mapping):
                raise PluginError(f"expected a Mapping, got {type(mapping).__name__}")
            self.mappings.append(replace(mapping, plugin=plugin))
            self.plugins[plugin].mappings.append(mapping.name)

        return register

    def failed(self) -> list[LoadedPlugin]:
        """The plugins that failed to load or to register, by name."""
        return [p for _, p in sorted(self.plugins.items()) if p.error]

    def refusal(self, named: Iterable[str], *, source: str) -> ConfigError | None:
        """The config error when a plugin the config names (a ``[plugins.NAME]`` table) failed
        to load: its mappings would be missing from every record sent meanwhile, and an order
        goes to the ERP only once. None when every named plugin loaded (or is disabled)."""
        names = set(named)
        broken = [p for p in self.failed() if p.name in names]
        if not broken:
            return None
        plugin = broken[0]
        return ConfigError(
            f"{source}: plugins.{plugin.name}: plugin {plugin.name!r} failed to load "
            f"({plugin.error}), and without it the records would go out without its mappings; "
            f"fix or reinstall it (or uninstall it), or remove [plugins.{plugin.name}] from the "
            f'config, or add "{plugin.name}" to [daemon] disabled_plugins to run without it'
        )

    def startup(self, settings: dict[str, Any]) -> None:
        self.pm.hook.brygga_startup(settings=settings)

    def adapter(self, kind: str, role: Role, *, where: str) -> AdapterSpec:
        """The spec for ``kind``, or a ConfigError saying why it is not available."""
        spec = self.adapters.get(kind)
        if spec is None:
            broken = [p for p in self.plugins.values() if p.error]
            hint = ""
            if broken:
                hint = (
                    " (plugins that failed to load: "
                    + ", ".join(f"{p.name}: {p.error}" for p in broken)
                    + ")"
                )
            disabled = [p.name for p in self.plugins.values() if p.disabled]
            if kind in disabled:
                hint = f" (plugin {kind!r} is disabled in [daemon].disabled_plugins)"
            known = ", ".join(sorted(k for k, s in self.adapters.items() if s.role == role))
            raise ConfigError(
                f"{where}: no {role.value} adapter of kind {kind!r}; installed: "
                f"{known or 'none'}{hint}"
            )
        if spec.role != role:
            raise ConfigError(
                f"{where}: {kind!r} is {_ROLE_NAMES[spec.role]} adapter, not {_ROLE_NAMES[role]} "
                f"adapter; use it as the connection's {spec.role.value}"
            )
        return spec
