"""Cursors: how far each poller has read each change feed."""

from __future__ import annotations

from datetime import datetime

from brygga.store.db import Database, to_ts

__all__ = ["Cursors"]


class Cursors:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, connection: str, instance: str, register: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT position FROM cursors WHERE connection = ? AND instance = ? AND register = ?",
            (connection, instance, register),
        )
        return str(row["position"]) if row else None

    async def set(
        self, connection: str, instance: str, register: str, position: str, now: datetime
    ) -> None:
        """Move the cursor. Callers record the work first, then move the cursor."""
        await self._db.execute(
            "INSERT INTO cursors (connection, instance, register, position, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection, instance, register)"
            " DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
            (connection, instance, register, position, to_ts(now)),
        )
