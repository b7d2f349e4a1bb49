"""The initial product sync's checkpoint: per source and SKU, what each target got."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from brygga.store.db import Database, Tx, to_ts
from brygga.store.outcomes import FollowUp, queue_follow_up

__all__ = ["Mark", "SyncCheckpoint"]

#: the reserved key of the run's own row (SKUs are never blank, so no article has it)
_META = ""
#: SKUs looked up in one statement (SQLite's default limit of bound parameters is far above)
_LOOKUP = 500


@dataclass
class Mark:
    """One SKU of the source: the pass (run) that last saw it, and per target what it got
    (``created``, ``updated``, ``unchanged``, ``skipped`` or ``failed``)."""

    seen_in: int
    targets: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps({"p": self.seen_in, "t": self.targets}, sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Mark:
        data = json.loads(raw)
        return cls(seen_in=int(data["p"]), targets={str(k): str(v) for k, v in data["t"].items()})


class SyncCheckpoint:
    """Rows of the ``adapter_state`` table under one account (``initial-sync/<connection>/
    <source>``): one per SKU done, and one for the run itself (its pass number and the number
    of articles the last whole pass read). Durable per :meth:`save` (one transaction)."""

    def __init__(self, db: Database, connection: str, source: str) -> None:
        self._db = db
        self._connection = connection
        self.account = f"initial-sync/{connection}/{source}"

    async def _meta(self) -> dict[str, Any]:
        row = await self._db.fetchone(
            "SELECT value FROM adapter_state WHERE account = ? AND key = ?",
            (self.account, _META),
        )
        return dict(json.loads(bytes(row["value"]))) if row else {}

    async def begin(self, now: datetime) -> tuple[int, int, int | None]:
        """Start a pass: (its number, SKUs already marked by earlier passes that did not
        finish, the article count of the last whole pass or None)."""
        meta = await self._meta()
        number = int(meta.get("pass", 0)) + 1
        total = meta.get("total")
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM adapter_state WHERE account = ? AND key != ?",
            (self.account, _META),
        )
        marked = int(row["n"]) if row else 0
        await self._put_meta({**meta, "pass": number}, now)
        return number, marked, int(total) if total is not None else None

    async def lookup(self, skus: Sequence[str]) -> dict[str, Mark]:
        """The marks of those of ``skus`` that have one."""
        found: dict[str, Mark] = {}
        unique = list(dict.fromkeys(s for s in skus if s))
        for start in range(0, len(unique), _LOOKUP):
            part = unique[start : start + _LOOKUP]
            rows = await self._db.fetchall(
                "SELECT key, value FROM adapter_state WHERE account = ? AND key IN "
                f"({', '.join('?' * len(part))})",
                (self.account, *part),
            )
            for row in rows:
                found[str(row["key"])] = Mark.decode(bytes(row["value"]))
        return found

    async def save(
        self, marks: Mapping[str, Mark], now: datetime, follow_ups: Sequence[FollowUp] = ()
    ) -> None:
        """Store ``marks`` (by SKU) in one transaction, with ``follow_ups``: work items of the
        connection queued for the daemon (the levels of the articles the batch created), so a
        run killed after the marks never leaves a created article without its queued level."""
        if not marks and not follow_ups:
            return
        stamp = to_ts(now)
        rows = [(self.account, sku, mark.encode(), stamp) for sku, mark in marks.items()]
        connection = self._connection

        def body(tx: Tx) -> None:
            tx.executemany(
                "INSERT INTO adapter_state (account, key, value, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (account, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                rows,
            )
            for follow in follow_ups:
                queue_follow_up(tx, connection, follow, stamp)

        await self._db.run(body)

    async def finish(self, total: int, now: datetime, *, forget: bool) -> None:
        """A whole pass was read: keep ``total``, the number of articles it read (the next
        run's progress total), and with ``forget`` (nothing failed) forget the SKUs' marks, so
        the next run starts afresh. Kept marks make the next run retry only what failed."""
        meta = {**(await self._meta()), "total": total}
        account, encoded, stamp = self.account, json.dumps(meta).encode(), to_ts(now)

        def body(tx: Tx) -> None:
            if forget:
                tx.execute(
                    "DELETE FROM adapter_state WHERE account = ? AND key != ?", (account, _META)
                )
            tx.execute(
                "UPDATE adapter_state SET value = ?, updated_at = ? WHERE account = ? AND key = ?",
                (encoded, stamp, account, _META),
            )

        await self._db.run(body)

    async def _put_meta(self, meta: dict[str, Any], now: datetime) -> None:
        encoded, stamp = json.dumps(meta).encode(), to_ts(now)
        await self._db.execute(
            "INSERT INTO adapter_state (account, key, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (account, key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (self.account, _META, encoded, stamp),
        )
