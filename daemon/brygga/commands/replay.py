"""`brygga replay order`: run one shop order through the orders flow again, still exactly once."""

from __future__ import annotations

import argparse
import re
import sys
import uuid
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import anyio

from brygga.clock import Clock
from brygga.commands.common import (
    ConfigView,
    ConnectionView,
    brygga_command,
    load,
    load_state_config,
    open_state,
    unknown_connection,
)
from brygga.commands.errors import record_event, stamp
from brygga.config import ResolvedConnection, settle_seconds
from brygga.errors import BryggaError
from brygga.http.client import HttpContext
from brygga.mappings import Mapping
from brygga.runtime.deps import Deps
from brygga.runtime.limiterstate import kept_limiters
from brygga.store import ItemState, Store, WorkItem
from brygga.store.db import Tx
from brygga.store.lock import DaemonLock, daemon_running
from brygga.store.workitems import FINAL, IN_FLIGHT, RUNNABLE
from brygga.sync.flow import Flow
from brygga.sync.orders import REGISTER, WRITEBACK, Replay, replay_of, replay_payload

__all__ = ["POLL_INTERVAL", "ReplayRequest", "replay_order", "run"]

#: how often `replay` looks at the store while the daemon works on the order
POLL_INTERVAL = 0.25


@dataclass(frozen=True)
class ReplayRequest:
    connection: str
    shop: str
    order_id: str
    #: a transferred order gets a NEW ERP document (after ``confirm``)
    force: bool = False
    #: with a daemon running: seconds to wait for the outcome (0: do not wait)
    wait: float = 30.0
    #: no daemon running: do the work in this process
    here: bool = False


def _connection(loaded: ConfigView, request: ReplayRequest) -> ConnectionView | None:
    conn = next((c for c in loaded.connections if c.name == request.connection), None)
    if conn is None:
        print(f"error: {unknown_connection(loaded, request.connection)}", file=sys.stderr)
        return None
    shops = [s.name for s in conn.shops]
    if request.shop not in shops:
        print(
            f"error: connection {conn.name!r} has no shop named {request.shop!r} "
            f"(shops: {', '.join(shops)})",
            file=sys.stderr,
        )
        return None
    return conn


async def replay_order(
    loaded: ConfigView,
    request: ReplayRequest,
    *,
    confirm: Callable[[str], bool],
    mappings: Sequence[Mapping] = (),
    http: HttpContext | None = None,
) -> int:
    """Queue one order again (for a forced replay: a new document) and report its outcome.

    ``confirm`` is asked before a forced replay changes anything. ``http`` is what ``--here``
    builds its adapters with (tests route it to simulators; its clock is the replay's); the
    CLI passes none and gets a normal one. Exit code: 0 done or already done, 1 failed / not
    finished / refused, 2 usage.
    ``loaded`` may be a :class:`~brygga.commands.common.StateConfig` (no secrets) unless
    ``request.here``: sending needs the adapters.
    """
    conn = _connection(loaded, request)
    if conn is None:
        return 2
    if request.here and not isinstance(conn, ResolvedConnection):
        raise TypeError("replay --here needs a fully loaded config (adapters and secrets)")
    state = loaded.state_path
    async with AsyncExitStack() as stack:
        if request.here:
            lock = DaemonLock(state)
            try:
                lock.acquire()
            except BryggaError:
                print(
                    f"error: a brygga daemon (or another replay --here) is working on {state}; "
                    "run without --here and the daemon does the replay",
                    file=sys.stderr,
                )
                return 2
            stack.callback(lock.release)
            running = False
        else:
            running = daemon_running(state)
        # --here holds the daemon lock, so no daemon runs on the file: it may be migrated; a
        # replay for the daemon migrates only when none runs (an older one may)
        store = await (Store.open(state) if request.here else open_state(state, migrate=True))
        stack.push_async_callback(store.close)
        deps = Deps(store=store, http=http or HttpContext())
        clock = deps.clock
        run_id = f"replay-{uuid.uuid4().hex}"
        if request.here:
            # We hold the daemon lock: anything still SENDING was left by a stopped process,
            # and the account windows in the state file are ours to keep (as the daemon does)
            assert isinstance(conn, ResolvedConnection)
            await stack.enter_async_context(
                kept_limiters(store.limiters, deps.http.limiters, clock, run_id)
            )
            await store.items.recover(
                connection=conn.name,
                run_id=run_id,
                now=clock.now(),
                settle=settle_seconds(conn.erp_spec, conn.erp),
            )
        unseen = (
            await store.items.find(
                connection=conn.name,
                register=REGISTER,
                instance=request.shop,
                external_id=request.order_id,
            )
            is None
        )
        flow: Flow | None = None
        if request.here:
            assert isinstance(conn, ResolvedConnection)
            flow = deps.open_flow(conn, run_id=run_id, mappings=mappings)
            stack.push_async_callback(flow.aclose)
            if unseen and await _not_in_shop(flow, request):
                return 1
        # the health row the order's outcome writes: put back if its record is forgotten
        health = await _health(store, conn.name, request.shop)
        queued = await _queue(store, conn, request, running=running, confirm=confirm, clock=clock)
        if isinstance(queued, int):
            return queued
        if flow is not None:
            return await _run_here(flow, queued, unseen=unseen, health=health)
        if not conn.config.enabled:
            print(f"note: connection {conn.name} is disabled: no daemon runs it; --here does")
        if not running:
            print(
                f"no daemon is running on {state}: the replay happens when it starts "
                f"({brygga_command()} run -c {loaded.path}), or now with --here"
            )
            return 0
        if request.wait <= 0:
            print("the running daemon picks it up within seconds")
            return 0
        print(f"waiting up to {request.wait:g} s for the running daemon…")
        return await _await_outcome(store, queued, request.wait, unseen=unseen, health=health)
    raise AssertionError("unreachable")  # pragma: no cover  (mypy: the stack may swallow)


async def _queue(
    store: Store,
    conn: ConnectionView,
    request: ReplayRequest,
    *,
    running: bool,
    confirm: Callable[[str], bool],
    clock: Clock,
) -> WorkItem | int:
    """Put the order (back) in the queue and return its item, or an exit code after saying
    why nothing is to be run."""
    oid, shop = request.order_id, request.shop
    now = clock.now()
    item = await store.items.find(
        connection=conn.name, register=REGISTER, instance=shop, external_id=oid
    )
    bound = await store.bindings.target_of(conn.name, REGISTER, shop, oid)
    if item is None:
        await store.items.enqueue(
            connection=conn.name,
            register=REGISTER,
            instance=shop,
            external_id=oid,
            now=now,
            ready=True,
        )
        item = await store.items.find(
            connection=conn.name, register=REGISTER, instance=shop, external_id=oid
        )
        assert item is not None
        await record_event(store, item, "replay", "replay requested (order not seen before)")
        print(f"order {oid} was not seen before: queued for transfer")
        return item
    if item.state is ItemState.RECONCILE and request.here:
        # left mid-send by a stopped daemon (we hold the lock): runnable as it is, and the
        # flow looks its reference up in the ERP before it sends anything
        await record_event(store, item, "replay", "replay requested (was mid-send)")
        print(f"order {oid} was mid-send when the daemon stopped: looking it up first")
        return item
    if item.state in IN_FLIGHT:
        if running:
            print(
                f"error: order {oid} is being sent right now ({item.state.value}); "
                "try again shortly",
                file=sys.stderr,
            )
        else:
            print(
                f"error: order {oid} was mid-send when the daemon stopped; the daemon looks it "
                "up in the ERP by reference when it starts (or use --here to do that now)",
                file=sys.stderr,
            )
        return 1
    pending = replay_of(item.payload)
    if bound is not None:
        # A transferred order: only a forced replay sends anything, and only one the person
        # confirmed with --force (a plain replay never starts or restarts one)
        queued_replay = bool(pending.generation) and pending.replaces == bound.target_id
        if queued_replay and item.state in RUNNABLE:
            print(
                f"order {oid}: forced replay {pending.generation} is already queued "
                f"(replaces {bound.target_id})"
            )
            return item
        if not request.force:
            done = item.state is ItemState.DONE
            when = f" (transferred {stamp(item.updated_at)})" if done else ""
            if queued_replay:
                advice = (
                    f"; its forced replay {pending.generation} was not carried out (record "
                    f"{item.id} is {item.state.value}): nothing is sent; --force queues it again"
                )
            else:
                advice = "; --force creates a new document"
            print(f"order {oid} is already in the ERP as {bound.target_id}{when}{advice}")
            return 0
        # a forced replay not carried out keeps its generation: a send it may have made is
        # found by that reference (looked up first) instead of made twice
        nxt = pending if queued_replay else Replay(pending.generation + 1, bound.target_id)
        reference = nxt.reference(conn.name, shop, oid)
        question = (
            f"Create a NEW ERP document for order {oid} (reference {reference})? ERP document "
            f"{bound.target_id} stays in the ERP but is no longer bound to the order."
        )
        if not confirm(question):
            print("not confirmed: nothing changed", file=sys.stderr)
            return 1
        if not await store.items.reopen(
            item.id, now, from_states=[item.state], payload=replay_payload(nxt)
        ):
            print(f"error: order {oid} changed meanwhile; try again", file=sys.stderr)
            return 1
        await record_event(
            store,
            item,
            "replay",
            f"forced replay {nxt.generation} requested: a new document with reference "
            f"{reference} will replace ERP document {bound.target_id}",
        )
        print(f"order {oid}: forced replay {nxt.generation} queued (replaces {bound.target_id})")
    else:
        if request.force:
            print(f"order {oid} is not in the ERP ({item.state.value}): no new document needed")
        if not await store.items.requeue(item.id, now, from_states=[item.state]):
            print(f"error: order {oid} is being sent right now; try again shortly", file=sys.stderr)
            return 1
        await record_event(store, item, "replay", f"replay requested (was {item.state.value})")
        print(f"order {oid} ({item.state.value}) queued again")
    fresh = await store.items.get(item.id)
    assert fresh is not None
    return fresh


async def _not_in_shop(flow: Flow, request: ReplayRequest) -> bool:
    """Whether the shop says it has no such order (its fetch answered 404), said to the
    person: an id the state file never saw is then a mistyped one, and nothing is recorded
    (no record, no event, no health row). Any other answer lets the flow decide."""
    shop = flow.shops.get(request.shop)
    if shop is None:
        return False
    try:
        await shop.fetch_order(request.order_id)
    except BryggaError as exc:
        if not _NOT_FOUND.search(str(exc)):
            return False
    else:
        return False
    print(
        f"error: no order {request.order_id} in shop {request.shop}; check the id "
        "(nothing was recorded)",
        file=sys.stderr,
    )
    return True


async def _run_here(
    flow: Flow, queued: WorkItem, *, unseen: bool = False, health: _Row = None
) -> int:
    """Claim THIS item only and process it with the real flow, then its write-back."""
    claimed = await flow.engine.claim_item(queued.id, REGISTER)
    if claimed is None:
        print(f"error: order {queued.external_id} could not be claimed", file=sys.stderr)
        return 1
    print(f"order {queued.external_id}: sending from this process…")
    await flow.process(claimed)
    item = await flow.store.items.get(queued.id)
    assert item is not None
    if item.state is ItemState.DONE:
        await _write_back_here(flow, item)
    return await _outcome(flow.store, item, unseen=unseen, health=health)


async def _write_back_here(flow: Flow, item: WorkItem) -> None:
    back = await flow.store.items.find(
        connection=item.connection,
        register=WRITEBACK,
        instance=item.instance,
        external_id=item.external_id,
    )
    if back is None or back.state not in RUNNABLE:
        return
    claimed = await flow.engine.claim_item(back.id, WRITEBACK)
    if claimed is None:
        return
    state = await flow.process(claimed)
    if state is ItemState.DONE:
        print(f"order {item.external_id}: document number written back to shop {item.instance}")
    else:
        print(
            f"order {item.external_id}: writing the document number back to the shop is "
            f"{state.value}; the daemon finishes it (`brygga errors show {back.id}`)"
        )


#: how a shop adapter says that an order does not exist (its fetch answered HTTP 404)
_NOT_FOUND = re.compile(r"\(404\)|\bHTTP 404\b|\b404 Not Found\b")


async def _outcome(store: Store, item: WorkItem, *, unseen: bool, health: _Row = None) -> int:
    """Report the replay's outcome. An order the state file had never seen, which the shop
    says does not exist, is a mistyped id: its record is removed again (nothing in the error
    queue, and a real order that gets this id later is not blocked by it), and the health row
    its failure marked is put back as it was (``health``), so `brygga status` shows no
    failure of a record that is not there."""
    missing = item.state is ItemState.FAILED and _NOT_FOUND.search(item.last_error)
    if unseen and missing and await _forget(store, item, health):
        print(
            f"error: no order {item.external_id} in shop {item.instance}; check the id "
            "(nothing was recorded)",
            file=sys.stderr,
        )
        return 1
    return _report(item)


#: a ``register_status`` row as it was (None: there was none)
_Row = tuple[object, ...] | None
_HEALTH = "state, last_success, last_error, last_error_at, updated_at"


async def _health(store: Store, connection: str, shop: str) -> _Row:
    """The orders register's health row of ``shop`` as it is now."""
    row = await store.db.fetchone(
        f"SELECT {_HEALTH} FROM register_status WHERE connection = ? AND register = ?"
        " AND instance = ?",
        (connection, REGISTER, shop),
    )
    return None if row is None else tuple(row)


async def _forget(store: Store, item: WorkItem, health: _Row = None) -> bool:
    """Remove a failed record and its events; True if it was still failed (and unbound).
    The health row its failure marked failing is put back to ``health`` (removed when there
    was none), unless another record's outcome has written it since."""

    def body(tx: Tx) -> bool:
        row = tx.execute(
            "SELECT 1 FROM bindings WHERE connection = ? AND entity = ? AND source_instance = ?"
            " AND source_id = ?",
            (item.connection, item.register, item.instance, item.external_id),
        ).fetchone()
        if row is not None:
            return False
        tx.execute("DELETE FROM events WHERE work_item_id = ?", (item.id,))
        gone = tx.execute(
            "DELETE FROM work_items WHERE id = ? AND state = 'failed'", (item.id,)
        ).rowcount
        if not gone:
            raise _Kept  # roll the events back too
        key = (item.connection, item.register, item.instance)
        where = " WHERE connection = ? AND register = ? AND instance = ?"
        marked = tx.execute(
            "SELECT 1 FROM register_status" + where + " AND state = 'failing' AND last_error = ?",
            (*key, item.last_error),
        ).fetchone()
        if marked is None:
            return True  # written since by another record's outcome: it stands
        if health is None:
            tx.execute("DELETE FROM register_status" + where, key)
        else:
            tx.execute(
                "UPDATE register_status SET state = ?, last_success = ?, last_error = ?,"
                " last_error_at = ?, updated_at = ?" + where,
                (*health, *key),
            )
        return True

    try:
        return await store.db.run(body)
    except _Kept:
        return False


class _Kept(Exception):
    """The record changed meanwhile: nothing is removed."""


def _report(item: WorkItem) -> int:
    oid = item.external_id
    if item.state is ItemState.DONE:
        print(f"order {oid} is in the ERP as {item.result}")
        return 0
    if item.state is ItemState.SKIPPED:
        print(f"order {oid} skipped: {item.last_error}")
        return 0
    if item.state is ItemState.FAILED:
        print(f"order {oid} failed: {item.last_error} (record {item.id})")
        return 1
    if item.state is ItemState.RESOLVED:
        print(f"order {oid} was resolved by hand meanwhile: {item.result}")
        return 1
    if item.state is ItemState.WAITING:
        print(
            f"order {oid} is not ready for transfer (its shop status); it is looked at again "
            f"at {stamp(item.next_attempt)}"
        )
        return 1
    detail = f": {item.last_error}" if item.last_error else ""
    print(f"order {oid} is not finished ({item.state.value}{detail}); record {item.id}")
    return 1


async def _await_outcome(
    store: Store, queued: WorkItem, seconds: float, *, unseen: bool = False, health: _Row = None
) -> int:
    """Watch the item while the daemon works on it; report once it settles or time runs out."""
    item = queued
    with anyio.move_on_after(seconds):
        while True:
            await anyio.sleep(POLL_INTERVAL)
            current = await store.items.get(queued.id)
            assert current is not None
            item = current
            worked = item.attempts > queued.attempts
            if item.state in FINAL or (worked and item.state is ItemState.WAITING):
                return await _outcome(store, item, unseen=unseen, health=health)
    print(f"not finished after {seconds:g} s; the daemon keeps working on it")
    _report(item)
    return 1


def _confirm_on_tty(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    if args.force and not args.yes and not (sys.stdin is not None and sys.stdin.isatty()):
        print(
            "error: --force creates a new ERP document and needs confirmation: "
            "run it in a terminal, or add --yes",
            file=sys.stderr,
        )
        return 2
    if args.wait < 0:
        print("error: --wait must be 0 or more seconds", file=sys.stderr)
        return 2
    # Only --here sends anything: without it the command writes the state file, so it reads
    # no secret (it works from a shell without the daemon's credentials).
    path = Path(args.config)
    mappings: Sequence[Mapping] = ()
    try:
        if args.here:
            loaded, host = load(path)
            view: ConfigView = loaded
            mappings = host.mappings
        else:
            view = load_state_config(path)
    except BryggaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    request = ReplayRequest(
        connection=args.connection,
        shop=args.shop,
        order_id=args.order_id,
        force=args.force,
        wait=args.wait,
        here=args.here,
    )

    def confirm(question: str) -> bool:
        return True if args.yes else _confirm_on_tty(question)

    async def main() -> int:
        return await replay_order(view, request, confirm=confirm, mappings=mappings)

    try:
        return anyio.run(main, backend="asyncio")
    except BryggaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
