"""The Norce simulator keeps its own wire models: nothing in ``simulator/`` imports the adapter
(the rule tests/plugins/test_simulator_boundary.py enforces for the listed plugins)."""

from __future__ import annotations

import ast
from pathlib import Path

import brygga_norce

SIMULATOR = Path(brygga_norce.__file__).parent / "simulator"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.add("brygga_norce.simulator" if node.level == 1 else "brygga_norce")
            names.add(node.module or "")
    return names


def test_no_simulator_module_imports_the_adapter_side() -> None:
    modules = sorted(SIMULATOR.glob("*.py"))
    assert {"__init__.py", "seed.py", "state.py", "http.py"} <= {p.name for p in modules}
    for path in modules:
        adapter_side = {
            name
            for name in _imports(path)
            if (name == "brygga_norce" or name.startswith("brygga_norce."))
            and not name.startswith("brygga_norce.simulator")
        }
        assert not adapter_side, f"{path.name} imports {sorted(adapter_side)}"
