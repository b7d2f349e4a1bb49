"""The e-conomic simulator keeps its own wire models: it never imports the adapter's modules.

A model shared by the adapter and its simulator hides a mistake both make (issue 7: the VAT
shortcut both sides shared made every order fail against a documented e-conomic).
"""

from __future__ import annotations

import ast
from pathlib import Path

import brygga_economic

PACKAGE = Path(brygga_economic.__file__).parent
#: the adapter side: the simulator may import none of these
ADAPTER_MODULES = frozenset(
    f"brygga_economic.{name}" for name in ("wire", "adapter", "api", "articles", "remote")
)


def simulator_modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.glob("*.py")
        if path.name.startswith("sim_") or path.name in ("simulator.py", "seed.py")
    )


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, ``from brygga_economic import wire`` as
    ``brygga_economic.wire``; relative imports resolved against the package."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = "brygga_economic" + (f".{base}" if base else "")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_the_simulator_modules_are_found() -> None:
    found = {path.name for path in simulator_modules()}
    assert {"simulator.py", "seed.py", "sim_state.py", "sim_routes.py", "sim_wire.py"} <= found


def test_no_simulator_module_imports_the_adapter_side() -> None:
    offenders = {
        path.name: sorted(imported(path) & ADAPTER_MODULES)
        for path in simulator_modules()
        if imported(path) & ADAPTER_MODULES
    }
    assert offenders == {}


def test_the_check_sees_every_import_form(tmp_path: Path) -> None:
    """The parser above would catch each way of importing the adapter's wire module."""
    forms = [
        "from brygga_economic.wire import encode_json",
        "from brygga_economic import wire",
        "import brygga_economic.wire",
        "from .wire import Product",
        "from . import adapter",
    ]
    for form in forms:
        path = tmp_path / "sim_x.py"
        path.write_text(form + "\n", encoding="utf-8")
        assert imported(path) & ADAPTER_MODULES, form
