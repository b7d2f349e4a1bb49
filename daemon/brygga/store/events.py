"""The event log: what happened to each record, for `errors show` and audits; pruned by age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from brygga.store.db import PRUNE_BATCH, Database, Row, Tx, from_ts, to_ts

__all__ = ["Event", "Events", "insert_event"]


@dataclass(frozen=True)
class Event:
    at: datetime
    connection: str
    register: str
    instance: str
    external_id: str
    kind: str
    message: str
    work_item_id: int | None = None


class Events:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, event: Event) -> None:
        await self._db.run(lambda tx: insert_event(tx, event))

    async def for_record(
        self, connection: str, register: str, instance: str, external_id: str
    ) -> list[Event]:
        rows = await self._db.fetchall(
            "SELECT * FROM events WHERE connection = ? AND register = ? AND instance = ?"
            " AND external_id = ? ORDER BY id",
            (connection, register, instance, external_id),
        )
        return [_event(row) for row in rows]

    async def prune(self, older_than: datetime, *, batch: int = PRUNE_BATCH) -> int:
        """Forget events older than ``older_than``, except those of records still kept (a
        failed record's history stays as long as the record is in the error queue); ``batch``
        events per transaction (see :meth:`brygga.store.workitems.WorkItems.prune`)."""
        return await self._db.delete_in_batches(
            "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE at < ?"
            " AND (work_item_id IS NULL OR work_item_id NOT IN (SELECT id FROM work_items))"
            " LIMIT ?)",
            (to_ts(older_than),),
            batch,
        )


def _event(row: Row) -> Event:
    return Event(
        at=from_ts(row["at"]),
        connection=row["connection"],
        register=row["register"],
        instance=row["instance"],
        external_id=row["external_id"],
        kind=row["kind"],
        message=row["message"],
        work_item_id=row["work_item_id"],
    )


def insert_event(tx: Tx, event: Event) -> None:
    """Inside a transaction: append one event."""
    tx.execute(
        "INSERT INTO events (at, connection, register, instance, external_id, work_item_id,"
        " kind, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            to_ts(event.at),
            event.connection,
            event.register,
            event.instance,
            event.external_id,
            event.work_item_id,
            event.kind,
            event.message,
        ),
    )
