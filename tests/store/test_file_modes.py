"""The state file, its WAL and shared-memory files and the daemon's lock are private (0600)
whatever the umask of whoever starts the daemon: they hold customers' names and addresses."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from brygga.store import Store
from brygga.store.lock import DaemonLock

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[0o000, 0o022, 0o277])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """A permissive umask (files would be world-writable), the usual one, and a strange one
    (files would lack the owner's write bit)."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


async def test_a_new_state_file_and_its_wal_are_0600(tmp_path: Path, umask: int) -> None:
    state = tmp_path / "state.db"
    with DaemonLock(state) as lock:
        store = await Store.open(state)
        try:
            await store.db.execute("CREATE TABLE probe (x INTEGER)")  # the WAL gets written
            wal, shm = state.with_name("state.db-wal"), state.with_name("state.db-shm")
            assert wal.exists() and shm.exists(), "WAL mode keeps both beside the state file"
            modes = {p.name: _mode(p) for p in (state, wal, shm, lock.path)}
        finally:
            await store.close()
    assert modes == dict.fromkeys(modes, "0o600")


async def test_an_existing_state_file_keeps_its_mode(tmp_path: Path, umask: int) -> None:
    # an operator may have opened it to a group on purpose (e.g. for `brygga status`)
    state = tmp_path / "state.db"
    store = await Store.open(state)
    await store.close()
    state.chmod(0o640)
    store = await Store.open(state)
    await store.close()
    assert _mode(state) == "0o640"
