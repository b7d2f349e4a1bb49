"""The hooks a brygga plugin can implement. Hooks are synchronous and do no I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from brygga.adapters import AdapterSpec
    from brygga.mappings import Mapping

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "brygga"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    """Register shop and ERP adapter kinds.

    :param register: call once per adapter kind with an :class:`brygga.adapters.AdapterSpec`
        (kind, role, config Struct, capabilities, factory and optional simulator). Registering
        a kind another plugin already registered is an error naming both plugins.
    """


@hookspec
def brygga_register_mappings(register: Callable[[Mapping], None]) -> None:
    """Register field mappings: transforms of canonical objects for one register.

    Every register's flow runs its mappings once per record, where the object read from the
    source becomes what is written (``brygga sync products`` too, for products and prices):
    ``orders`` an Order, ``products`` and ``prices`` an Article, ``price_lists`` a ListPrice,
    ``stock`` a StockLevel (the available quantity), ``status`` a DocumentState (see
    :mod:`brygga.mappings`). The :class:`brygga.mappings.MappingContext` names the
    connection, the shop, the ERP, the register and which way the record goes (``source``,
    ``target``).

    :param register: call once per :class:`brygga.mappings.Mapping` (name, register, order,
        transform). Mappings of a register run in ascending ``order``; a transform returns the
        changed object or raises :class:`brygga.mappings.Skip` with a reason to skip the record
        (any other exception fails that record, naming the mapping).
    """


@hookspec
def brygga_startup(settings: dict[str, Any]) -> None:
    """Called once when the daemon has loaded its config, before any connection starts.

    :param settings: the ``[plugins.<name>]`` tables of the config, keyed by plugin name, so a
        plugin can read its own options. Read-only; raise PluginError to refuse bad options.
    """
