"""The kit's harness: look a kind up, build its simulator on a fake clock, open adapters on it."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import msgspec

from brygga.adapters import (
    AdapterConfig,
    AdapterContext,
    AdapterSpec,
    ErpAdapter,
    LazySimulator,
    Role,
    ShopAdapter,
)
from brygga.clock import FakeClock
from brygga.config import dec_hook
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.secrets import Secret
from brygga.testing.simulators import ErpSimulator, ShopSimulator

__all__ = [
    "DEFAULT_BASE_URL",
    "KIT_START",
    "AdapterFactory",
    "ErpHarness",
    "NotSupported",
    "ShopHarness",
    "adapter_spec",
    "build_simulator",
    "secret_fields",
    "takes_keyword",
]

#: where the kit's fake clock starts (a weekday morning, whole seconds)
KIT_START = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
#: the base URL adapters are configured with; requests never leave the process
DEFAULT_BASE_URL = "https://kit.brygga.test"

AdapterFactory = Callable[[Any, AdapterContext], Any]
SimT = TypeVar("SimT", ShopSimulator, ErpSimulator)
AdapterT = TypeVar("AdapterT", ShopAdapter, ErpAdapter)


class NotSupported(Exception):
    """A check cannot run against this adapter or simulator; the message says why (the
    conformance classes turn it into a skip with that reason)."""


@functools.cache
def _plugin_host() -> PluginHost:
    return PluginHost()


def adapter_spec(kind: str, role: Role) -> AdapterSpec:
    """The installed spec for ``kind`` (``PluginHost().adapters[kind]``), checked for ``role``."""
    host = _plugin_host()
    spec = host.adapters.get(kind)
    if spec is None:
        broken = "; ".join(f"{p.name}: {p.error}" for p in host.plugins.values() if p.error)
        raise LookupError(
            f"no adapter of kind {kind!r} is installed (installed: "
            f"{', '.join(sorted(host.adapters)) or 'none'})"
            + (f"; plugins that failed to load: {broken}" if broken else "")
            + "; install the plugin (its entry point in group 'brygga') or fix `kind`"
        )
    if spec.role != role:
        raise LookupError(f"adapter kind {kind!r} is a {spec.role.value} adapter, not {role.value}")
    return spec


def takes_keyword(factory: Callable[..., Any], name: str) -> bool:
    """Whether ``factory`` accepts the keyword argument ``name`` (a LazySimulator is loaded
    to look at the class it names)."""
    if isinstance(factory, LazySimulator):
        factory = factory.load()
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def build_simulator(
    spec: AdapterSpec, clock: FakeClock, options: Mapping[str, Any]
) -> tuple[Any, FakeClock | None]:
    """The spec's simulator built with ``options``, and ``clock`` when its factory takes one.

    Returns the simulator and the clock it runs on (None when it keeps its own time, in
    which case the time-window checks fall back to coarser windows).
    """
    if spec.simulator is None:
        raise LookupError(
            f"adapter kind {spec.kind!r} ships no simulator (AdapterSpec.simulator is None); "
            "override make_simulator() in the conformance class"
        )
    kwargs = dict(options)
    on_clock: FakeClock | None = None
    if "clock" in kwargs:
        given = kwargs["clock"]
        on_clock = given if isinstance(given, FakeClock) else None
    elif takes_keyword(spec.simulator, "clock"):
        kwargs["clock"] = clock
        on_clock = clock
    return spec.simulator(**kwargs), on_clock


def _is_secret(type_: Any) -> bool:
    return type_ is Secret or Secret in typing.get_args(type_)


def secret_fields(config_type: type[AdapterConfig]) -> list[str]:
    """Names (in the config's own spelling) of the required fields typed ``Secret``: the
    credentials. Optional secrets (such as ``webhook_token``) are not credentials."""
    return [
        field.encode_name
        for field in msgspec.structs.fields(config_type)
        if _is_secret(field.type) and field.required
    ]


class _Harness(Generic[SimT, AdapterT]):
    """One simulator and the means to open adapters of ``kind`` on it, in-process."""

    role: Role
    protocol: type[Any]

    def __init__(
        self,
        kind: str,
        sim: SimT,
        *,
        clock: FakeClock,
        sim_clock: FakeClock | None,
        base_url: str = DEFAULT_BASE_URL,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.spec = adapter_spec(kind, self.role)
        self.sim: SimT = sim
        #: the adapters' one clock: their rate limiters, token lifetimes and Retry-After
        #: dates run on it (a rate-limit wait moves it instead of sleeping)
        self.clock = clock
        #: the simulator's clock when it runs on the kit's (then equal to ``clock``)
        self.sim_clock = sim_clock
        self.base_url = base_url
        self.overrides = dict(overrides or {})

    def _raw(self) -> dict[str, Any]:
        """The simulator's own adapter table; each role's harness knows how to ask for it."""
        raise NotImplementedError(f"{type(self).__name__} must say how its simulator is configured")

    def raw_config(self, **overrides: Any) -> dict[str, Any]:
        """The simulator's ``adapter_config`` merged with the class's and these overrides."""
        return {**self._raw(), **self.overrides, **overrides}

    def config(self, raw: Mapping[str, Any]) -> AdapterConfig:
        """``raw`` decoded into the spec's config type, the way the config loader does."""
        config: AdapterConfig = msgspec.convert(
            dict(raw), self.spec.config_type, dec_hook=dec_hook(Path.cwd())
        )
        return config

    def secrets(self) -> list[str]:
        """The inline secret values of the simulator's adapter config (never to be shown)."""
        raw = self.raw_config()
        fields = secret_fields(self.spec.config_type)
        return [raw[f] for f in fields if isinstance(raw.get(f), str) and raw[f]]

    def bad_credentials(self) -> dict[str, str]:
        """Overrides that replace every Secret field with a wrong value."""
        fields = secret_fields(self.spec.config_type)
        if not fields:
            raise NotSupported(
                f"the {self.kind} config type has no Secret fields, so there are no "
                "credentials to get wrong"
            )
        return {name: f"kit-wrong-{name}-0f1e2d3c4b5a" for name in fields}

    def context(self, instance: str) -> AdapterContext:
        transport = httpx.ASGITransport(app=self.sim.app)
        return AdapterContext(
            connection="kit",
            instance=instance,
            http=HttpContext(transport=transport, clock=self.clock),
        )

    @asynccontextmanager
    async def open_adapter(
        self, factory: AdapterFactory | None = None, /, **overrides: Any
    ) -> AsyncIterator[AdapterT]:
        """``async with harness.open_adapter(**config_overrides) as adapter``: an adapter
        built by ``spec.factory`` (or the positional ``factory``, e.g. a deliberately broken
        subclass) on the simulator, with these config overrides, closed on exit."""
        config = self.config(self.raw_config(**overrides))
        build = factory or self.spec.factory
        adapter = build(config, self.context(config.name or self.kind))
        try:
            assert isinstance(adapter, self.protocol), (
                f"the {self.kind} factory built a {type(adapter).__name__}, which does not "
                f"implement brygga.adapters.{self.protocol.__name__}"
            )
            yield adapter
        finally:
            await adapter.aclose()


class ShopHarness(_Harness[ShopSimulator, ShopAdapter]):
    """A shop simulator and adapters of ``kind`` on it."""

    role = Role.SHOP
    protocol = ShopAdapter

    def _raw(self) -> dict[str, Any]:
        return dict(self.sim.adapter_config(self.base_url, name="kit"))


class ErpHarness(_Harness[ErpSimulator, ErpAdapter]):
    """An ERP simulator and adapters of ``kind`` on it."""

    role = Role.ERP
    protocol = ErpAdapter

    def _raw(self) -> dict[str, Any]:
        return dict(self.sim.adapter_config(self.base_url))
