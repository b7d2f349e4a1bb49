"""Bindings: which record on one side is which record on the other, unique both ways."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from brygga.store.db import Database, to_ts

__all__ = ["Binding", "Bindings"]


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
        existing = await self.target_of(
            connection, binding.entity, binding.source_instance, binding.source_id
        )
        if existing == binding:
            return
        await self._db.execute(
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

    async def target_of(
        self, connection: str, entity: str, source_instance: str, source_id: str
    ) -> Binding | None:
        row = await self._db.fetchone(
            "SELECT * FROM bindings WHERE connection = ? AND entity = ? AND source_instance = ?"
            " AND source_id = ?",
            (connection, entity, source_instance, source_id),
        )
        return _binding(row) if row else None

    async def source_of(
        self, connection: str, entity: str, target_instance: str, target_id: str
    ) -> Binding | None:
        row = await self._db.fetchone(
            "SELECT * FROM bindings WHERE connection = ? AND entity = ? AND target_instance = ?"
            " AND target_id = ?",
            (connection, entity, target_instance, target_id),
        )
        return _binding(row) if row else None

    async def unbind(
        self, connection: str, entity: str, source_instance: str, source_id: str
    ) -> Binding | None:
        """Forget the binding of a source record (a forced replay replaces its document);
        return the binding that was dropped, or None if there was none."""
        async with self._db.transaction() as tx:
            rows = list(
                await tx.execute_fetchall(
                    "SELECT * FROM bindings WHERE connection = ? AND entity = ?"
                    " AND source_instance = ? AND source_id = ?",
                    (connection, entity, source_instance, source_id),
                )
            )
            if not rows:
                return None
            await tx.execute("DELETE FROM bindings WHERE id = ?", (rows[0]["id"],))
        return _binding(rows[0])

    async def count(self, connection: str, entity: str) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM bindings WHERE connection = ? AND entity = ?",
            (connection, entity),
        )
        return int(row[0]) if row else 0


def _binding(row: object) -> Binding:
    r = row  # aiosqlite.Row supports mapping access
    return Binding(
        entity=r["entity"],  # type: ignore[index]
        source_instance=r["source_instance"],  # type: ignore[index]
        source_id=r["source_id"],  # type: ignore[index]
        target_instance=r["target_instance"],  # type: ignore[index]
        target_id=r["target_id"],  # type: ignore[index]
    )
