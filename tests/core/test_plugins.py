"""Plugin host and mappings: documented hooks, entry points, broken/disabled plugins, ordering."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from brygga import hookspecs
from brygga.adapters import (
    AdapterConfig,
    AdapterContext,
    AdapterSpec,
    Capabilities,
    LazySimulator,
    Role,
)
from brygga.clock import FakeClock
from brygga.errors import ConfigError, NothingToDo, PermanentError
from brygga.hookspecs import hookimpl
from brygga.mappings import Mapping, MappingContext, Skip, apply_mappings
from brygga.models import Customer, Order, OrderLine, Register
from brygga.plugins import PluginHost
from brygga.testing.conformance.harness import KIT_START, build_simulator, takes_keyword
from brygga_economic.simulator import EconomicSimulator
from brygga_fortnox.simulator import FortnoxSimulator
from brygga_hogia.simulator import HogiaSimulator
from brygga_norce.simulator import NorceSimulator
from brygga_prestashop.simulator import PrestashopSimulator
from brygga_specter.simulator import SpecterSimulator
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator
from brygga_tryton.simulator import TrytonSimulator
from brygga_vendure.simulator import VendureSimulator

# -- hookspecs are documented ----------------------------------------------------------------


def _hookspecs() -> dict[str, Callable[..., Any]]:
    return {
        name: obj
        for name, obj in vars(hookspecs).items()
        if callable(obj) and hasattr(obj, f"{hookspecs.PROJECT}_spec")
    }


def test_every_hookspec_and_argument_is_documented() -> None:
    specs = _hookspecs()
    assert specs, "no hookspecs found: the discovery in this test is broken"
    problems = []
    for name, spec in specs.items():
        if not name.startswith("brygga_"):
            problems.append(f"{name}: hook names start with brygga_")
        doc = inspect.getdoc(spec)
        if not doc:
            problems.append(f"{name}: no docstring")
            continue
        for param in inspect.signature(spec).parameters:
            if f":param {param}:" not in doc:
                problems.append(f"{name}: argument {param!r} is not documented (:param {param}:)")
    assert not problems, "\n".join(problems)


def test_the_host_knows_every_hookspec() -> None:
    host = PluginHost(entry_points=False)
    assert set(_hookspecs()) <= {name for name in dir(host.pm.hook) if name.startswith("brygga_")}


# -- first-party plugins through entry points ---------------------------------------------------


def test_first_party_adapters_load_through_entry_points() -> None:
    host = PluginHost()
    for name, module in (
        ("starweb", "brygga_starweb.plugin"),
        ("economic", "brygga_economic.plugin"),
        ("prestashop", "brygga_prestashop.plugin"),
        ("norce", "brygga_norce.plugin"),
        ("fortnox", "brygga_fortnox.plugin"),
        ("specter", "brygga_specter.plugin"),
        ("hogia", "brygga_hogia.plugin"),
        ("tryton", "brygga_tryton.plugin"),
        ("vendure", "brygga_vendure.plugin"),
    ):
        plugin = host.plugins[name]
        assert module in plugin.source, "the source names the entry point"
        assert not plugin.error
        assert not plugin.disabled
        assert plugin.adapters == [name]
    assert host.adapters["starweb"].role is Role.SHOP
    assert host.adapters["starweb"].plugin == "starweb"
    assert host.adapters["economic"].role is Role.ERP
    assert host.adapter("economic", Role.ERP, where="here").kind == "economic"
    shops = {kind for kind, spec in host.adapters.items() if spec.role is Role.SHOP}
    assert shops == {"starweb", "prestashop", "norce", "vendure"}


def test_no_adapter_note_denies_a_register_the_adapter_reads() -> None:
    # `brygga plugins` prints both; a note saying "price lists are not read" beside
    # `reads price_lists` (what the class implements) told operators the opposite of the truth
    for kind, spec in PluginHost().adapters.items():
        reads = spec.describe()["reads"]
        notes = " ".join(spec.capabilities.notes).lower()
        for register in reads:
            words = register.replace("_", " ")
            assert f"{words} are not read" not in notes, f"{kind}: a note denies {register}"
            assert f"{words} is not read" not in notes, f"{kind}: a note denies {register}"


def test_without_entry_points_nothing_is_installed() -> None:
    host = PluginHost(entry_points=False)
    assert host.plugins == {}
    with pytest.raises(ConfigError, match="installed: none"):
        host.adapter("starweb", Role.SHOP, where="here")


# -- simulators are loaded when built, not when the plugins load ----------------------------------

#: the first-party adapters added after Starweb and e-conomic
FIRST_PARTY_NEW = ("prestashop", "norce", "fortnox", "specter", "hogia", "tryton", "vendure")

#: modules the daemon's start path must not import: the simulator packages, the test kit (and
#: pytest, which its conformance suites import) and the demo with its progress bar
_NOT_AT_START = (
    "brygga_starweb.simulator",
    "brygga_economic.simulator",
    "brygga_prestashop.simulator",
    "brygga_norce.simulator",
    "brygga_fortnox.simulator",
    "brygga_specter.simulator",
    "brygga_hogia.simulator",
    "brygga_tryton.simulator",
    "brygga_tryton.realserver",
    "brygga_vendure.simulator",
    "brygga.testing",
    "pytest",
    "brygga.commands.demo",
    "tqdm",
)


def _not_at_start(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in _NOT_AT_START)


def test_the_daemons_start_path_imports_no_simulator_and_no_demo_code() -> None:
    code = (
        "import json, sys\n"
        "import brygga.cli, brygga.commands.run\n"
        "from brygga.plugins import PluginHost\n"
        "host = PluginHost()\n"
        "print(json.dumps({'adapters': sorted(host.adapters),"
        f" 'imported': [m for m in {_NOT_AT_START!r} if m in sys.modules]}}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout)
    assert {"economic", "starweb"} <= set(loaded["adapters"])
    assert loaded["imported"] == []


def test_brygga_plugins_loads_every_adapter_and_imports_no_simulator_module() -> None:
    """``python -X importtime`` lists every module a command imported, submodules included."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "brygga", "plugins"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    imported = [
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    adapters = {f"brygga_{kind}.adapter" for kind in ("starweb", "economic", *FIRST_PARTY_NEW)}
    assert adapters <= set(imported)
    assert [module for module in imported if _not_at_start(module)] == []


def test_brygga_plugins_with_a_config_shows_its_disabled_plugins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plugin template's README said `brygga plugins` shows a plugin named in
    disabled_plugins as disabled, but the command read no config; with -c it does."""
    from brygga.cli import main

    config = tmp_path / "brygga.toml"
    config.write_text('[daemon]\ndisabled_plugins = ["hogia"]\n', encoding="utf-8")
    assert main(["plugins", "-c", str(config)]) == 0
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[2:11]}
    assert rows["hogia"] == "disabled" and rows["starweb"] == "loaded"
    assert main(["plugins"]) == 0  # without -c: no config read
    assert "disabled" not in capsys.readouterr().out.split("adapters:")[0]
    assert main(["plugins", "-c", str(tmp_path / "missing.toml")]) == 2


def test_first_party_simulators_are_lazy_and_resolve() -> None:
    simulators: list[tuple[str, type]] = [
        ("starweb", StarwebSimulator),
        ("economic", EconomicSimulator),
        ("prestashop", PrestashopSimulator),
        ("norce", NorceSimulator),
        ("fortnox", FortnoxSimulator),
        ("specter", SpecterSimulator),
        ("hogia", HogiaSimulator),
        ("tryton", TrytonSimulator),
        ("vendure", VendureSimulator),
    ]
    for kind, cls in simulators:
        simulator = PluginHost().adapters[kind].simulator
        assert isinstance(simulator, LazySimulator), kind
        assert simulator.load() is cls


def test_a_lazy_simulator_builds_the_class_it_names_with_the_options() -> None:
    simulator = LazySimulator("brygga_starweb.simulator:StarwebSimulator")(seed=3, page_size=7)
    assert isinstance(simulator, StarwebSimulator)


def test_a_lazy_simulator_names_module_and_attribute() -> None:
    with pytest.raises(
        ValueError, match=re.escape("'brygga_starweb.simulator'): expected 'module")
    ):
        LazySimulator("brygga_starweb.simulator")


def test_a_lazy_simulator_that_is_not_there_names_the_target() -> None:
    with pytest.raises(ImportError, match=re.escape("'brygga_starweb.simulator:Nope'")):
        LazySimulator("brygga_starweb.simulator:Nope")()
    with pytest.raises(ImportError, match="'no_such_module:Sim': No module named"):
        LazySimulator("no_such_module:Sim").load()


def test_the_conformance_kit_looks_at_the_class_a_lazy_simulator_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "class Simulator:\n    def __init__(self, seed: int = 0) -> None:\n"
    source += "        self.seed = seed\n"
    (tmp_path / "brygga_clockless_sim.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    clockless = LazySimulator("brygga_clockless_sim:Simulator")
    try:
        assert not takes_keyword(clockless, "clock")
        simulator, on_clock = build_simulator(
            replace(_spec(), simulator=clockless), FakeClock(KIT_START), {"seed": 4}
        )
        assert simulator.seed == 4 and on_clock is None
    finally:
        sys.modules.pop("brygga_clockless_sim", None)
    assert takes_keyword(LazySimulator("brygga_economic.simulator:EconomicSimulator"), "clock")


# -- in-process plugins ----------------------------------------------------------------------------


class _FakeConfig(AdapterConfig, kw_only=True):
    kind: str = "fake"


def _spec(kind: str = "fake", role: Role = Role.SHOP) -> AdapterSpec:
    def factory(config: Any, context: AdapterContext) -> Any:
        raise AssertionError("not built in these tests")

    return AdapterSpec(
        kind=kind,
        role=role,
        config_type=_FakeConfig,
        capabilities=Capabilities(),
        factory=factory,
        adapter=StarwebAdapter,  # a real shop class: these specs are never built
        description="a fake",
    )


class _AdapterPlugin:
    def __init__(self, *specs: Any) -> None:
        self.specs = specs

    @hookimpl
    def brygga_register_adapters(self, register: Callable[[AdapterSpec], None]) -> None:
        for spec in self.specs:
            register(spec)


class _MappingPlugin:
    def __init__(self, *mappings: Any) -> None:
        self.mappings = mappings
        self.settings: dict[str, Any] | None = None

    @hookimpl
    def brygga_register_mappings(self, register: Callable[[Mapping], None]) -> None:
        for mapping in self.mappings:
            register(mapping)

    @hookimpl
    def brygga_startup(self, settings: dict[str, Any]) -> None:
        self.settings = settings


def _identity(order: Order, context: MappingContext) -> Order:
    return order


def test_extra_plugin_registers_an_adapter_and_a_mapping() -> None:
    mapping = Mapping(name="noop", register=Register.ORDERS, transform=_identity)
    host = PluginHost(
        entry_points=False,
        extra=[("fakes", _AdapterPlugin(_spec())), ("maps", _MappingPlugin(mapping))],
    )
    assert host.plugins["fakes"].source == "in-process"
    assert host.plugins["fakes"].adapters == ["fake"]
    assert host.plugins["maps"].mappings == ["noop"]
    spec = host.adapter("fake", Role.SHOP, where="here")
    assert spec.plugin == "fakes", "the host stamps the registering plugin"
    assert [(m.name, m.plugin) for m in host.mappings] == [("noop", "maps")]


def test_extra_plugins_load_beside_entry_points() -> None:
    host = PluginHost(extra=[("fakes", _AdapterPlugin(_spec()))])
    assert {"starweb", "economic", "fake"} <= set(host.adapters)


def test_startup_passes_the_plugin_settings() -> None:
    plugin = _MappingPlugin()
    host = PluginHost(entry_points=False, extra=[("maps", plugin)])
    host.startup({"maps": {"prefix": "SE-"}})
    assert plugin.settings == {"maps": {"prefix": "SE-"}}


def test_wrong_role_is_a_config_error() -> None:
    host = PluginHost(entry_points=False, extra=[("fakes", _AdapterPlugin(_spec()))])
    with pytest.raises(ConfigError, match="'fake' is a shop adapter, not an ERP adapter"):
        host.adapter("fake", Role.ERP, where="here")


def test_same_kind_twice_names_the_first_plugin() -> None:
    host = PluginHost(
        entry_points=False,
        extra=[("first", _AdapterPlugin(_spec())), ("second", _AdapterPlugin(_spec()))],
    )
    assert not host.plugins["first"].error
    assert host.plugins["second"].error == (
        "registering adapters failed: PluginError: adapter kind 'fake' is already registered "
        "by plugin 'first'"
    )
    assert host.adapters["fake"].plugin == "first"
    assert host.plugins["second"].adapters == []


def test_same_kind_as_a_first_party_plugin_is_refused() -> None:
    host = PluginHost(extra=[("impostor", _AdapterPlugin(_spec("starweb")))])
    assert host.adapters["starweb"].plugin == "starweb"
    assert "already registered by plugin 'starweb'" in host.plugins["impostor"].error


def test_registering_something_else_is_recorded() -> None:
    host = PluginHost(
        entry_points=False,
        extra=[("odd", _AdapterPlugin("not a spec")), ("maps", _MappingPlugin(42))],
    )
    assert "expected an AdapterSpec, got str" in host.plugins["odd"].error
    assert "expected a Mapping, got int" in host.plugins["maps"].error


def test_a_hook_that_raises_is_recorded_and_others_load() -> None:
    class Exploding:
        @hookimpl
        def brygga_register_adapters(self, register: Callable[[AdapterSpec], None]) -> None:
            raise RuntimeError("kaboom")

    host = PluginHost(extra=[("exploding", Exploding())])
    assert "RuntimeError: kaboom" in host.plugins["exploding"].error
    assert {"starweb", "economic"} <= set(host.adapters)


# -- broken and disabled entry points ------------------------------------------------------------


@pytest.fixture
def broken_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An installed distribution whose ``brygga`` entry point imports a module that raises."""
    dist = tmp_path / "brygga_broken_test-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: brygga-broken-test\nVersion: 0.1\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[brygga]\nbroken = brygga_broken_test_mod\n", encoding="utf-8"
    )
    (tmp_path / "brygga_broken_test_mod.py").write_text(
        'raise RuntimeError("cannot import the vendor SDK")\n', encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # also invalidates the import caches
    yield "broken"
    sys.modules.pop("brygga_broken_test_mod", None)
    monkeypatch.undo()
    importlib.invalidate_caches()


def test_broken_entry_point_is_recorded_and_others_still_load(broken_entry_point: str) -> None:
    host = PluginHost()
    broken = host.plugins[broken_entry_point]
    assert "RuntimeError: cannot import the vendor SDK" in broken.error
    assert "brygga-broken-test" in broken.source
    assert "brygga_broken_test_mod" in broken.source
    assert {"starweb", "economic"} <= set(host.adapters)
    with pytest.raises(ConfigError) as info:
        host.adapter("broken", Role.SHOP, where="brygga.toml: connection[0].shops[0].kind")
    message = str(info.value)
    assert message.startswith("brygga.toml: connection[0].shops[0].kind: ")
    assert "plugins that failed to load: broken: RuntimeError" in message


def test_broken_entry_point_can_be_disabled(broken_entry_point: str) -> None:
    host = PluginHost(disabled=[broken_entry_point])
    assert host.plugins[broken_entry_point].disabled
    assert not host.plugins[broken_entry_point].error


def test_broken_entry_point_is_gone_after_the_fixture() -> None:
    assert "broken" not in PluginHost().plugins


def test_disabled_plugin_is_not_loaded() -> None:
    host = PluginHost(disabled=["starweb"])
    assert host.plugins["starweb"].disabled
    assert host.plugins["starweb"].adapters == []
    assert "starweb" not in host.adapters
    assert "economic" in host.adapters
    with pytest.raises(ConfigError, match=r"plugin 'starweb' is disabled"):
        host.adapter("starweb", Role.SHOP, where="here")


def test_disabled_extra_plugin_is_not_registered() -> None:
    host = PluginHost(
        entry_points=False, disabled=["fakes"], extra=[("fakes", _AdapterPlugin(_spec()))]
    )
    assert host.plugins["fakes"].disabled
    assert "fake" not in host.adapters


# -- mappings -----------------------------------------------------------------------------------


def _order(**changes: Any) -> Order:
    now = datetime(2024, 5, 1, 10, tzinfo=UTC)
    values: dict[str, Any] = {
        "shop_order_id": "1001",
        "created_at": now,
        "modified_at": now,
        "status": "paid",
        "currency": "SEK",
        "customer": Customer(email="a@example.se"),
        "lines": (
            OrderLine(sku="A1", quantity=Decimal(1), unit_price=Decimal(100), vat_rate=Decimal(25)),
        ),
        "total": Decimal(125),
        "total_vat": Decimal(25),
    }
    values.update(changes)
    return Order(**values)


CONTEXT = MappingContext(connection="butiken", shop="se", erp="economic", register=Register.ORDERS)


def _noting(mark: str) -> Callable[[Order, MappingContext], Order]:
    def transform(order: Order, context: MappingContext) -> Order:
        return msgspec.structs.replace(order, note=order.note + mark)

    return transform


def test_mappings_run_in_order() -> None:
    mappings = [
        Mapping(name="late", register=Register.ORDERS, transform=_noting("c"), order=300),
        Mapping(name="early", register=Register.ORDERS, transform=_noting("a"), order=10),
        Mapping(name="middle", register=Register.ORDERS, transform=_noting("b")),
        Mapping(name="stock-only", register=Register.STOCK, transform=_noting("x"), order=1),
    ]
    assert apply_mappings(_order(), mappings, CONTEXT).note == "abc"


def test_same_order_runs_by_name() -> None:
    mappings = [
        Mapping(name="b", register=Register.ORDERS, transform=_noting("2")),
        Mapping(name="a", register=Register.ORDERS, transform=_noting("1")),
    ]
    assert apply_mappings(_order(), mappings, CONTEXT).note == "12"


def test_no_mappings_return_the_object_unchanged() -> None:
    order = _order()
    assert apply_mappings(order, [], CONTEXT) is order


def test_skip_becomes_nothing_to_do_with_the_reason() -> None:
    def skip(order: Order, context: MappingContext) -> Order:
        raise Skip("tagged no-erp")

    mappings = [
        Mapping(name="skipper", register=Register.ORDERS, transform=skip, order=1),
        Mapping(name="never", register=Register.ORDERS, transform=_noting("!")),
    ]
    with pytest.raises(NothingToDo) as info:
        apply_mappings(_order(), mappings, CONTEXT)
    assert "tagged no-erp" in str(info.value)
    assert "'skipper'" in str(info.value)


def test_exception_in_a_transform_becomes_a_permanent_error_naming_the_mapping() -> None:
    def broken(order: Order, context: MappingContext) -> Order:
        return {"sku": order.lines[5]}  # type: ignore[return-value]

    mapping = Mapping(name="vat-type", register=Register.ORDERS, transform=broken, plugin="acme")
    with pytest.raises(PermanentError) as info:
        apply_mappings(_order(), [mapping], CONTEXT)
    message = str(info.value)
    assert "mapping 'vat-type' (acme) failed" in message
    assert "IndexError" in message


def test_returning_the_wrong_type_is_an_error() -> None:
    def to_dict(order: Order, context: MappingContext) -> Any:
        return msgspec.structs.asdict(order)

    def to_none(order: Order, context: MappingContext) -> Any:
        return None

    for transform in (to_dict, to_none):
        mapping = Mapping(name="sloppy", register=Register.ORDERS, transform=transform)
        with pytest.raises(PermanentError, match=r"mapping 'sloppy' returned \w+, expected Order"):
            apply_mappings(_order(), [mapping], CONTEXT)


def test_mappings_registered_by_plugins_run_through_apply_mappings() -> None:
    plugin = _MappingPlugin(
        Mapping(name="second", register=Register.ORDERS, transform=_noting("2"), order=2),
        Mapping(name="first", register=Register.ORDERS, transform=_noting("1"), order=1),
    )
    host = PluginHost(entry_points=False, extra=[("maps", plugin)])
    assert apply_mappings(_order(), host.mappings, CONTEXT).note == "12"
