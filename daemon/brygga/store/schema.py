"""Numbered schema migrations; each runs once and is recorded in ``schema_migrations``."""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

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
)
