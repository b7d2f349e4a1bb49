"""A private scratch database on disk, for what an adapter would otherwise hold in memory.

An adapter's index of a remote catalog (a shop's SKUs, an ERP's product numbers) grows with
the catalog; held in memory it makes the process grow with it (issue [9/9], "big catalog").
:class:`Scratch` is SQLite's *temporary* database (opened with an empty file name): private to
one connection, kept in SQLite's page cache while it is small, written to a temporary file
when it outgrows :data:`CACHE_KIB`, and deleted by SQLite when it is closed (the file is
unlinked as soon as it is made, so a killed process leaves nothing behind). It is a cache of
the remote system, rebuilt by each process, never the state file: nothing in it must survive.

The file goes where SQLite puts temporary files (``SQLITE_TMPDIR``, ``TMPDIR``, ``/var/tmp``,
``/tmp``; the systemd unit's ``PrivateTmp=yes`` gives the daemon its own). Calls are
synchronous and short (an indexed lookup or a page of writes, microseconds), made on the
event loop's thread like any other in-memory lookup.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CACHE_KIB", "Scratch", "ScratchSet"]

#: SQLite's page cache per scratch database (KiB): what one index holds in memory at most
CACHE_KIB = 1024


class Scratch:
    """One private temporary SQLite database (see the module notes); ``schema`` is run once."""

    def __init__(self, schema: str, *, cache_kib: int = CACHE_KIB) -> None:
        self.db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self.db.execute(f"PRAGMA cache_size = {-int(cache_kib)}")
        self.db.execute("PRAGMA journal_mode = OFF")  # a cache: nothing to roll back to
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.executescript(schema)
        self._depth = 0

    @contextmanager
    def batch(self) -> Iterator[sqlite3.Connection]:
        """Several writes as one transaction (nested batches join the outer one)."""
        if self._depth == 0:
            self.db.execute("BEGIN")
        self._depth += 1
        try:
            yield self.db
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.db.execute("COMMIT")

    def one(self, sql: str, params: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        row: tuple[object, ...] | None = self.db.execute(sql, params).fetchone()
        return row

    def close(self) -> None:
        self.db.close()


class ScratchSet:
    """A set of strings in a :class:`Scratch` database (e.g. the SKUs a dry run has seen)."""

    def __init__(self) -> None:
        self._scratch = Scratch("CREATE TABLE member (key TEXT PRIMARY KEY) WITHOUT ROWID;")

    def add(self, key: str) -> bool:
        """Note ``key``; True when it was not there before."""
        cursor = self._scratch.db.execute(
            "INSERT INTO member (key) VALUES (?) ON CONFLICT (key) DO NOTHING", (key,)
        )
        return cursor.rowcount > 0

    def __contains__(self, key: object) -> bool:
        return self._scratch.one("SELECT 1 FROM member WHERE key = ?", (key,)) is not None
