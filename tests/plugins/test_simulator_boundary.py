"""A plugin's simulator keeps its own wire models: nothing in ``simulator/`` imports the adapter.

A model shared by the adapter and its simulator hides a mistake both make (issue 7: the VAT
shortcut both sides shared made every order fail against a documented e-conomic). The
simulator subpackage may import its own modules, brygga and libraries, never another module
of its plugin.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import brygga_economic
import brygga_fortnox
import brygga_hogia
import brygga_norce
import brygga_prestashop
import brygga_specter
import brygga_starweb
import brygga_tryton
import brygga_vendure

PLUGINS = {
    "brygga_economic": brygga_economic,
    "brygga_starweb": brygga_starweb,
    "brygga_prestashop": brygga_prestashop,
    "brygga_norce": brygga_norce,
    "brygga_fortnox": brygga_fortnox,
    "brygga_specter": brygga_specter,
    "brygga_hogia": brygga_hogia,
    "brygga_tryton": brygga_tryton,
    "brygga_vendure": brygga_vendure,
}


def simulator_modules(plugin: str) -> list[Path]:
    return sorted((Path(PLUGINS[plugin].__file__).parent / "simulator").glob("*.py"))


def imported(path: Path, package: str) -> set[str]:
    """Every module ``path`` (a module of ``package``) imports: ``from brygga_economic import
    wire`` as ``brygga_economic.wire``, relative imports resolved against ``package``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = parent + (f".{base}" if base else "")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def adapter_side(names: set[str], plugin: str) -> set[str]:
    """The modules of ``plugin`` outside its simulator subpackage among ``names``."""
    return {
        name
        for name in names
        if name.startswith(f"{plugin}.") and not name.startswith(f"{plugin}.simulator")
    }


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_the_simulator_modules_are_found(plugin: str) -> None:
    """The glob sees the simulator package (so the import check below has files to read)."""
    found = {path.name for path in simulator_modules(plugin)}
    assert "__init__.py" in found and len(found) >= 3, found


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_no_simulator_module_imports_the_adapter_side(plugin: str) -> None:
    offenders = {
        path.name: sorted(adapter_side(imported(path, f"{plugin}.simulator"), plugin))
        for path in simulator_modules(plugin)
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_check_sees_every_import_form(tmp_path: Path) -> None:
    """The parser above would catch each way of importing the adapter's wire module, and
    lets a simulator import its own modules."""
    forms = [
        "from brygga_economic.wire import encode_json",
        "from brygga_economic import wire",
        "import brygga_economic.wire",
        "from ..wire import Product",
        "from .. import adapter",
    ]
    path = tmp_path / "x.py"
    for form in forms:
        path.write_text(form + "\n", encoding="utf-8")
        names = imported(path, "brygga_economic.simulator")
        assert adapter_side(names, "brygga_economic"), form
    own = [
        "from brygga_economic.simulator.wire import to_json",
        "from brygga_economic.simulator import seed",
        "from .wire import to_json",
        "from . import seed",
        "import brygga.testing.simulators",
    ]
    for form in own:
        path.write_text(form + "\n", encoding="utf-8")
        names = imported(path, "brygga_economic.simulator")
        assert not adapter_side(names, "brygga_economic"), form
