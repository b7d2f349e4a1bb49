"""A state file deleted under the running daemon is said in the log and fails /readyz.

Operator QA: `rm state.db*` while the daemon ran left no log line, /readyz answered ready and
the metrics looked normal; only `brygga status` noticed. The daemon kept writing to the
unlinked file, so everything it recorded from then on was lost at its stop.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from brygga.runtime.state_watch import StateFileWatch


def test_a_deleted_or_replaced_file_is_not_ok_and_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state.db"
    state.write_bytes(b"x")
    watch = StateFileWatch(state)
    assert watch.ok()
    state.unlink()
    try:
        _gone(watch, state, caplog)
    finally:
        watch.close()


def _gone(watch: StateFileWatch, state: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        assert not watch.ok()
        assert not watch.ok()
    said = [r for r in caplog.records if "is gone or was replaced" in r.getMessage()]
    assert len(said) == 1 and str(state) in said[0].getMessage()
    state.write_bytes(b"a new file at the old path")  # another inode: still not the daemon's
    assert not watch.ok()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the store needs asyncio
async def test_the_daemons_readyz_says_state_file_when_it_is_gone(tmp_path: Path) -> None:
    from brygga.http.app import create_app
    from brygga.metrics import Metrics

    state = tmp_path / "state.db"
    state.write_bytes(b"x")
    watch = StateFileWatch(state)
    app = create_app(Metrics(), ready_checks=lambda: {"store": True, "state_file": watch.ok()})
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://daemon"
        ) as client:
            assert (await client.get("/readyz")).status_code == 200
            state.unlink()
            answer = await client.get("/readyz")
    finally:
        watch.close()
    assert answer.status_code == 503 and answer.json()["not_ready"] == ["state_file"]
