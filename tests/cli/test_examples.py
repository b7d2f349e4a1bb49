"""The example configs in contrib/examples pass `brygga check` with their secrets provided."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from brygga.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "contrib" / "examples"


def _secrets(example: Path) -> tuple[set[str], set[str]]:
    """The environment variables and secret files an example refers to."""
    env_names: set[str] = set()
    files: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            if set(value) == {"env"}:
                env_names.add(value["env"])
            elif set(value) == {"file"}:
                files.add(value["file"])
            else:
                for item in value.values():
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(tomllib.loads(example.read_text(encoding="utf-8")))
    return env_names, files


def test_examples_exist() -> None:
    assert {p.name for p in EXAMPLES.glob("*.toml")} >= {"butiken.toml", "multishop.toml"}


@pytest.mark.parametrize("name", ["butiken.toml", "multishop.toml"])
def test_example_passes_check(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = EXAMPLES / name
    env_names, files = _secrets(example)
    assert env_names and files, "the examples show both kinds of secret reference"
    for env_name in env_names:
        monkeypatch.setenv(env_name, f"test-{env_name.lower()}")
    for file_name in files:
        (tmp_path / file_name).write_text(f"test-{file_name}\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))

    code = main(["check", "-c", str(example)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.rstrip().endswith("config OK")
    assert "warning" not in err
    assert not re.search(r"^\s+orders\s+-", out, re.M), "orders flow in every example"


def test_multishop_example_has_two_shops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = EXAMPLES / "multishop.toml"
    env_names, files = _secrets(example)
    for env_name in env_names:
        monkeypatch.setenv(env_name, "x")
    for file_name in files:
        (tmp_path / file_name).write_text("x", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert main(["check", "-c", str(example)]) == 0
    out = capsys.readouterr().out
    assert "erp economic, shops se (starweb), no (starweb)" in out


def test_example_without_its_secrets_names_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = EXAMPLES / "butiken.toml"
    env_names, _ = _secrets(example)
    for env_name in env_names:
        monkeypatch.delenv(env_name, raising=False)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert main(["check", "-c", str(example)]) == 2
    err = capsys.readouterr().err
    assert "connection[0].erp.app_secret_token: environment variable ECO_APP_SECRET_TOKEN" in err
