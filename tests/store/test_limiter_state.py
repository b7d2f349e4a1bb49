"""The rate limiters' memory in the state file (brygga.store.limiters, migration 7)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

import brygga.store.db
import brygga.store.limiters
from brygga.store import LimiterRun, SavedWindow, Store
from brygga.store.schema import MIGRATIONS

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T = NOW.timestamp()


def _window(account: str, *sends: float, allowed: float = 10.0) -> SavedWindow:
    return SavedWindow(
        account=account,
        sends=tuple(sends),
        paused_until=None,
        allowed=allowed,
        slow_start=False,
        limit_requests=10,
        limit_seconds=1.0,
    )


async def test_a_new_state_file_starts_with_a_clean_stop(store: Store) -> None:
    memory = await store.limiters.load()
    assert memory.windows == {}
    assert memory.run is not None and memory.run.stopped_at is not None
    assert memory.run.unknown_until is None


async def test_a_file_with_work_from_an_older_brygga_has_no_stop_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # its daemon may have sent requests just before the upgrade: nothing says it stopped
    path = tmp_path / "state.db"
    before = next(i for i, (version, _, _) in enumerate(MIGRATIONS) if version == 7)
    with monkeypatch.context() as patch:
        patch.setattr(brygga.store.db, "MIGRATIONS", MIGRATIONS[:before])
        async with await Store.open(path) as store:
            await store.cursors.set("c", "se", "orders", "42", NOW)
    async with await Store.open(path) as store:
        assert (await store.limiters.load()).run is None


async def test_windows_and_the_run_round_trip(store: Store) -> None:
    await store.limiters.begin("run-1", NOW, unknown_until=T - 3.0)
    saved = SavedWindow(
        account="erp.test#0123456789abcdef",
        sends=(T - 0.75, T - 0.5, T - 0.125),
        paused_until=T + 30.0,
        allowed=7.5,
        slow_start=True,
        limit_requests=25,
        limit_seconds=5.0,
    )
    await store.limiters.save([saved], NOW, lease_until=T + 10.0)
    memory = await store.limiters.load()
    assert memory.windows == {saved.account: saved}
    assert memory.run == LimiterRun(
        run_id="run-1", started_at=NOW, lease_until=T + 10.0, unknown_until=T - 3.0, stopped_at=None
    )


async def test_begin_marks_a_running_process_without_a_lease(store: Store) -> None:
    await store.limiters.save([], NOW, lease_until=T + 10.0, stopped=True)
    await store.limiters.begin("run-2", NOW, unknown_until=None)
    run = (await store.limiters.load()).run
    assert run is not None
    assert run.run_id == "run-2" and run.stopped_at is None and run.lease_until == 0.0


async def test_a_lease_only_grows(store: Store) -> None:
    await store.limiters.begin("run-1", NOW, unknown_until=None)
    await store.limiters.renew(T + 10.0)
    await store.limiters.renew(T + 5.0)
    await store.limiters.save([], NOW, lease_until=T + 7.0)
    run = (await store.limiters.load()).run
    assert run is not None and run.lease_until == T + 10.0


async def test_a_save_replaces_the_account_and_the_stop_is_marked(store: Store) -> None:
    await store.limiters.begin("run-1", NOW, unknown_until=None)
    await store.limiters.save([_window("a", T - 0.5), _window("b", T - 0.25)], NOW)
    await store.limiters.save([_window("a", T - 0.1, allowed=6.0)], NOW, stopped=True)
    memory = await store.limiters.load()
    assert memory.windows["a"] == _window("a", T - 0.1, allowed=6.0)
    assert memory.windows["b"] == _window("b", T - 0.25)
    assert memory.run is not None and memory.run.stopped_at == NOW


async def test_a_cancelled_save_leaves_the_last_one_as_it_was(store: Store) -> None:
    await store.limiters.begin("run-1", NOW, unknown_until=None)
    await store.limiters.save([_window("a", T - 0.5)], NOW, lease_until=T + 10.0)
    before = await store.limiters.load()

    async def save() -> None:
        await store.limiters.save([_window("a", T), _window("b", T)], NOW, stopped=True)

    # another task holds the state file's write transaction; the save is cancelled while it
    # waits for it
    held, done = anyio.Event(), anyio.Event()

    async def other_writer() -> None:
        async with store.db.transaction() as tx:
            await tx.execute("UPDATE limiter_run SET run_id = run_id")
            held.set()
            await done.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(other_writer)
        await held.wait()
        with anyio.move_on_after(0.2) as waited:
            await save()
        done.set()
    assert waited.cancelled_caught
    assert await store.limiters.load() == before
    # the store still works after it
    await store.limiters.save([_window("b", T)], NOW)
    assert set((await store.limiters.load()).windows) == {"a", "b"}


async def test_a_save_that_fails_half_way_writes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.limiters.begin("run-1", NOW, unknown_until=None)
    await store.limiters.save([_window("a", T - 0.5)], NOW, lease_until=T + 10.0)
    before = await store.limiters.load()
    real = brygga.store.limiters._row

    def row(window: SavedWindow, stamp: str) -> tuple[object, ...]:
        if window.account == "c":
            raise RuntimeError("cannot encode")
        return real(window, stamp)

    monkeypatch.setattr(brygga.store.limiters, "_row", row)
    with pytest.raises(RuntimeError):
        await store.limiters.save(
            [_window("a", T), _window("b", T), _window("c", T)],
            NOW,
            lease_until=T + 60.0,
            stopped=True,
        )
    assert await store.limiters.load() == before


async def test_a_merge_adds_sends_and_takes_nothing_away(store: Store) -> None:
    # a visitor (brygga sync products beside a daemon) adds its sends to the daemon's window
    daemon = SavedWindow(
        account="erp",
        sends=(T - 0.9, T - 0.5),
        paused_until=T + 5.0,
        allowed=6.0,
        slow_start=True,
        limit_requests=10,
        limit_seconds=1.0,
    )
    await store.limiters.save([daemon], NOW)
    visitor = _window("erp", T - 0.5, T - 0.25, T - 0.1, allowed=9.0)
    await store.limiters.merge([visitor, _window("shop", T - 0.2)], NOW)
    windows = (await store.limiters.load()).windows
    erp = windows["erp"]
    assert erp.sends == (T - 0.9, T - 0.5, T - 0.25, T - 0.1)  # both, once each, in order
    assert erp.paused_until == T + 5.0  # the later pause
    assert (erp.allowed, erp.slow_start) == (6.0, True)  # the smaller count, as it was
    assert windows["shop"].sends == (T - 0.2,)  # an account nobody stored: as given
    # sends older than two windows before the newest are not kept
    await store.limiters.merge([_window("erp", T + 10.0)], NOW)
    assert (await store.limiters.load()).windows["erp"].sends == (T + 10.0,)
