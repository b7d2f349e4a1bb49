"""Per connection/register/instance health, written by the daemon, read by `brygga status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from brygga.store.db import Database, Tx, from_ts, to_ts

__all__ = ["RegisterStatus", "StatusBoard", "mark_failure", "mark_success", "poll_row"]


#: a poller's own status row sits beside its register's under this suffix
POLL_SUFFIX = ":poll"


def poll_row(register: str) -> str:
    """The ``register_status`` key of the poller of ``register``. Polling health is kept apart
    from the health of the register's records, so a record transferred while polling fails
    (or a poll that works while records fail) never hides the other's failure."""
    return register + POLL_SUFFIX


@dataclass(frozen=True)
class RegisterStatus:
    connection: str
    register: str
    instance: str
    state: str
    last_success: datetime | None
    last_error: str
    last_error_at: datetime | None
    updated_at: datetime

    @property
    def polling(self) -> bool:
        """This row is a poller's (see :func:`poll_row`), not its records'."""
        return self.register.endswith(POLL_SUFFIX)

    @property
    def subject(self) -> str:
        """The register this row is about (the poller's register for a poller's row)."""
        return self.register.removesuffix(POLL_SUFFIX)


class StatusBoard:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def success(self, connection: str, register: str, instance: str, now: datetime) -> None:
        await self._db.run(lambda tx: mark_success(tx, connection, register, instance, now))

    async def failure(
        self, connection: str, register: str, instance: str, error: str, now: datetime
    ) -> None:
        await self._db.run(lambda tx: mark_failure(tx, connection, register, instance, error, now))

    async def poll_failed(
        self, connection: str, register: str, instance: str, error: str, now: datetime
    ) -> None:
        """Polling ``register`` of ``instance`` failed; `brygga status` shows ``error`` until a
        poll works again."""
        await self.failure(connection, poll_row(register), instance, error, now)

    async def poll_works(
        self, connection: str, register: str, instance: str, now: datetime
    ) -> None:
        """Polling ``register`` of ``instance`` works (again)."""
        await self.success(connection, poll_row(register), instance, now)

    async def all(self) -> list[RegisterStatus]:
        rows = await self._db.fetchall(
            "SELECT * FROM register_status ORDER BY connection, register, instance"
        )
        return [
            RegisterStatus(
                connection=row["connection"],
                register=row["register"],
                instance=row["instance"],
                state=row["state"],
                last_success=from_ts(row["last_success"]) if row["last_success"] else None,
                last_error=row["last_error"],
                last_error_at=from_ts(row["last_error_at"]) if row["last_error_at"] else None,
                updated_at=from_ts(row["updated_at"]),
            )
            for row in rows
        ]


def mark_success(tx: Tx, connection: str, register: str, instance: str, now: datetime) -> None:
    """Inside a transaction: the register works (state ok, last success now)."""
    tx.execute(
        "INSERT INTO register_status (connection, register, instance, state, last_success,"
        " updated_at) VALUES (?, ?, ?, 'ok', ?, ?) ON CONFLICT (connection, register, instance)"
        " DO UPDATE SET state = 'ok', last_success = excluded.last_success,"
        " updated_at = excluded.updated_at",
        (connection, register, instance, to_ts(now), to_ts(now)),
    )


def mark_failure(
    tx: Tx,
    connection: str,
    register: str,
    instance: str,
    error: str,
    now: datetime,
) -> None:
    """Inside a transaction: the register is failing, with the error sentence."""
    tx.execute(
        "INSERT INTO register_status (connection, register, instance, state, last_error,"
        " last_error_at, updated_at) VALUES (?, ?, ?, 'failing', ?, ?, ?)"
        " ON CONFLICT (connection, register, instance) DO UPDATE SET state = 'failing',"
        " last_error = excluded.last_error, last_error_at = excluded.last_error_at,"
        " updated_at = excluded.updated_at",
        (connection, register, instance, error, to_ts(now), to_ts(now)),
    )
