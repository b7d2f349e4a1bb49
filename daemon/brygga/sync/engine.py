"""The work engine of one connection: workers claim items and hand them to their register's handler.

A handler turns a claimed :class:`WorkItem` into an :class:`Outcome` (or raises NothingToDo,
TransientError or PermanentError); the engine turns errors into retries or failures and has the
store apply the whole outcome in one transaction. Handlers never write to the store themselves.
Discoverers (pollers) record new work; the engine wakes idle workers when work arrives.
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
from brygga.errors import BryggaError, NothingToDo, PermanentError, TransientError
from brygga.runtime.backoff import retry_delay
from brygga.store import Health, Intent, ItemState, Outcome, Reads, Store, WorkItem
from brygga.sync.observer import FlowObserver, NullObserver

__all__ = [
    "MAX_TRANSIENT_ATTEMPTS",
    "BatchHandler",
    "BindingHandler",
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
    #: longest wait between retries of a transient failure (seconds)
    retry_max: float = 300.0
    _wake: anyio.Event = field(default_factory=anyio.Event)
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
        reconciled on the next start."""
        ran = 0
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
            going_on = stopping is None or not stopping.is_set()
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
        handler = self.handlers[item.register]
        try:
            return await handler.handle(item)
        except NothingToDo as skip:
            outcome = Outcome(state="skipped", error=str(skip), events=(("skipped", str(skip)),))
            return _unsent(outcome, skip)
        except TransientError as exc:
            return _unsent(self._retry_or_fail(item, exc), exc)
        except PermanentError as exc:
            return _unsent(_failed(item, str(exc)), exc)
        except Exception as exc:
            log.exception(
                "internal error on %s %s/%s", item.register, item.instance, item.external_id
            )
            return _failed(item, f"internal error ({type(exc).__name__}): {exc}")

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
        self.observer.item_finished(self.connection, item.register, outcome.state)
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
        is set; ``batch`` items per transaction."""
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


def _failed(item: WorkItem, error: str) -> Outcome:
    return Outcome(
        state="failed",
        error=error,
        events=(("failed", error),),
        health=Health(item.register, ok=False, error=error),
    )
