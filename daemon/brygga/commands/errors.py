"""`brygga errors`: the per-record error queue — list, show, retry and resolve failed records."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import anyio

from brygga.commands.common import (
    ConfigView,
    brygga_command,
    load_state_config,
    open_state,
    print_table,
    terminal_width,
    unknown_connection,
)
from brygga.errors import BryggaError
from brygga.models import Register
from brygga.store import Event, ItemState, Store, WorkItem
from brygga.store.db import from_ts
from brygga.store.lock import daemon_running
from brygga.store.workitems import FINAL, IN_FLIGHT
from brygga.sync.engine import EXTERNAL_POLL
from brygga.sync.references import Replay, replay_of, replay_payload

__all__ = [
    "RESOLVABLE",
    "RETRYABLE",
    "list_errors",
    "record_event",
    "resolve_error",
    "retry_errors",
    "run",
    "show_error",
    "stamp",
]

#: states `errors retry ID` moves back to `new` (`--all` takes failed records only)
RETRYABLE = (ItemState.FAILED, ItemState.RESOLVED)
#: states a person may close by hand: failed, and waiting for a (re)try; never one being sent
#: or in doubt (in flight, or with an earlier send that may still land), nor a finished one
RESOLVABLE = (ItemState.FAILED, ItemState.RETRY, ItemState.WAITING, ItemState.NEW)
#: the register whose items may carry a forced replay (``brygga replay order --force``)
_ORDERS = Register.ORDERS.value

_NO_LIMIT = 1_000_000_000
_ERROR_WIDTH = 100


def stamp(when: datetime | None) -> str:
    """A store time as the CLI prints it."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else "-"


def _age(when: datetime, now: datetime) -> str:
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _first_line(text: str, limit: int | None = _ERROR_WIDTH) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if limit is None or len(line) <= limit else line[: limit - 1] + "…"


async def record_event(store: Store, item: WorkItem, kind: str, message: str) -> None:
    """Add an event to a work item's log (what the CLI did to it, and why)."""
    await store.events.add(
        Event(
            at=datetime.now(UTC),
            connection=item.connection,
            register=item.register,
            instance=item.instance,
            external_id=item.external_id,
            kind=kind,
            message=message,
            work_item_id=item.id,
        )
    )


def _where_it_happens(loaded: ConfigView, count: int) -> str:
    them = "it" if count == 1 else "them"
    state = loaded.state_path
    if daemon_running(state):
        return (
            f"the running daemon picks {them} up within seconds (idle workers look every "
            f"{EXTERNAL_POLL:g} s)"
        )
    return (
        f"no daemon is running on {state}: the retry happens when it next starts "
        f"({brygga_command()} run -c {loaded.path})"
    )


def _no_state(loaded: ConfigView) -> bool:
    if loaded.state_path.exists():
        return False
    print(f"no state yet at {loaded.state_path}: the daemon has not run with this config")
    return True


def _known_connection(loaded: ConfigView, connection: str | None) -> bool:
    if connection is None or connection in [c.name for c in loaded.connections]:
        return True
    print(f"error: {unknown_connection(loaded, connection)}", file=sys.stderr)
    return False


async def list_errors(
    loaded: ConfigView,
    connection: str | None,
    now: datetime,
    *,
    width: int | None = None,
    full: bool = False,
) -> int:
    """Print failed records as a table, cut to ``width`` columns (``full``: not cut, and the
    whole first line of each error); exit code 0 (2 for an unknown connection)."""
    if not _known_connection(loaded, connection):
        return 2
    if _no_state(loaded):
        return 0
    async with await open_state(loaded.state_path) as store:
        failed = await store.items.query(
            states=[ItemState.FAILED], connection=connection, limit=_NO_LIMIT
        )
        tried = {item.id: len(await store.items.attempts(item.id)) for item in failed}
    if not failed:
        print("no failed records" + (f" in connection {connection}" if connection else ""))
        return 0
    rows: list[Sequence[str]] = [
        ("id", "connection", "register", "shop", "record", "attempts", "age", "error")
    ]
    for item in failed:
        rows.append(
            (
                str(item.id),
                item.connection,
                item.register,
                item.instance,
                item.external_id,
                _attempts(item, tried[item.id], short=not full),
                _age(item.updated_at, now),
                _first_line(item.last_error, None if full else _ERROR_WIDTH),
            )
        )
    print_table(rows, indent="", width=None if full else width)
    print(
        f"{len(failed)} failed record(s); `brygga errors show ID` for details, "
        "`errors retry ID|--all` after fixing the cause, `errors resolve ID --note TEXT` to close"
    )
    return 0


def _attempts(item: WorkItem, history: int, *, short: bool = False) -> str:
    """How often the record was tried: every attempt in its history, and (when a person
    retried or replayed it since) how many came after that, which is what its retry budget
    counts (``item.attempts``)."""
    total = max(history, item.attempts)
    if total == item.attempts:
        return str(total)
    if short:
        return f"{total} ({item.attempts} since retry)"
    return f"{total} ({item.attempts} since the last retry or replay)"


def _payload_text(payload: bytes | None) -> str:
    if payload is None:
        return "(none)"
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return f"({len(payload)} bytes, not UTF-8) {payload[:48].hex()}"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in (text.splitlines() or [""]))


async def show_error(loaded: ConfigView, item_id: int) -> int:
    """Print one record: every field, its payload, its attempts and its event log."""
    if _no_state(loaded):
        return 1
    async with await open_state(loaded.state_path) as store:
        item = await store.items.get(item_id)
        if item is None:
            print(f"error: no record with id {item_id} in {loaded.state_path}", file=sys.stderr)
            return 1
        attempts = await store.items.attempts(item_id)
        events = await store.events.for_record(
            item.connection, item.register, item.instance, item.external_id
        )
    fields = [
        ("connection", item.connection),
        ("register", item.register),
        ("shop", item.instance),
        ("record", item.external_id),
        ("state", item.state.value),
        ("attempts", _attempts(item, len(attempts))),
        # a finished record (done, failed, skipped, resolved) is not tried again on its own
        ("next attempt", "-" if item.state in FINAL else stamp(item.next_attempt)),
        ("reference", item.reference or "-"),
        ("result", item.result or "-"),
        ("source time", item.source_time or "-"),
        ("run id", item.run_id or "-"),
        ("created", stamp(item.created_at)),
        ("updated", stamp(item.updated_at)),
    ]
    print(f"record {item.id}")
    for name, value in fields:
        print(f"  {name:13} {value}")
    print("  error")
    print(_indent(item.last_error or "-"))
    print("payload")
    print(_indent(_payload_text(item.payload), "  "))
    print("attempts")
    if attempts:
        rows: list[Sequence[str]] = [("#", "started", "finished", "outcome", "error")]
        for row in attempts:
            started = _stored_stamp(row["started_at"])
            finished = _stored_stamp(row["finished_at"])
            rows.append(
                (str(row["attempt"]), started, finished, row["outcome"], row["error"] or "-")
            )
        print_table(rows)
    else:
        print("  (none)")
    print("events")
    if events:
        print_table(
            [("at", "kind", "message"), *((stamp(e.at), e.kind, e.message) for e in events)]
        )
    else:
        print("  (none)")
    return 0


def _stored_stamp(text: str | None) -> str:
    if not text:
        return "-"
    try:
        return stamp(from_ts(text))
    except ValueError:
        return text


async def retry_errors(
    loaded: ConfigView, item_id: int | None, *, connection: str | None = None
) -> int:
    """Move one record (or, with ``item_id`` None, every failed one) back to ``new``."""
    if not _known_connection(loaded, connection):
        return 2
    if _no_state(loaded):
        return 1 if item_id is not None else 0
    now = datetime.now(UTC)
    async with await open_state(loaded.state_path) as store:
        if item_id is None:
            items = await store.items.query(
                states=[ItemState.FAILED], connection=connection, limit=_NO_LIMIT
            )
            from_states: Sequence[ItemState] = [ItemState.FAILED]
        else:
            one = await store.items.get(item_id)
            if one is None:
                print(f"error: no record with id {item_id} in {loaded.state_path}", file=sys.stderr)
                return 1
            if one.state not in RETRYABLE:
                hint = ""
                if one.state is ItemState.DONE:
                    hint = " (`brygga replay order` runs a transferred order again)"
                print(
                    f"error: record {item_id} is {one.state.value}, not failed: nothing to retry"
                    + hint,
                    file=sys.stderr,
                )
                return 1
            items, from_states = [one], RETRYABLE
        moved = 0
        for item in items:
            # a record resolved with its forced replay still pending (a state file from before
            # resolve dropped it): retried, it must not make the document the person declined
            dropped = (
                await _pending_replay(store, item) if item.state is ItemState.RESOLVED else None
            )
            if dropped is not None:
                requeued = await store.items.reopen(
                    item.id,
                    now,
                    from_states=[ItemState.RESOLVED],
                    payload=replay_payload(Replay(dropped.generation - 1)),
                )
            else:
                requeued = await store.items.requeue(item.id, now, from_states=from_states)
            if requeued:
                await record_event(store, item, "requeued", "retry requested from the command line")
                moved += 1
    if item_id is not None and not moved:
        print(f"error: record {item_id} changed meanwhile; look again", file=sys.stderr)
        return 1
    if not moved:
        print("no failed records to retry")
        return 0
    what = f"record {item_id}" if item_id is not None else f"{moved} failed record(s)"
    print(f"requeued {what}; {_where_it_happens(loaded, moved)}")
    return 0


async def resolve_error(loaded: ConfigView, item_id: int, note: str) -> int:
    """Close a record by hand with a note (state ``resolved``); it is never picked up again."""
    if not note.strip():
        print("error: --note must say why the record is resolved", file=sys.stderr)
        return 2
    if _no_state(loaded):
        return 1
    now = datetime.now(UTC)
    async with await open_state(loaded.state_path) as store:
        item = await store.items.get(item_id)
        if item is None:
            print(f"error: no record with id {item_id} in {loaded.state_path}", file=sys.stderr)
            return 1
        if item.state in IN_FLIGHT:
            print(
                f"error: record {item_id} is being worked on right now ({item.state.value}); "
                "try again shortly",
                file=sys.stderr,
            )
            return 1
        if item.state not in RESOLVABLE:
            print(
                f"error: record {item_id} is {item.state.value}: nothing to resolve",
                file=sys.stderr,
            )
            return 1
        doubt = _in_doubt(item, now)
        if doubt:
            print(f"error: record {item_id} is in doubt: {doubt}", file=sys.stderr)
            return 1
        dropped = await _pending_replay(store, item)
        payload = None if dropped is None else replay_payload(Replay(dropped.generation - 1))
        if not await store.items.resolve(
            item_id, note, now, from_states=[item.state], payload=payload
        ):
            print(f"error: record {item_id} changed meanwhile; look again", file=sys.stderr)
            return 1
        await record_event(store, item, "resolved", f"resolved by hand: {note}")
        if dropped is not None:
            await record_event(
                store,
                item,
                "replay",
                f"forced replay {dropped.generation} dropped: no new document; the order "
                f"stays in the ERP as {dropped.replaces}",
            )
    print(f"record {item_id} resolved: {note}")
    if dropped is not None:
        print(
            f"forced replay {dropped.generation} of order {item.external_id} dropped: no new "
            f"document is made; the order stays in the ERP as {dropped.replaces}"
        )
    return 0


def _in_doubt(item: WorkItem, now: datetime) -> str:
    """Why resolving the record now could orphan a document the ERP may have (an earlier
    send's outcome is unknown, or it was stored and answered an error), or "" if it cannot.

    A failed record is always resolvable: that is what the command is for. One waiting for a
    retry is, unless an earlier attempt of what it sends now recorded its intent and did not
    withdraw it (a timeout, a commit-then-fail): its next attempt looks that reference up."""
    if item.state is ItemState.FAILED:
        return ""
    if item.doubt_until is not None and item.doubt_until > now:
        return (
            f"an earlier send (reference {item.reference or '-'}) may still land; it is looked "
            f"up by reference until {stamp(item.doubt_until)}. Resolve it after that if it "
            "is still open"
        )
    if item.register != _ORDERS or not item.reference:
        return ""
    current = replay_of(item.payload).reference(item.connection, item.instance, item.external_id)
    if item.reference != current:
        return ""  # an earlier generation's reference: its document is the one bound
    return (
        f"an earlier attempt sent it (reference {item.reference}) and its outcome is unknown: "
        "the ERP may have the document. Its next attempt looks that reference up and binds "
        f"what it finds; let it run (`brygga errors show {item.id}`), and resolve it if it "
        "fails"
    )


async def _pending_replay(store: Store, item: WorkItem) -> Replay | None:
    """The forced replay queued on an orders item and not carried out yet (its new document
    is to replace the one the order is bound to), or None."""
    if item.register != _ORDERS or item.state not in (*RESOLVABLE, ItemState.RESOLVED):
        return None
    replay = replay_of(item.payload)
    if not replay.generation or not replay.replaces:
        return None
    bound = await store.bindings.target_of(
        item.connection, item.register, item.instance, item.external_id
    )
    return replay if bound is not None and bound.target_id == replay.replaces else None


def run(args: argparse.Namespace) -> int:
    try:
        loaded = load_state_config(Path(args.config))
    except BryggaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    action = args.errors_command
    try:
        if action == "list":

            async def listing() -> int:
                return await list_errors(
                    loaded,
                    args.connection,
                    datetime.now(UTC),
                    width=terminal_width(),
                    full=args.full,
                )

            return anyio.run(listing, backend="asyncio")
        if action == "show":
            return anyio.run(show_error, loaded, args.id, backend="asyncio")
        if action == "retry":

            async def retry() -> int:
                return await retry_errors(
                    loaded, None if args.all else args.id, connection=args.connection
                )

            return anyio.run(retry, backend="asyncio")
        return anyio.run(resolve_error, loaded, args.id, args.note, backend="asyncio")
    except BryggaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
