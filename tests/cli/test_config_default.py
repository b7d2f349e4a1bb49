"""Without -c: $BRYGGA_CONFIG, else /etc/brygga/brygga.toml, else one line saying so."""

from __future__ import annotations

from pathlib import Path

import pytest

from brygga import cli
from brygga.cli import main
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

#: every command that takes -c (check and status need a valid config; the others fail later)
COMMANDS = [
    ("run",),
    ("check",),
    ("status",),
    ("errors", "list"),
    ("errors", "show", "1"),
    ("errors", "retry", "--all"),
    ("errors", "resolve", "1", "--note", "x"),
    ("replay", "order", "--connection", "demo", "--shop", "se", "1"),
]


@pytest.fixture
def no_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $BRYGGA_CONFIG, and a default path that does not exist (yet)."""
    monkeypatch.delenv(cli.CONFIG_ENV, raising=False)
    default = tmp_path / "etc" / "brygga" / "brygga.toml"
    monkeypatch.setattr(cli, "DEFAULT_CONFIG", default)
    return default


def _config(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = toml_config(
        state="state.db",
        erp=EconomicSimulator(seed_catalog=False).adapter_config("https://eco.example"),
        shops=[StarwebSimulator(seed_catalog=False).adapter_config("https://s.example", name="se")],
        connection={"registers": {"price_lists": "off"}},
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_without_any_config_one_line_says_how_to_pass_one(
    argv: tuple[str, ...], no_default: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"error: no config file: -c not given, $BRYGGA_CONFIG not set, and {no_default} does "
        "not exist; pass the file with -c FILE\n"
    )


def test_the_default_path_is_the_one_the_systemd_unit_uses() -> None:
    unit = Path(__file__).parents[2] / "systemd" / "brygga.service"
    assert f"run -c {cli.DEFAULT_CONFIG}" in unit.read_text(encoding="utf-8")


def test_the_default_path_is_used(no_default: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _config(no_default)
    assert main(["status"]) == 0
    assert f"no state yet at {no_default.parent / 'state.db'}" in capsys.readouterr().out


def test_brygga_config_comes_before_the_default_and_c_before_both(
    tmp_path: Path,
    no_default: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _config(no_default)
    from_env = _config(tmp_path / "env" / "brygga.toml")
    given = _config(tmp_path / "given" / "brygga.toml")
    monkeypatch.setenv(cli.CONFIG_ENV, str(from_env))
    assert main(["status"]) == 0
    assert f"no state yet at {from_env.parent / 'state.db'}" in capsys.readouterr().out
    assert main(["status", "-c", str(given)]) == 0
    assert f"no state yet at {given.parent / 'state.db'}" in capsys.readouterr().out


def test_a_brygga_config_naming_no_file_is_an_error_not_a_fallback(
    tmp_path: Path,
    no_default: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _config(no_default)
    missing = tmp_path / "typo.toml"
    monkeypatch.setenv(cli.CONFIG_ENV, str(missing))
    assert main(["errors", "list"]) == 2
    assert capsys.readouterr().err == (
        f"error: no config file: $BRYGGA_CONFIG names {missing}, which does not exist; "
        "fix $BRYGGA_CONFIG or pass the file with -c FILE\n"
    )
