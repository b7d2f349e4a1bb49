"""Checking the state path in a process whose store is open keeps that store's WAL.

The daemon checks its config again on SIGHUP, with its store open. Closing any descriptor of
the database file drops every POSIX lock the process holds on it, SQLite's included; a CLI
command (another process) that opened and closed the file next then took itself for the last
user and deleted the daemon's WAL, so the two wrote to different copies from then on (found
by an operator QA pass: `errors retry` after a reload was never seen by the daemon).
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from brygga.config import state_path_problem
from brygga.store import Store

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

#: what `brygga status` does to the file, in short: open, read, close
_OTHER_PROCESS = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1])\n"
    "c.execute('SELECT count(*) FROM sqlite_master').fetchone()\n"
    "c.close()\n"
)


async def test_a_state_path_check_beside_an_open_store_keeps_its_wal(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    wal = state.with_name("state.db-wal")
    async with await Store.open(state) as store:
        await store.cursors.set("c", "se", "orders", "41", NOW)
        assert wal.exists()
        assert state_path_problem(state) is None  # as on a reload
        await anyio.run_process([sys.executable, "-c", _OTHER_PROCESS, str(state)])
        assert wal.exists(), "another process's close deleted the open store's WAL"
        await store.cursors.set("c", "se", "orders", "42", NOW)
    async with await Store.open(state) as again:
        assert await again.cursors.get("c", "se", "orders") == "42"


def test_a_file_that_is_not_sqlite_is_still_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("[daemon]\nstate = 'x'\n" * 20)
    problem = state_path_problem(junk)
    assert problem is not None and "not a brygga state file" in problem
    empty = tmp_path / "empty.db"
    empty.touch()
    assert state_path_problem(empty) is None  # a new, empty file becomes the store


def test_a_relative_state_path_that_exists_is_probed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-c brygga.toml` with `state = "state.db"`: the path stays relative (first-hour QA: every
    command after the first crashed with "relative path can't be expressed as a file URI")."""
    sqlite3.connect(tmp_path / "state.db").close()
    (tmp_path / "junk.db").write_text("not a database at all\n" * 20)
    monkeypatch.chdir(tmp_path)
    assert state_path_problem(Path("state.db")) is None
    problem = state_path_problem(Path("junk.db"))
    assert problem is not None and "not a brygga state file" in problem


def test_a_state_file_on_a_read_only_filesystem_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Operator QA: on a read-only mount the message blamed the user and the permissions.
    (The mount is faked: the test may not run as root.)"""
    import os
    from types import SimpleNamespace

    state = tmp_path / "state.db"
    sqlite3.connect(state).close()
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_flag=os.ST_RDONLY))
    problem = state_path_problem(state)
    assert problem is not None and "read-only filesystem" in problem and "uid" not in problem
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_flag=0))
    problem = state_path_problem(state)
    assert problem is not None and "cannot be read and written by this user" in problem
