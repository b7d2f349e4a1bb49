"""State files from other versions (first-hour QA): the commands that only look (`status`,
`errors`, `check`) never migrate an older file (an older daemon may run on it and would then
refuse it), nor do `replay` and `sync products` while a daemon holds it; a file from a newer
brygga is one line and exit 2 for every command, never a traceback nor `config OK`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from brygga.cli import main
from brygga.commands.common import open_state
from brygga.store import Store
from brygga.store.lock import DaemonLock
from brygga.store.schema import LATEST, file_version

CONFIG = """\
[daemon]
state = "state.db"
listen = "127.0.0.1:0"

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


def _state(tmp_path: Path, version: int) -> tuple[Path, Path]:
    """A config and its state file at schema ``version`` (7: as brygga 7 left it; above
    LATEST: as a newer brygga left it)."""
    config = tmp_path / "brygga.toml"
    config.write_text(CONFIG, encoding="utf-8")
    state = tmp_path / "state.db"

    async def create() -> None:
        await (await Store.open(state)).close()

    anyio.run(create, backend="asyncio")
    db = sqlite3.connect(state)
    with db:
        if version < LATEST:
            db.execute("DROP INDEX events_item")  # migration 8
            db.execute("DELETE FROM schema_migrations WHERE version > ?", (version,))
        else:
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'new', 'x')",
                (version,),
            )
    db.close()
    assert file_version(state) == version
    return config, state


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


LOOKING = [("status",), ("errors", "list"), ("errors", "show", "1"), ("check",)]


@pytest.mark.parametrize("command", LOOKING)
def test_looking_at_an_older_state_file_does_not_migrate_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    config, state = _state(tmp_path, 7)
    code, out, err = _run(capsys, *command, "-c", str(config))
    assert "Traceback" not in err
    assert code != 2 or command[:2] == ("errors", "show"), (out, err)  # no record 1: exit 2
    assert file_version(state) == 7
    if command == ("check",):
        assert "`brygga run` of this version migrates it" in out


@pytest.mark.parametrize(
    "command",
    [
        ("errors", "list"),
        ("status",),
        ("check", "--remote"),
        ("sync", "products", "--connection", "butiken", "--from", "erp", "--dry-run"),
    ],
)
def test_an_older_file_this_command_cannot_read_says_run_migrates_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
) -> None:
    """A file lacking a migration the readers need (not only an index): one line, exit 2."""
    config, state = _state(tmp_path, 7)
    monkeypatch.setattr("brygga.store.db.OPTIONAL_FOR_READERS", frozenset())
    code, _out, err = _run(capsys, *command, "-c", str(config))
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {state}: schema version 7")
    assert "`brygga run` of this version migrates" in lines[0]
    assert file_version(state) == 7


def test_a_replay_for_a_running_older_daemon_does_not_migrate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, state = _state(tmp_path, 7)
    with DaemonLock(state):  # the older daemon
        code, out, err = _run(
            capsys,
            *("replay", "order", "41", "--connection", "butiken", "--shop", "starweb"),
            *("--wait", "0", "-c", str(config)),
        )
    assert code == 0, (out, err)
    assert file_version(state) == 7


def _open_and_close(state: Path) -> None:
    async def go() -> None:
        await (await open_state(state, migrate=True)).close()

    anyio.run(go, backend="asyncio")


def test_the_commands_that_send_migrate_only_without_a_daemon(tmp_path: Path) -> None:
    _config, state = _state(tmp_path, 7)
    with DaemonLock(state):
        _open_and_close(state)
    assert file_version(state) == 7
    _open_and_close(state)
    assert file_version(state) == LATEST


EVERY = [
    ("check",),
    ("check", "--remote"),
    ("run",),
    ("status",),
    ("errors", "list"),
    ("sync", "products", "--connection", "butiken", "--from", "erp"),
    ("sync", "products", "--connection", "butiken", "--from", "erp", "--dry-run"),
    ("replay", "order", "41", "--connection", "butiken", "--shop", "starweb", "--wait", "0"),
]


@pytest.mark.parametrize("command", EVERY)
def test_a_newer_state_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    config, state = _state(tmp_path, LATEST + 1)
    code, out, err = _run(capsys, *command, "-c", str(config))
    assert code == 2, (out, err)
    assert err.splitlines() == [
        f"error: {state}: schema version {LATEST + 1}, but this brygga knows versions up to "
        f"{LATEST}; use a newer brygga (or restore a backup)"
    ]
    assert "config OK" not in out
    assert file_version(state) == LATEST + 1
