"""Every command's --help: what it does and its exit codes."""

from __future__ import annotations

import argparse
import re

import pytest

from brygga.cli import build_parser, main


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser, bool]]:
    """(argv prefix, parser, has sub-actions) for every command and sub-command."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = _commands(sub, (*path, name))
                found.append(((*path, name), sub, bool(nested)))
                found += nested
    return found


COMMANDS = _commands(build_parser())


def test_every_command_is_covered() -> None:
    names = {" ".join(path) for path, _, _ in COMMANDS}
    assert {"run", "check", "status", "plugins", "demo", "errors list", "replay order"} <= names
    assert {"sync", "sync products"} <= names
    assert len(names) == 14


@pytest.mark.parametrize(
    ("path", "parser", "group"),
    [pytest.param(*command, id=" ".join(command[0])) for command in COMMANDS],
)
def test_help_has_a_description_and_the_exit_codes(
    path: tuple[str, ...],
    parser: argparse.ArgumentParser,
    group: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert parser.description and len(parser.description) > 40
    assert parser.description.split()[0] in text
    codes_part = text.split("\nexit codes:\n", 1)[1]
    codes = re.findall(r"^  (\d+)\s+\S", codes_part, re.M)
    assert "2" in codes  # usage errors, everywhere
    if not group:
        assert "0" in codes
    assert all(len(line) <= 60 for line in text.splitlines()), text
