"""`[daemon] state = "~/state.db"` is the state file in the home folder, as in a shell (first-hour
QA: brygga made a folder literally named `~` beside the config and kept the state there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brygga.cli import main

CONFIG = """\
[daemon]
state = "{state}"

[[connection]]
name = "butiken"

[connection.erp]
kind = "economic"
app_secret_token = "app-token"
agreement_grant_token = "grant-token"

[[connection.shops]]
kind = "starweb"
base_url = "https://butiken.starwebserver.se/api/v2"
client_id = "client"
client_secret = "secret"
"""


def _config(tmp_path: Path, state: str) -> Path:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "brygga.toml"
    path.write_text(CONFIG.format(state=state), encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_state_path_with_a_tilde_is_in_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    config = _config(tmp_path, "~/brygga/state.db")
    code, out, err = _run(capsys, "check", "-c", str(config))
    assert code == 0, err
    assert f"state file {home / 'brygga' / 'state.db'}" in out
    code, out, _err = _run(capsys, "status", "-c", str(config))
    assert f"no state yet at {home / 'brygga' / 'state.db'}" in out
    # a replay for the daemon writes the state file: there, and no folder named ~ anywhere
    code, out, err = _run(
        capsys,
        *("replay", "order", "41", "--connection", "butiken", "--shop", "starweb"),
        *("-c", str(config)),
    )
    assert code == 0, (out, err)
    assert (home / "brygga" / "state.db").is_file()
    assert not (config.parent / "~").exists()


def test_an_unknown_users_home_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "~no-such-brygga-user/state.db")
    code, _out, err = _run(capsys, "check", "-c", str(config))
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and "~no-such-brygga-user" in lines[0] and "full path" in lines[0]
    assert not (config.parent / "~no-such-brygga-user").exists()
