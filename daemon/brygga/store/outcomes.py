"""What a worker decided about one claimed item, applied to the store in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from brygga.store.bindings import Binding, delete_binding, insert_binding
from brygga.store.catalog import OrderLines, record_order_lines, record_written
from brygga.store.db import Tx, to_ts
from brygga.store.events import Event, insert_event
from brygga.store.keys import work_key
from brygga.store.status import mark_failure, mark_success

__all__ = ["FollowUp", "Health", "Outcome", "apply_outcome", "queue_follow_up"]


@dataclass(frozen=True)
class FollowUp:
    """Another item to queue with the outcome (e.g. an order's write-back).

    An item with the same key that already exists is left alone, unless ``reopen`` is set:
    then one that is not in flight is queued again with this payload (a replay's new document
    number to write back). With ``source_time`` the item is a reopening one (like a catalog
    record, :attr:`brygga.store.Discovered.reopen`): a newer ``source_time`` queues it again
    with this payload, also while it is in flight (then once its attempt finishes).
    """

    register: str
    instance: str
    external_id: str
    payload: bytes | None = None
    reopen: bool = False
    source_time: datetime | None = None


@dataclass(frozen=True)
class Health:
    """The register line ``brygga status`` shows: ok, or failing with the sentence."""

    register: str
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class Outcome:
    """The next state of a claimed item and everything that goes with it.

    ``revisit``: the look changed nothing (not ready yet, a write still in doubt): the claim's
    attempt is given back, so waiting never uses up the retry budget or grows the history, and
    an intent the claim recorded (``WorkItem.intent``) is withdrawn.
    ``doubt_until``: a write whose outcome is unknown may still land before this time; until
    then an empty lookup by reference must not lead to a new send.
    """

    state: str
    error: str = ""
    result: str = ""
    next_attempt: datetime | None = None
    events: tuple[tuple[str, str], ...] = ()
    bind: Binding | None = None
    #: drop the record's earlier binding before ``bind`` (a forced replay's new document)
    replace_binding: bool = False
    follow_ups: tuple[FollowUp, ...] = ()
    health: Health | None = None
    revisit: bool = False
    #: the attempt failed before anything was sent: the intent its claim recorded is withdrawn
    #: (the record shows no reference, and a restart does not treat it as in doubt)
    withdraw_intent: bool = False
    doubt_until: datetime | None = None
    #: the content hash of what this attempt wrote (or found already there) under the item's
    #: key: the next claim reads it (``WorkItem.written``); None leaves the recorded one
    written: str | None = None
    #: SKU quantities of orders the handler looked up (stock held by orders in flight)
    order_lines: tuple[OrderLines, ...] = ()


_ATTEMPT_OUTCOME = {"reconcile": "in doubt"}


def apply_outcome(
    tx: Tx,
    *,
    item_id: int,
    connection: str,
    register: str,
    instance: str,
    external_id: str,
    outcome: Outcome,
    now: datetime,
) -> None:
    """Inside one transaction: bindings, the item's state, its attempt, events, follow-ups."""
    stamp = to_ts(now)
    if outcome.bind is not None:
        if outcome.replace_binding:
            delete_binding(
                tx,
                connection,
                outcome.bind.entity,
                outcome.bind.source_instance,
                outcome.bind.source_id,
            )
        insert_binding(tx, connection, outcome.bind, now)
    state = outcome.state
    tx.execute(
        "UPDATE work_items SET state = ?, last_error = ?,"
        " result = CASE WHEN ? = '' THEN result ELSE ? END, next_attempt = ?, updated_at = ?,"
        " done_at = CASE WHEN ? IN ('done', 'failed', 'skipped') THEN ? ELSE NULL END,"
        " doubt_until = CASE WHEN ? IS NULL THEN doubt_until ELSE ? END,"
        " attempts = attempts - ? WHERE id = ?",
        (
            state,
            outcome.error,
            outcome.result,
            outcome.result,
            to_ts(outcome.next_attempt or now),
            stamp,
            state,
            stamp,
            None if outcome.doubt_until is None else 1,
            to_ts(outcome.doubt_until) if outcome.doubt_until else "",
            1 if outcome.revisit else 0,
            item_id,
        ),
    )
    if outcome.revisit:
        tx.execute(
            "DELETE FROM attempts WHERE work_item_id = ? AND finished_at IS NULL", (item_id,)
        )
    else:
        tx.execute(
            "UPDATE attempts SET finished_at = ?, outcome = ?, error = ?"
            " WHERE work_item_id = ? AND finished_at IS NULL",
            (stamp, _ATTEMPT_OUTCOME.get(state, state), outcome.error, item_id),
        )
    for kind, message in outcome.events:
        insert_event(
            tx,
            Event(
                at=now,
                connection=connection,
                register=register,
                instance=instance,
                external_id=external_id,
                kind=kind,
                message=message,
                work_item_id=item_id,
            ),
        )
    for follow in outcome.follow_ups:
        if follow.source_time is None:  # reopening ones: brygga.store.workitems._apply
            queue_follow_up(tx, connection, follow, stamp)
    if outcome.written is not None:
        record_written(tx, connection, register, instance, external_id, outcome.written, stamp)
    if outcome.order_lines:
        record_order_lines(tx, outcome.order_lines)
    if outcome.health is not None:
        health = outcome.health
        if health.ok:
            mark_success(tx, connection, health.register, instance, now)
        else:
            mark_failure(tx, connection, health.register, instance, health.error, now)


def queue_follow_up(tx: Tx, connection: str, follow: FollowUp, stamp: str) -> None:
    """Queue ``follow`` (not a reopening one) for ``connection`` inside ``tx``."""
    key = work_key(connection, follow.register, follow.instance, follow.external_id)
    cursor = tx.execute(
        "INSERT INTO work_items (connection, register, instance, external_id, idempotency_key,"
        " state, next_attempt, payload, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
        (
            connection,
            follow.register,
            follow.instance,
            follow.external_id,
            key,
            stamp,
            follow.payload,
            stamp,
            stamp,
        ),
    )
    if cursor.rowcount or not follow.reopen:
        return
    tx.execute(
        "UPDATE work_items SET state = 'new', attempts = 0, payload = ?, next_attempt = ?,"
        " updated_at = ?, done_at = NULL WHERE idempotency_key = ?"
        " AND state NOT IN ('sending', 'reconcile')",
        (follow.payload, stamp, stamp, key),
    )
