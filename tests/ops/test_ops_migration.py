"""Schema migrations 2 (the `resolved` state) and 3 (in-doubt writes) on a version-1 state file
that has rows in it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import brygga.store.db
from brygga.store import Binding, Event, ItemState, Store
from brygga.store.db import to_ts
from brygga.store.schema import MIGRATIONS

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def _version_1_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """A state file as brygga with only migration 1 left it: items in several states, their
    attempts and events, a binding. Returns item ids by order id."""
    with monkeypatch.context() as patch:
        patch.setattr(brygga.store.db, "MIGRATIONS", MIGRATIONS[:1])
        async with await Store.open(path) as store:
            assert await store.db.schema_version() == 1
            ids = {}
            for oid in ("1", "2", "3"):
                await store.items.enqueue(
                    connection="c", register="orders", instance="se", external_id=oid, now=NOW,
                    ready=True, payload=b'{"replay": 0}' if oid == "3" else None,
                )  # fmt: skip
            # brygga of that version claimed and finished them; today's item code reads columns
            # a version-1 file does not have yet, so the rows are written as it left them
            for oid, state in (("1", ItemState.DONE), ("2", ItemState.FAILED)):
                row = await store.db.fetchone(
                    "SELECT id FROM work_items WHERE external_id = ?", (oid,)
                )
                assert row is not None
                item_id = int(row[0])
                await store.db.execute(
                    "UPDATE work_items SET state = ?, attempts = 1, last_error = ?, done_at = ?,"
                    " updated_at = ? WHERE id = ?",
                    (state.value, f"error {oid}", to_ts(NOW), to_ts(NOW), item_id),
                )
                await store.db.execute(
                    "INSERT INTO attempts (work_item_id, attempt, started_at, finished_at,"
                    " outcome, error) VALUES (?, 1, ?, ?, ?, ?)",
                    (item_id, to_ts(NOW), to_ts(NOW), state.value, f"error {oid}"),
                )
                await store.events.add(
                    Event(NOW, "c", "orders", "se", oid, state.value, f"{oid} is {state}", item_id)
                )
                ids[oid] = item_id
            row = await store.db.fetchone("SELECT id FROM work_items WHERE external_id = '3'")
            ids["3"] = int(row[0])  # type: ignore[index]
            await store.bindings.bind("c", Binding("orders", "se", "1", "erp", "5001"), NOW)
            with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # v1 knows no 'resolved'
                await store.db.execute("UPDATE work_items SET state = 'resolved' WHERE id = 1")
    return ids


async def test_migration_2_keeps_every_row_and_every_foreign_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    ids = await _version_1_file(path, monkeypatch)
    async with await Store.open(path) as store:
        db = store.db
        assert await db.schema_version() == len(MIGRATIONS) == MIGRATIONS[-1][0]
        # rows, ids, states, payloads, attempts and events all came across
        items = {i.external_id: i for i in await store.items.query()}
        assert {oid: (i.id, i.state) for oid, i in items.items()} == {
            "1": (ids["1"], ItemState.DONE),
            "2": (ids["2"], ItemState.FAILED),
            "3": (ids["3"], ItemState.NEW),
        }
        assert items["3"].payload == b'{"replay": 0}' and items["2"].last_error == "error 2"
        assert all(i.doubt_until is None for i in items.values())  # migration 3's new column
        attempts = await store.items.attempts(ids["2"])
        assert [(a["attempt"], a["outcome"], a["error"]) for a in attempts] == [
            (1, "failed", "error 2")
        ]
        events = await store.events.for_record("c", "orders", "se", "2")
        assert [(e.kind, e.work_item_id) for e in events] == [("failed", ids["2"])]
        bound = await store.bindings.target_of("c", "orders", "se", "1")
        assert bound is not None and bound.target_id == "5001"
        # foreign keys are on and consistent; no table was left behind
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        assert (await db.fetchone("PRAGMA integrity_check"))[0] == "ok"  # type: ignore[index]
        tables = {r["name"] for r in await db.fetchall("SELECT name FROM sqlite_master")}
        assert {"work_items_due", "attempts_item", "events_record", "events_at"} <= tables
        assert not any("parked" in t or "v2" in t for t in tables)
        # the new state is allowed, unknown ones still are not
        assert await store.items.resolve(ids["2"], "handled", NOW, from_states=[ItemState.FAILED])
        assert (await store.items.get(ids["2"])).state is ItemState.RESOLVED  # type: ignore[union-attr]
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            await db.execute("UPDATE work_items SET state = 'bogus' WHERE id = ?", (ids["1"],))
        # the children still point at the rebuilt table: an attempt for a missing item is
        # refused, deleting an item cascades to its attempts and unlinks its events
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await db.execute(
                "INSERT INTO attempts (work_item_id, attempt, started_at) VALUES (999, 1, 'x')"
            )
        await db.execute("DELETE FROM work_items WHERE id = ?", (ids["2"],))
        assert await store.items.attempts(ids["2"]) == []
        [event] = await store.events.for_record("c", "orders", "se", "2")
        assert event.work_item_id is None
    # and it runs once: opening again changes nothing
    async with await Store.open(path) as store:
        assert await store.db.schema_version() == MIGRATIONS[-1][0]
        assert len(await store.items.query()) == 2


async def test_a_fresh_file_gets_every_migration(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "state.db") as store:
        rows = await store.db.fetchall("SELECT version, name FROM schema_migrations ORDER BY 1")
        assert [tuple(r) for r in rows] == [
            (1, "initial"),
            (2, "resolved state"),
            (3, "in-doubt writes, history pruning"),
            (4, "register counts"),
            (5, "adapter state"),
            (6, "catalog"),
            (7, "rate limiter windows"),
            (8, "events by work item"),
        ]
        await store.items.enqueue(
            connection="c", register="orders", instance="se", external_id="1", now=NOW, ready=True
        )
        [item] = await store.items.query()
        assert await store.items.resolve(item.id, "n", NOW, from_states=[ItemState.NEW])
        assert await store.db.fetchall("PRAGMA foreign_key_check") == []
