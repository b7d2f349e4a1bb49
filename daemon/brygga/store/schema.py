"""Numbered schema migrations; each runs once and is recorded in ``schema_migrations``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = [
    "LATEST",
    "MIGRATIONS",
    "OPTIONAL_FOR_READERS",
    "file_version",
    "too_new",
    "too_old",
]

#: (version, name, SQL). Append only: never edit a migration that has shipped.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "initial",
        """
        CREATE TABLE cursors (
            connection TEXT NOT NULL,
            instance   TEXT NOT NULL,
            register   TEXT NOT NULL,
            position   TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (connection, instance, register)
        );

        CREATE TABLE bindings (
            id              INTEGER PRIMARY KEY,
            connection      TEXT NOT NULL,
            entity          TEXT NOT NULL,
            source_instance TEXT NOT NULL,
            source_id       TEXT NOT NULL,
            target_instance TEXT NOT NULL,
            target_id       TEXT NOT NULL,
            created_at      TEXT NOT NULL,
            UNIQUE (connection, entity, source_instance, source_id),
            UNIQUE (connection, entity, target_instance, target_id)
        );

        CREATE TABLE work_items (
            id              INTEGER PRIMARY KEY,
            connection      TEXT NOT NULL,
            register        TEXT NOT NULL,
            instance        TEXT NOT NULL,
            external_id     TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            state           TEXT NOT NULL CHECK (state IN (
                'waiting', 'new', 'sending', 'reconcile', 'retry', 'done', 'failed', 'skipped')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt    TEXT NOT NULL,
            last_error      TEXT NOT NULL DEFAULT '',
            reference       TEXT NOT NULL DEFAULT '',
            result          TEXT NOT NULL DEFAULT '',
            payload         BLOB,
            run_id          TEXT NOT NULL DEFAULT '',
            source_time     TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL,
            done_at         TEXT
        );
        CREATE INDEX work_items_due ON work_items (connection, register, state, next_attempt);

        CREATE TABLE attempts (
            id           INTEGER PRIMARY KEY,
            work_item_id INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
            attempt      INTEGER NOT NULL,
            started_at   TEXT NOT NULL,
            finished_at  TEXT,
            outcome      TEXT NOT NULL DEFAULT 'running',
            error        TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX attempts_item ON attempts (work_item_id);

        CREATE TABLE events (
            id           INTEGER PRIMARY KEY,
            at           TEXT NOT NULL,
            connection   TEXT NOT NULL,
            register     TEXT NOT NULL,
            instance     TEXT NOT NULL,
            external_id  TEXT NOT NULL,
            work_item_id INTEGER REFERENCES work_items (id) ON DELETE SET NULL,
            kind         TEXT NOT NULL,
            message      TEXT NOT NULL
        );
        CREATE INDEX events_record ON events (connection, register, instance, external_id);
        CREATE INDEX events_at ON events (at);

        CREATE TABLE register_status (
            connection    TEXT NOT NULL,
            register      TEXT NOT NULL,
            instance      TEXT NOT NULL,
            state         TEXT NOT NULL,
            last_success  TEXT,
            last_error    TEXT NOT NULL DEFAULT '',
            last_error_at TEXT,
            updated_at    TEXT NOT NULL,
            PRIMARY KEY (connection, register, instance)
        );
        """,
    ),
    (
        2,
        "resolved state",
        # SQLite cannot alter a CHECK, so work_items is rebuilt. Foreign keys are on and cannot
        # be turned off inside the migration's transaction, and dropping a parent table deletes
        # its rows first (cascading to attempts, nulling events.work_item_id). So the children
        # are parked in plain tables, dropped, the parent rebuilt, and the children recreated
        # with their rows, ids and references intact.
        """
        CREATE TABLE work_items_v2 (
            id              INTEGER PRIMARY KEY,
            connection      TEXT NOT NULL,
            register        TEXT NOT NULL,
            instance        TEXT NOT NULL,
            external_id     TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            state           TEXT NOT NULL CHECK (state IN (
                'waiting', 'new', 'sending', 'reconcile', 'retry', 'done', 'failed', 'skipped',
                'resolved')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt    TEXT NOT NULL,
            last_error      TEXT NOT NULL DEFAULT '',
            reference       TEXT NOT NULL DEFAULT '',
            result          TEXT NOT NULL DEFAULT '',
            payload         BLOB,
            run_id          TEXT NOT NULL DEFAULT '',
            source_time     TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL,
            done_at         TEXT
        );
        INSERT INTO work_items_v2 (id, connection, register, instance, external_id,
            idempotency_key, state, attempts, next_attempt, last_error, reference, result,
            payload, run_id, source_time, created_at, updated_at, done_at)
        SELECT id, connection, register, instance, external_id, idempotency_key, state,
            attempts, next_attempt, last_error, reference, result, payload, run_id, source_time,
            created_at, updated_at, done_at FROM work_items;

        CREATE TABLE attempts_parked AS SELECT * FROM attempts;
        CREATE TABLE events_parked AS SELECT * FROM events;
        DROP TABLE attempts;
        DROP TABLE events;
        DROP TABLE work_items;
        ALTER TABLE work_items_v2 RENAME TO work_items;
        CREATE INDEX work_items_due ON work_items (connection, register, state, next_attempt);

        CREATE TABLE attempts (
            id           INTEGER PRIMARY KEY,
            work_item_id INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
            attempt      INTEGER NOT NULL,
            started_at   TEXT NOT NULL,
            finished_at  TEXT,
            outcome      TEXT NOT NULL DEFAULT 'running',
            error        TEXT NOT NULL DEFAULT ''
        );
        INSERT INTO attempts (id, work_item_id, attempt, started_at, finished_at, outcome, error)
        SELECT id, work_item_id, attempt, started_at, finished_at, outcome, error
            FROM attempts_parked;
        CREATE INDEX attempts_item ON attempts (work_item_id);

        CREATE TABLE events (
            id           INTEGER PRIMARY KEY,
            at           TEXT NOT NULL,
            connection   TEXT NOT NULL,
            register     TEXT NOT NULL,
            instance     TEXT NOT NULL,
            external_id  TEXT NOT NULL,
            work_item_id INTEGER REFERENCES work_items (id) ON DELETE SET NULL,
            kind         TEXT NOT NULL,
            message      TEXT NOT NULL
        );
        INSERT INTO events (id, at, connection, register, instance, external_id, work_item_id,
            kind, message)
        SELECT id, at, connection, register, instance, external_id, work_item_id, kind, message
            FROM events_parked;
        CREATE INDEX events_record ON events (connection, register, instance, external_id);
        CREATE INDEX events_at ON events (at);

        DROP TABLE attempts_parked;
        DROP TABLE events_parked
        """,
    ),
    (
        3,
        "in-doubt writes, history pruning",
        # doubt_until: a write whose outcome is unknown (timeout, dropped connection, kill) may
        # still land; until this time an empty lookup by reference does not allow a new send.
        """
        ALTER TABLE work_items ADD COLUMN doubt_until TEXT NOT NULL DEFAULT '';
        CREATE INDEX work_items_done_at ON work_items (done_at)
        """,
    ),
    (
        4,
        "register counts",
        # Items per (connection, register, state), kept by triggers so `counts()` (metrics every
        # few seconds, `brygga status`) reads a handful of rows instead of the whole history.
        # A migration that rebuilds work_items (as 2 did) drops these triggers: recreate them.
        """
        CREATE TABLE register_counts (
            connection TEXT NOT NULL,
            register   TEXT NOT NULL,
            state      TEXT NOT NULL,
            n          INTEGER NOT NULL,
            PRIMARY KEY (connection, register, state)
        ) WITHOUT ROWID;
        INSERT INTO register_counts (connection, register, state, n)
        SELECT connection, register, state, COUNT(*) FROM work_items
            GROUP BY connection, register, state;

        CREATE TRIGGER work_items_count_insert AFTER INSERT ON work_items BEGIN
            INSERT INTO register_counts (connection, register, state, n)
                VALUES (NEW.connection, NEW.register, NEW.state, 1)
                ON CONFLICT (connection, register, state) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER work_items_count_update AFTER UPDATE OF connection, register, state
            ON work_items
            WHEN OLD.state IS NOT NEW.state OR OLD.connection IS NOT NEW.connection
                OR OLD.register IS NOT NEW.register
        BEGIN
            UPDATE register_counts SET n = n - 1 WHERE connection = OLD.connection
                AND register = OLD.register AND state = OLD.state;
            INSERT INTO register_counts (connection, register, state, n)
                VALUES (NEW.connection, NEW.register, NEW.state, 1)
                ON CONFLICT (connection, register, state) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER work_items_count_delete AFTER DELETE ON work_items BEGIN
            UPDATE register_counts SET n = n - 1 WHERE connection = OLD.connection
                AND register = OLD.register AND state = OLD.state;
        END
        """,
    ),
    (
        5,
        "adapter state",
        # What an adapter must keep per account across restarts and daemons: a rotating
        # refresh token, an asynchronous import job's id. Values are opaque bytes.
        """
        CREATE TABLE adapter_state (
            account    TEXT NOT NULL,
            key        TEXT NOT NULL,
            value      BLOB NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (account, key)
        )
        """,
    ),
    (
        6,
        "catalog",
        # reopens: a catalog item (one per register, target and SKU) is queued again when a
        # newer change of its record is seen, also after it finished. written: the content hash
        # of what was last written to a target (changed-only writes, echo suppression); kept
        # when finished items are pruned. order_lines: SKU quantities of shop orders (the sum
        # of those not yet transferred is taken off the stock pushed to the shops); a row with
        # sku '' marks an order whose lines are known.
        """
        ALTER TABLE work_items ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;

        CREATE TABLE written (
            connection  TEXT NOT NULL,
            register    TEXT NOT NULL,
            instance    TEXT NOT NULL,
            external_id TEXT NOT NULL,
            hash        TEXT NOT NULL,
            written_at  TEXT NOT NULL,
            PRIMARY KEY (connection, register, instance, external_id)
        ) WITHOUT ROWID;

        CREATE TABLE order_lines (
            work_item_id INTEGER NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
            sku          TEXT NOT NULL,
            quantity     TEXT NOT NULL,
            PRIMARY KEY (work_item_id, sku)
        ) WITHOUT ROWID;
        CREATE INDEX order_lines_sku ON order_lines (sku)
        """,
    ),
    (
        7,
        "rate limiter windows",
        # What the account rate limiters remember across restarts (brygga.store.limiters): per
        # account key (host and a hash of the credentials, never a secret) the send times of
        # the last window, a pause and the adapted count. limiter_run is one row: the running
        # process's lease (no request starts after lease_until without a newer row), when it
        # stopped cleanly (NULL while it runs, and after a crash), and until when sends of an
        # earlier process nobody recorded may reach. Times used in arithmetic are REAL Unix
        # seconds (UTC). A state file where no daemon has recorded anything yet starts with a
        # clean stop, so the first daemon on it does not wait.
        """
        CREATE TABLE limiter_windows (
            account        TEXT PRIMARY KEY,
            sends          TEXT NOT NULL,
            paused_until   REAL,
            allowed        REAL NOT NULL,
            slow_start     INTEGER NOT NULL,
            limit_requests INTEGER NOT NULL,
            limit_seconds  REAL NOT NULL,
            saved_at       TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE limiter_run (
            id            INTEGER PRIMARY KEY CHECK (id = 1),
            run_id        TEXT NOT NULL,
            started_at    TEXT NOT NULL,
            lease_until   REAL NOT NULL,
            unknown_until REAL,
            stopped_at    TEXT
        );
        INSERT INTO limiter_run (id, run_id, started_at, lease_until, unknown_until, stopped_at)
        SELECT 1, '', strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z', 0, NULL,
            strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z'
        WHERE NOT EXISTS (SELECT 1 FROM work_items) AND NOT EXISTS (SELECT 1 FROM cursors)
            AND NOT EXISTS (SELECT 1 FROM register_status) AND NOT EXISTS (SELECT 1 FROM bindings)
        """,
    ),
    (
        8,
        "events by work item",
        # events.work_item_id references work_items ON DELETE SET NULL: without an index every
        # pruned record scanned the whole events table (operator QA: 20,000 records took 414 s,
        # 2.1 s with the index, and order transfers stood still meanwhile)
        """
        CREATE INDEX events_item ON events (work_item_id);
        """,
    ),
)

#: the schema version this brygga writes
LATEST = max(version for version, _, _ in MIGRATIONS)

#: migrations a file may lack and still be read and written as it is by the commands that never
#: migrate (`status`, `errors`, `check`): they only add indexes. A file that lacks any other one
#: waits for `brygga run` of this version (an older daemon may still be running on it).
OPTIONAL_FOR_READERS = frozenset({8})


def too_new(path: Path, version: int) -> str:
    """The one-line error for a state file written by a newer brygga."""
    return (
        f"{path}: schema version {version}, but this brygga knows versions up to {LATEST}; "
        "use a newer brygga (or restore a backup)"
    )


def too_old(path: Path, version: int) -> str:
    """The one-line error for a state file an older brygga left, which this command cannot
    read as it is (and does not migrate: an older daemon may still be running on it)."""
    return (
        f"{path}: schema version {version}, from an older brygga; this one reads version "
        f"{LATEST}, and `brygga run` of this version migrates the file when it starts (stop "
        "the older daemon first); this command does not change it"
    )


def file_version(path: Path) -> int | None:
    """The schema version of the state file at ``path``, read without writing (0 for a file
    with no migrations yet); None when there is no file or it cannot be read (the state path
    check and the store say why). Read through SQLite, never open()/close(): see
    :func:`brygga.config.state_path_problem`."""
    if not path.is_file():
        return None
    try:
        probe = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            found = probe.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            ).fetchone()
            if found is None:
                return 0
            row = probe.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        finally:
            probe.close()
    except sqlite3.Error:
        return None
    return int(row[0]) if row and row[0] is not None else 0
