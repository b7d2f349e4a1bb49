"""Durable per-account adapter state: small values an adapter keeps across restarts."""

from __future__ import annotations

from datetime import datetime

from brygga.store.db import Database, Tx, to_ts

__all__ = ["AdapterState"]


class AdapterState:
    """Opaque bytes by (account, key), e.g. a rotating refresh token or an import job's id.

    ``account`` names the remote account (adapter and instance, as the adapter chooses); the
    values may be secrets: they are never logged, and the state file is private (0600)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, account: str, key: str) -> bytes | None:
        row = await self._db.fetchone(
            "SELECT value FROM adapter_state WHERE account = ? AND key = ?", (account, key)
        )
        return bytes(row["value"]) if row else None

    async def put(self, account: str, key: str, value: bytes, now: datetime) -> None:
        """Store ``value``, whatever was there."""
        await self._db.execute(
            "INSERT INTO adapter_state (account, key, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (account, key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (account, key, value, to_ts(now)),
        )

    async def delete(self, account: str, key: str) -> bool:
        """Forget the value; True if there was one."""
        changed = await self._db.execute(
            "DELETE FROM adapter_state WHERE account = ? AND key = ?", (account, key)
        )
        return changed > 0

    async def replace(
        self, account: str, key: str, old: bytes | None, new: bytes, now: datetime
    ) -> bool:
        """Compare and set: store ``new`` only if the value is still ``old`` (None: only if
        there is none yet). False when another task or daemon changed it first; the caller
        then reads it again (a single-use refresh token somebody else already rotated)."""
        stamp = to_ts(now)

        def body(tx: Tx) -> bool:
            if old is None:
                cursor = tx.execute(
                    "INSERT INTO adapter_state (account, key, value, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (account, key) DO NOTHING",
                    (account, key, new, stamp),
                )
            else:
                cursor = tx.execute(
                    "UPDATE adapter_state SET value = ?, updated_at = ?"
                    " WHERE account = ? AND key = ? AND value = ?",
                    (new, stamp, account, key, old),
                )
            return cursor.rowcount > 0

        return await self._db.run(body)

    async def keys(self, account: str, prefix: str = "") -> list[str]:
        """The account's keys that start with ``prefix``, sorted."""
        rows = await self._db.fetchall(
            "SELECT key FROM adapter_state WHERE account = ? AND substr(key, 1, ?) = ?"
            " ORDER BY key",
            (account, len(prefix), prefix),
        )
        return [str(row["key"]) for row in rows]
