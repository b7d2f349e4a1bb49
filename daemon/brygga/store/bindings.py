"""Bindings: which record on one side is which record on the other, unique both ways."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from brygga.store.db import Database, Row, Tx, from_ts, to_ts

__all__ = ["Binding", "Bindings", "Transferred", "delete_binding", "insert_binding"]


@dataclass(frozen=True)
class Binding:
    entity: str
    source_instance: str
    source_id: str
    target_instance: str
    target_id: str


class Bindings:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def bind(self, connection: str, binding: Binding, now: datetime) -> None:
        """Record a binding. Binding the same pair again is a no-op; binding either side to a
        different partner raises sqlite's IntegrityError (a bug worth stopping for)."""
        await self._db.run(lambda tx: insert_binding(tx, connection, binding, now))

    async def target_of(
        self, connection: str, entity: str, source_instance: str, source_id: str
    ) -> Binding | None:
        row = await self._db.fetchone(_SELECT, (connection, entity, source_instance, source_id))
        return _binding(row) if row else None

    async def unbind(
        self, connection: str, entity: str, source_instance: str, source_id: str
    ) -> Binding | None:
        """Forget the binding of a source record (a forced replay replaces its document);
        return the binding that was dropped, or None if there was none."""
        return await self._db.run(
            lambda tx: delete_binding(tx, connection, entity, source_instance, source_id)
        )

    async def count(self, connection: str, entity: str) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM bindings WHERE connection = ? AND entity = ?",
            (connection, entity),
        )
        return int(row[0]) if row else 0

    async def transferred_since(
        self, connection: str, entity: str, since: datetime
    ) -> list[Transferred]:
        """The entity's bindings recorded at ``since`` or later, oldest first, each with its
        time and the reference its work item sent (empty when that item is gone)."""
        rows = await self._db.fetchall(
            "SELECT b.*, COALESCE(w.reference, '') AS sent_reference FROM bindings b"
            " LEFT JOIN work_items w ON w.connection = b.connection AND w.register = b.entity"
            " AND w.instance = b.source_instance AND w.external_id = b.source_id"
            " WHERE b.connection = ? AND b.entity = ? AND b.created_at >= ?"
            " ORDER BY b.created_at, b.id",
            (connection, entity, to_ts(since)),
        )
        return [
            Transferred(_binding(row), from_ts(row["created_at"]), row["sent_reference"])
            for row in rows
        ]


@dataclass(frozen=True)
class Transferred:
    """A binding with when it was recorded and the reference its record was sent with."""

    binding: Binding
    at: datetime
    reference: str


_SELECT = (
    "SELECT * FROM bindings WHERE connection = ? AND entity = ?"
    " AND source_instance = ? AND source_id = ?"
)


def _binding(row: Row) -> Binding:
    return Binding(
        entity=row["entity"],
        source_instance=row["source_instance"],
        source_id=row["source_id"],
        target_instance=row["target_instance"],
        target_id=row["target_id"],
    )


def insert_binding(tx: Tx, connection: str, binding: Binding, now: datetime) -> None:
    """Inside a transaction: record ``binding`` (the same pair again is a no-op)."""
    row = tx.execute(
        _SELECT, (connection, binding.entity, binding.source_instance, binding.source_id)
    ).fetchone()
    if row is not None and _binding(row) == binding:
        return
    tx.execute(
        "INSERT INTO bindings (connection, entity, source_instance, source_id,"
        " target_instance, target_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            connection,
            binding.entity,
            binding.source_instance,
            binding.source_id,
            binding.target_instance,
            binding.target_id,
            to_ts(now),
        ),
    )


def delete_binding(
    tx: Tx, connection: str, entity: str, source_instance: str, source_id: str
) -> Binding | None:
    """Inside a transaction: drop a source record's binding; return it (None if none)."""
    row = tx.execute(_SELECT, (connection, entity, source_instance, source_id)).fetchone()
    if row is None:
        return None
    tx.execute("DELETE FROM bindings WHERE id = ?", (row["id"],))
    return _binding(row)
