"""brygga.testing is the one home of test support: its names load on use, the daemon never
imports it, and a simulator importing what simulators share pulls in neither store nor pytest."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import brygga
import brygga.testing

DAEMON = Path(brygga.__file__).parent
#: the daemon's modules that may import the kit: the kit itself, and the demo (it runs the
#: simulators and writes their config)
KIT_USERS = ("testing/", "commands/demo.py")


def test_every_public_name_is_the_object_of_its_module() -> None:
    for name in brygga.testing.__all__:
        home = importlib.import_module(f"brygga.testing.{brygga.testing._HOME[name]}")
        assert getattr(brygga.testing, name) is getattr(home, name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match=re.escape("'brygga.testing' has no attribute 'Nope'")):
        _ = brygga.testing.Nope


def test_what_simulators_share_loads_without_the_store_or_pytest() -> None:
    code = (
        "import json, sys\n"
        "import brygga.testing.simulators, brygga_starweb.simulator, brygga_economic.simulator\n"
        "heavy = ('pytest', 'brygga.store', 'brygga.sync', 'brygga.testing.conformance')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def _imports_of_the_kit(path: Path) -> list[int]:
    """Lines of ``path`` that import brygga.testing outside an ``if TYPE_CHECKING:`` block."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    lines = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        if any(name == "brygga.testing" or name.startswith("brygga.testing.") for name in names):
            lines.append(node.lineno)
    return lines


def test_no_daemon_module_imports_the_kit() -> None:
    offenders = {
        str(path.relative_to(DAEMON)): lines
        for path in DAEMON.rglob("*.py")
        if not str(path.relative_to(DAEMON)).startswith(KIT_USERS)
        and (lines := _imports_of_the_kit(path))
    }
    assert offenders == {}


def test_the_import_check_sees_the_forms_and_skips_type_checking(tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    for form in (
        "from brygga.testing import Fault",
        "from brygga.testing.simulators import Fault",
        "import brygga.testing.process",
        "from brygga import testing",
        "def f():\n    from brygga.testing import Fault",
    ):
        path.write_text(form + "\n", encoding="utf-8")
        assert _imports_of_the_kit(path), form
    path.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from brygga.testing import Fault\n",
        encoding="utf-8",
    )
    assert _imports_of_the_kit(path) == []
