"""Bindings: which record on one side is which record on the other, unique both ways."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import aiosqlite

from brygga.store.db import Database, Row, to_ts

__all__ = ["Binding", "Bindings", "delete_binding", "insert_binding"]


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
        async with self._db.transaction() as tx:
            await insert_binding(tx, connection, binding, now)

    async def target_of(
        self, connection: str, entity: str, source_instance: str, source_id: str
    ) -> Binding | None:
        return await self._find("source", connection, entity, source_instance, source_id)

    async def source_of(
        self, connection: str, entity: str, target_instance: str, target_id: str
    ) -> Binding | None:
        return await self._find("target", connection, entity, target_instance, target_id)

    async def _find(
        self,
        side: Literal["source", "target"],
        connection: str,
        entity: str,
        instance: str,
        record_id: str,
    ) -> Binding | None:
        row = await self._db.fetchone(_SELECT[side], (connection, entity, instance, record_id))
        return _binding(row) if row else None

    async def unbind(
        self, connection: str, entity: str, source_instance: str, source_id: str
    ) -> Binding | None:
        """Forget the binding of a source record (a forced replay replaces its document);
        return the binding that was dropped, or None if there was none."""
        async with self._db.transaction() as tx:
            return await delete_binding(tx, connection, entity, source_instance, source_id)

    async def count(self, connection: str, entity: str) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM bindings WHERE connection = ? AND entity = ?",
            (connection, entity),
        )
        return int(row[0]) if row else 0


_SELECT = {
    side: "SELECT * FROM bindings WHERE connection = ? AND entity = ?"
    f" AND {side}_instance = ? AND {side}_id = ?"
    for side in ("source", "target")
}


def _binding(row: Row) -> Binding:
    return Binding(
        entity=row["entity"],
        source_instance=row["source_instance"],
        source_id=row["source_id"],
        target_instance=row["target_instance"],
        target_id=row["target_id"],
    )


async def insert_binding(
    tx: aiosqlite.Connection, connection: str, binding: Binding, now: datetime
) -> None:
    """Inside a transaction: record ``binding`` (the same pair again is a no-op)."""
    rows = list(
        await tx.execute_fetchall(
            _SELECT["source"],
            (connection, binding.entity, binding.source_instance, binding.source_id),
        )
    )
    if rows and _binding(rows[0]) == binding:
        return
    await tx.execute(
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


async def delete_binding(
    tx: aiosqlite.Connection, connection: str, entity: str, source_instance: str, source_id: str
) -> Binding | None:
    """Inside a transaction: drop a source record's binding; return it (None if none)."""
    rows = list(
        await tx.execute_fetchall(
            _SELECT["source"], (connection, entity, source_instance, source_id)
        )
    )
    if not rows:
        return None
    await tx.execute("DELETE FROM bindings WHERE id = ?", (rows[0]["id"],))
    return _binding(rows[0])
