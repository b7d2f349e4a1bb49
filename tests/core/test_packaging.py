"""The brygga wheel: Apache-2.0 as an SPDX expression with the licence text, typed packages,
and a daemon that needs no demo-only dependency."""

from __future__ import annotations

import re
from email.message import Message
from pathlib import Path

import pytest
from packaging_support import ROOT, brygga_wheel, wheel_files, wheel_metadata

TEMPLATE = ROOT / "contrib" / "plugin-template"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return brygga_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def metadata(wheel: Path) -> Message:
    return wheel_metadata(wheel)


def test_the_licence_is_the_apache_2_text_in_the_root_and_the_template() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert re.match(r"\s*Apache License\s+Version 2\.0, January 2004\s", text)
    assert "END OF TERMS AND CONDITIONS" in text
    assert (TEMPLATE / "LICENSE").read_text(encoding="utf-8") == text


def test_the_wheel_states_the_licence_as_an_spdx_expression(metadata: Message) -> None:
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["License"] is None, "the deprecated free-text field is gone"
    assert metadata.get_all("License-File") == ["LICENSE"]


def test_the_wheel_ships_the_licence_text(wheel: Path) -> None:
    files = wheel_files(wheel)
    licences = [name for name in files if name.endswith(".dist-info/licenses/LICENSE")]
    assert licences, sorted(files)
    assert files[licences[0]] == (ROOT / "LICENSE").read_bytes()


def test_the_wheel_holds_the_typed_packages_and_nothing_else(wheel: Path) -> None:
    files = wheel_files(wheel)
    top = {name.split("/")[0] for name in files if ".dist-info/" not in name}
    first_party = (
        *("starweb", "economic", "prestashop", "norce", "fortnox", "specter", "hogia"),
        *("tryton", "vendure"),
    )
    assert top == {"brygga", *(f"brygga_{kind}" for kind in first_party)}
    for package in top:
        assert f"{package}/py.typed" in files, f"{package} ships no py.typed: mypy ignores it"


def test_tqdm_is_a_dependency_of_the_command_line(metadata: Message) -> None:
    # `brygga sync products` shows its progress with tqdm: a plain install must have it
    requires = metadata.get_all("Requires-Dist") or []
    tqdm = [r for r in requires if re.match(r"tqdm\b", r)]
    assert any("extra" not in r for r in tqdm), tqdm
    # the README's first command installs .[dev]; dev brings the demo extra along
    assert any(re.match(r"brygga\[demo\].*extra\s*==\s*[\"']dev[\"']", r) for r in requires)
    assert "demo" in (metadata.get_all("Provides-Extra") or [])
