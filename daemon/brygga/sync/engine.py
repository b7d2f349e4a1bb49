"""The work engine of one connection: workers claim items and hand them to their register's handler.

A handler turns a claimed :class:`WorkItem` into an :class:`Outcome` (or raises NothingToDo,
TransientError or PermanentError); the engine turns errors into retries or failures and has the
store apply the whole outcome in one transaction. Handlers never write to the store themselves.
Discoverers (pollers) record new work; the engine wakes idle workers when work arrives.

A remote that refuses the connection's credentials (:class:`~brygga.errors.CredentialsRejected`)
is no record's failure: the engine holds the connection's work (see :class:`CredentialsHold`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import anyio

from brygga.clock import Clock
from brygga.errors import (
    BryggaError,
    CredentialsRejected,
    NothingToDo,
    PermanentError,
    TransientError,
    credentials_rejection,
)
from brygga.runtime.backoff import Backoff, retry_delay
from brygga.store import Health, Intent, ItemState, Outcome, Reads, Store, WorkItem
from brygga.sync.observer import FlowObserver, NullObserver

__all__ = [
    "CREDENTIALS_WAIT",
    "MAX_TRANSIENT_ATTEMPTS",
    "BatchHandler",
    "BindingHandler",
    "CredentialsHold",
    "Discoverer",
    "Engine",
    "Handler",
    "InDoubtHandler",
    "IntentHandler",
    "ReadingHandler",
    "Transferred",
    "before_send",
    "wake_on_external_change",
]

log = logging.getLogger(__name__)

#: transient failures are retried this many times before the record goes to the error queue
MAX_TRANSIENT_ATTEMPTS = 25
#: how often the daemon looks for writes of other processes (``errors retry``, ``replay``):
#: one watcher per process wakes every connection's idle workers when it sees one
EXTERNAL_POLL = 1.0
#: an idle worker reads the store's next due time this often even when nothing woke it (a
#: read, never a claim: a safety net, since new work always wakes the workers and a due time
#: is waited for exactly). With the catalog registers a connection has about seven workers, so
#: at 1,000 idle connections 30 s meant over 200 reads a second (4.7 % of a core); 120 s: 1.4 %
IDLE_FALLBACK = 120.0
#: the first hold after a remote refused a connection's credentials (seconds); each further
#: refusal doubles it up to the engine's ``retry_max`` (30 s, 1, 2, 4, 5 min by default)
CREDENTIALS_WAIT = 30.0
#: outcome name the observer hears for a record put back by a credentials hold
HELD = "held"
#: the status row (its instance) that shows a credentials hold beside the register's own
#: rows: a poll that works (a shop that still answers while the ERP refuses) marks those
#: healthy, this one stays failing until a record of the connection works again
HOLD_ROW = "credentials"


class Handler(Protocol):
    """Runs one claimed item of its register to an outcome."""

    @property
    def register(self) -> str: ...

    async def handle(self, item: WorkItem) -> Outcome:
        """The item's next state and everything that goes with it; raise NothingToDo,
        TransientError or PermanentError for the record's own errors."""
        ...


@runtime_checkable
class InDoubtHandler(Protocol):
    """A handler whose writes can be in doubt (a timeout after the request was sent)."""

    def in_doubt(self, item: WorkItem, error: TransientError, now: datetime) -> Outcome:
        """The outcome of a write that may still land: never a plain retry (a new send)."""
        ...


@runtime_checkable
class IntentHandler(Protocol):
    """A handler that records the remote reference it will write under with the claim, so
    the intent is durable before the write at no extra transaction. Errors it raises inside
    :func:`before_send`, and outcomes with ``revisit``, withdraw it again."""

    def intent(self, item: WorkItem) -> str:
        """The reference to record in the claim's transaction ("" for none)."""
        ...


@runtime_checkable
class BindingHandler(Protocol):
    """A handler that needs the binding of its item's source record: the claim reads it
    (``WorkItem.bound``), so the handler never asks the store."""

    @property
    def binds(self) -> str:
        """The binding entity (e.g. ``"orders"``)."""
        ...


@runtime_checkable
class ReadingHandler(Protocol):
    """A handler that needs catalog state of its item (the content hash last written, the
    stock held by unfinished orders): the claim reads it (``WorkItem.written``,
    ``WorkItem.reserved``), so the handler never asks the store."""

    @property
    def reads(self) -> Reads: ...


@runtime_checkable
class BatchHandler(Protocol):
    """A handler that reads the remote once for a whole claimed batch (e.g. the ERP state of
    fifty documents in one request) before its items are handled one by one."""

    async def prepare(self, items: Sequence[WorkItem]) -> None:
        """Read what ``handle`` needs for ``items``; never raises for the records' own
        errors (``handle`` raises them per item)."""
        ...


@contextmanager
def before_send() -> Iterator[None]:
    """Marks the part of a handler that runs before its write: a BryggaError raised inside
    means nothing was sent, so the engine withdraws the claim's intent (the record shows no
    reference and a restart does not hold it in doubt)."""
    try:
        yield
    except BryggaError as exc:
        exc.before_send = True
        raise


class Discoverer(Protocol):
    """Finds new work in one feed per instance (e.g. a shop's order change feed) and records
    it; polled by the connection's pollers every ``interval`` seconds or when poked."""

    @property
    def register(self) -> str: ...

    @property
    def instances(self) -> Sequence[str]: ...

    @property
    def interval(self) -> float: ...

    async def discover(self, instance: str) -> int:
        """Read the instance's feed once and record what is new; return how many items."""
        ...


@dataclass(frozen=True)
class _Traits:
    """What one register's handler implements beyond :class:`Handler`."""

    intent: Intent | None
    binds: str
    reads: Reads | None
    batch: BatchHandler | None
    in_doubt: InDoubtHandler | None

    @classmethod
    def of(cls, handler: Handler) -> _Traits:
        return cls(
            intent=handler.intent if isinstance(handler, IntentHandler) else None,
            binds=handler.binds if isinstance(handler, BindingHandler) else "",
            reads=handler.reads if isinstance(handler, ReadingHandler) else None,
            batch=handler if isinstance(handler, BatchHandler) else None,
            in_doubt=handler if isinstance(handler, InDoubtHandler) else None,
        )


@dataclass(frozen=True)
class CredentialsHold:
    """The connection's work is held: a remote refused its credentials.

    Nothing is claimed before ``until``; a record claimed in the same batch goes back
    untouched. A record put back keeps its place, its state (in doubt stays in doubt) and its
    attempts, is never failed, and shows ``error`` as its last error; each register with held
    work shows ``error`` on its :data:`HOLD_ROW` status row. At ``until`` the next claim tries
    again (one request per register), and a further refusal holds the work longer
    (:data:`CREDENTIALS_WAIT` doubling up to the engine's ``retry_max``, the same
    :class:`~brygga.runtime.backoff.Backoff` the supervisor restarts with). The hold lives
    in the engine, so a restart of the connection (a reload that brings new credentials, a
    daemon restart) starts without it and tries at once."""

    #: the sentence: the adapter's (what was refused, what to fix) and what brygga does
    error: str
    #: when the work goes on (the connection's clock)
    until: datetime
    #: when the credentials were first refused in this run of refusals
    since: datetime


@dataclass(frozen=True)
class Transferred(Outcome):
    """A done outcome of a record that reached the other side; ``latency`` (seconds from its
    creation at the source) is reported when this attempt sent it."""

    latency: float | None = None


@dataclass
class Engine:
    """Claims, runs and finishes one connection's work items, for every register it has a
    handler for; wakes idle workers when there is work."""

    connection: str
    store: Store
    clock: Clock
    run_id: str
    handlers: Mapping[str, Handler]
    rng: random.Random
    observer: FlowObserver = field(default_factory=NullObserver)
    #: longest wait between retries of a transient failure (seconds), and the longest hold
    #: after a refusal of the credentials
    retry_max: float = 300.0
    #: the first hold after a remote refused the credentials (seconds)
    credentials_wait: float = CREDENTIALS_WAIT
    _wake: anyio.Event = field(default_factory=anyio.Event)
    #: set while (and after) a remote refuses the credentials; see :class:`CredentialsHold`
    _hold: CredentialsHold | None = field(default=None, init=False, repr=False)
    _hold_backoff: Backoff | None = field(default=None, init=False, repr=False)
    #: register → the sentence its :data:`HOLD_ROW` shows (written by this engine)
    _shown: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    #: no :data:`HOLD_ROW` of the connection is failing (also none an earlier run left)
    _rows_clear: bool = field(default=False, init=False, repr=False)
    #: what each register's handler implements, looked up once (an ``isinstance`` against a
    #: runtime-checkable protocol inspects the class every time: tens of µs per claim)
    _traits: dict[str, _Traits] = field(default_factory=dict, init=False, repr=False)

    def _traits_of(self, register: str) -> _Traits:
        traits = self._traits.get(register)
        if traits is None:
            traits = self._traits[register] = _Traits.of(self.handlers[register])
        return traits

    def _intent(self, register: str) -> Intent | None:
        return self._traits_of(register).intent

    def _binds(self, register: str) -> str:
        return self._traits_of(register).binds

    def _reads(self, register: str) -> Reads | None:
        return self._traits_of(register).reads

    async def claim(self, register: str) -> WorkItem | None:
        """Claim the next due item (its handler's intent recorded and its binding read in the
        same transaction)."""
        return await self.store.items.claim(
            connection=self.connection,
            register=register,
            now=self.clock.now(),
            run_id=self.run_id,
            intent=self._intent(register),
            binds=self._binds(register),
            reads=self._reads(register),
        )

    async def claim_item(self, item_id: int, register: str) -> WorkItem | None:
        """Claim this one item of ``register`` if it is runnable, due or not (a replay run
        here); None when it is missing or not runnable."""
        return await self.store.items.claim_one(
            item_id,
            now=self.clock.now(),
            run_id=self.run_id,
            intent=self._intent(register),
            binds=self._binds(register),
            reads=self._reads(register),
        )

    async def process(self, item: WorkItem) -> ItemState:
        """Run one claimed item to its next state; never raises for the record's own errors."""
        await self._prepare([item])
        outcome = await self._outcome(item)
        await self.store.items.apply(item, outcome, self.clock.now())
        self._finished(item, outcome)
        return ItemState(outcome.state)

    async def drain(self, register: str, batch: int = 1, stopping: StopFlag | None = None) -> int:
        """Claim and run due items of ``register`` until none is due or ``stopping`` is set;
        return how many ran. ``batch`` items are claimed per transaction, and each batch's
        outcomes are applied in the same transaction that claims the next batch: a worker
        that keeps going costs one commit per batch (at ``batch`` 1, one per item).

        A stop is noticed between batches: nothing more is claimed, the outcomes are applied.
        If the daemon's deadline cancels a batch mid-call, its items stay SENDING and are
        reconciled on the next start.

        Nothing is claimed while a :class:`CredentialsHold` lasts."""
        ran = 0
        if self.holding() is not None:
            return ran
        items = await self.store.items.claim_many(
            connection=self.connection,
            register=register,
            now=self.clock.now(),
            run_id=self.run_id,
            limit=batch,
            intent=self._intent(register),
            binds=self._binds(register),
            reads=self._reads(register),
        )
        while items:
            await self._prepare(items)
            done = [(item, await self._outcome(item)) for item in items]
            going_on = (stopping is None or not stopping.is_set()) and self.holding() is None
            items = await self.store.items.apply_and_claim(
                done,
                self.clock.now(),
                connection=self.connection,
                register=register,
                run_id=self.run_id,
                limit=batch if going_on else 0,
                intent=self._intent(register),
                binds=self._binds(register),
                reads=self._reads(register),
            )
            for item, outcome in done:
                self._finished(item, outcome)
            ran += len(done)
        return ran

    async def _prepare(self, items: Sequence[WorkItem]) -> None:
        handler = self._traits_of(items[0].register).batch if items else None
        if handler is not None:
            try:
                await handler.prepare(items)
            except Exception:  # each item's handle meets the error again and records it
                log.exception(
                    "%s: preparing a batch of %s failed", self.connection, items[0].register
                )

    async def _outcome(self, item: WorkItem) -> Outcome:
        hold = self.holding()
        if hold is not None:  # claimed before the hold began (same batch, or a replay)
            await self._show(item.register, hold)
            return _held(item, hold, self.clock.now())
        handler = self.handlers[item.register]
        try:
            outcome = await handler.handle(item)
        except NothingToDo as skip:
            outcome = Outcome(state="skipped", error=str(skip), events=(("skipped", str(skip)),))
            return _unsent(outcome, skip)
        except TransientError as exc:
            return _unsent(self._retry_or_fail(item, exc), exc)
        except PermanentError as exc:
            rejected = credentials_rejection(exc)
            if rejected is not None:
                hold = self._refused(item, rejected)
                await self._show(item.register, hold)
                return _held(item, hold, self.clock.now(), exc)
            return _unsent(_failed(item, str(exc)), exc)
        except Exception as exc:
            log.exception(
                "internal error on %s %s/%s", item.register, item.instance, item.external_id
            )
            return _failed(item, f"internal error ({type(exc).__name__}): {exc}")
        if not self._rows_clear and outcome.health is not None and outcome.health.ok:
            await self._accepted()
        return outcome

    # -- credentials refused: the connection's work is held ----------------------------------

    def holding(self) -> CredentialsHold | None:
        """The hold that keeps the connection's work back now (None when work goes on)."""
        hold = self._hold
        if hold is not None and self.clock.now() < hold.until:
            return hold
        return None

    @property
    def credentials_refused(self) -> CredentialsHold | None:
        """The last refusal of the credentials, until a record of the connection works again
        (also after its hold ended: the next try may be refused again); for health checks."""
        return self._hold

    def _refused(self, item: WorkItem, rejected: CredentialsRejected) -> CredentialsHold:
        """Hold the connection's work after ``rejected``: the first refusal, or the first one
        after a hold ended, waits longer; another worker's refusal within the same hold (its
        request was on the way) changes nothing but the sentence."""
        now = self.clock.now()
        sentence = (
            f"{rejected}; brygga holds this connection's records (none is failed) and tries "
            f"again by itself after {_seconds(self.credentials_wait)} s, waiting up to "
            f"{_seconds(self._longest_hold())} s as refusals go on, and at once after a "
            "reload (SIGHUP) that brings new credentials (a restart for a secret from the "
            "environment or systemd's LoadCredential=, which a reload does not re-read)"
        )
        hold = self._hold
        if hold is not None and now < hold.until:
            self._hold = replace(hold, error=sentence)
            return self._hold
        if self._hold_backoff is None:
            self._hold_backoff = Backoff(self.credentials_wait, self._longest_hold(), rng=self.rng)
        delay = self._hold_backoff.next()
        first = hold is None
        self._hold = CredentialsHold(
            error=sentence,
            until=now + timedelta(seconds=delay),
            since=now if hold is None else hold.since,
        )
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "%s: %s (%s %s/%s went back; next try in %.0f s)",
            self.connection,
            sentence,
            item.register,
            item.instance,
            item.external_id,
            delay,
        )
        return self._hold

    async def _show(self, register: str, hold: CredentialsHold) -> None:
        """``register``'s :data:`HOLD_ROW` shows the hold's sentence (written once per
        register and sentence)."""
        if self._shown.get(register) == hold.error:
            return
        self._shown[register] = hold.error
        self._rows_clear = False
        now = self.clock.now()
        await self.store.status.failure(self.connection, register, HOLD_ROW, hold.error, now)

    async def _accepted(self) -> None:
        """A record worked (after a refusal, or for the first time in this run): the
        credentials are good, and no :data:`HOLD_ROW` says otherwise any more, neither one
        this engine wrote nor one an earlier run left (a reload that fixed the credentials)."""
        hold = self._hold
        now = self.clock.now()
        if hold is not None and now < hold.until:
            return  # claimed before the hold began: the refusal came later
        self._hold = None
        self._shown.clear()
        self._rows_clear = True
        if self._hold_backoff is not None:
            self._hold_backoff.reset()
        if hold is not None:
            log.info("%s: the credentials are accepted again; work goes on", self.connection)
        await self._clear_hold_rows()

    async def _clear_hold_rows(self) -> None:
        """Mark the connection's failing :data:`HOLD_ROW` rows healthy, except one a refusal
        in this run has written since (a worker may be refused while this reads)."""
        self._rows_clear = True
        for row in await self.store.status.all():
            if (row.connection, row.instance, row.state) != (self.connection, HOLD_ROW, "failing"):
                continue
            if row.register not in self._shown:
                now = self.clock.now()
                await self.store.status.success(self.connection, row.register, HOLD_ROW, now)

    def _longest_hold(self) -> float:
        return max(self.credentials_wait, self.retry_max)

    def _finished(self, item: WorkItem, outcome: Outcome) -> None:
        """After the outcome is stored: the log line, the observer, and the follow-ups' wake."""
        if outcome.follow_ups:
            self.wake()
        if outcome.state == ItemState.FAILED:
            log.warning(
                "%s: %s %s/%s failed for good (see brygga errors show): %s",
                self.connection,
                item.register,
                item.instance,
                item.external_id,
                outcome.error,
            )
        held = isinstance(outcome, _Held)
        self.observer.item_finished(self.connection, item.register, HELD if held else outcome.state)
        if isinstance(outcome, Transferred) and outcome.latency is not None:
            self.observer.transferred(self.connection, item.register, outcome.latency)

    def _retry_or_fail(self, item: WorkItem, exc: TransientError) -> Outcome:
        now = self.clock.now()
        if item.attempts >= MAX_TRANSIENT_ATTEMPTS:
            return _failed(item, f"gave up after {item.attempts} attempts; last error: {exc}")
        in_doubt = self._traits_of(item.register).in_doubt
        if exc.in_doubt and in_doubt is not None:
            return in_doubt.in_doubt(item, exc, now)
        delay = retry_delay(
            item.attempts,
            base=1.0,
            cap=max(1.0, self.retry_max),
            retry_after=exc.retry_after,
            rng=self.rng,
        )
        return Outcome(
            state="retry",
            error=str(exc),
            next_attempt=now + timedelta(seconds=delay),
            events=(("retry", str(exc)),),
        )

    # -- waking ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Tell idle workers there is work (the durable part is already in the store)."""
        self._wake.set()
        self._wake = anyio.Event()

    async def wait_until_due(self, register: str, stopping: StopFlag | None = None) -> None:
        """Sleep until an item of ``register`` is due, :meth:`wake` is called or ``stopping``
        is set (a stop wakes the engine after setting the flag, so checking the flag after
        taking the wake event cannot miss it).

        Idle costs no write: the store's next due time is read (no claim transaction) when
        the engine is woken, when that time comes and every :data:`IDLE_FALLBACK` seconds."""
        while True:
            woken = self._wake
            if stopping is not None and stopping.is_set():
                return
            due = await self.store.items.next_due(connection=self.connection, register=register)
            hold = self.holding()
            if hold is not None and due is not None:
                due = max(due, hold.until)  # nothing is claimed before the hold ends
            wait = IDLE_FALLBACK
            if due is not None:
                wait = min(wait, (due - self.clock.now()).total_seconds())
                if wait <= 0:
                    return
            with anyio.move_on_after(max(0.01, wait)):
                await woken.wait()
            if woken.is_set():
                return

    async def work(self, register: str, stopping: StopFlag, batch: int = 1) -> None:
        """One worker: :meth:`drain` ``register`` whenever items are due, until ``stopping``
        is set; ``batch`` items per transaction.

        The first worker of a run clears what a credentials hold of an earlier run left on
        the status board (a reload that brought new credentials starts a new run): a
        refusal in this run shows it again."""
        if not self._rows_clear:
            await self._clear_hold_rows()
        while not stopping.is_set():
            await self.drain(register, batch, stopping)
            await self.wait_until_due(register, stopping)


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


async def wake_on_external_change(store: Store, engines: Callable[[], Iterable[Engine]]) -> None:
    """One task per process: when another process writes the store (``errors retry``, a
    replay), wake every running engine's idle workers."""
    while True:
        await store.wait_for_external_change(poll=EXTERNAL_POLL)
        for engine in engines():
            engine.wake()


def _unsent(outcome: Outcome, error: BryggaError) -> Outcome:
    """``outcome`` with the claim's intent withdrawn when ``error`` came before the send (a
    write in doubt keeps it: it may have landed)."""
    in_doubt = isinstance(error, TransientError) and error.in_doubt
    if error.before_send and not in_doubt:
        return replace(outcome, withdraw_intent=True)
    return outcome


@dataclass(frozen=True)
class _Held(Outcome):
    """A record put back by a credentials hold (the observer hears :data:`HELD`)."""


def _held(
    item: WorkItem, hold: CredentialsHold, now: datetime, error: BryggaError | None = None
) -> Outcome:
    """``item`` back as it was claimed: its state (WAITING and RECONCILE stay; in doubt stays
    in doubt), its place in the queue (due when the hold ends), no attempt spent, and the
    hold's sentence as its last error (the register's health shows it on its
    :data:`HOLD_ROW`).

    The claim's intent is withdrawn when nothing can have been sent (``error`` came before
    the send, or it was not even tried); when the refusal came after this attempt may have
    written something (a draft made, then its booking refused), the intent is kept, so the
    next attempt looks the reference up before sending: the one case that spends the
    attempt, since giving it back would withdraw the intent too."""
    state = {ItemState.WAITING: "waiting", ItemState.RECONCILE: "reconcile"}.get(
        item.state, "retry"
    )
    fresh_intent = bool(item.intent) and item.intent != item.reference
    maybe_sent = error is not None and not error.before_send and fresh_intent
    first = item.last_error != hold.error  # one event per record and sentence, not per try
    return _Held(
        state=state,
        error=hold.error,
        next_attempt=min(item.next_attempt, now),
        revisit=not maybe_sent,
        events=(("held", hold.error),) if first else (),
    )


def _seconds(value: float) -> str:
    return f"{value:g}"


def _failed(item: WorkItem, error: str) -> Outcome:
    return Outcome(
        state="failed",
        error=error,
        events=(("failed", error),),
        health=Health(item.register, ok=False, error=error),
    )
