"""The orders flow: discover shop orders (poller) and transfer each exactly once (worker).

Exactly-once (DESIGN §2.1): the poller records a work item before it moves its cursor; the
worker records its intent (the ERP reference) before the ERP call; an item whose intent was
recorded earlier — after a crash, a timeout, or a commit-then-fail — is looked up in the ERP
by that reference before anything is sent again.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping as MappingT
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

import anyio
import msgspec

from brygga.adapters import DocumentBooker, DocumentChecker, ErpAdapter, ShopAdapter
from brygga.clock import Clock
from brygga.config import OrdersConfig
from brygga.errors import NothingToDo, PermanentError, TransientError
from brygga.mappings import Mapping, MappingContext, apply_mappings
from brygga.models import DocumentRef, Order, Register
from brygga.runtime.backoff import retry_delay
from brygga.store import Binding, Enqueued, FollowUp, Health, ItemState, Outcome, Store, WorkItem
from brygga.sync.customer_keys import KeyedLocks, match_keys
from brygga.sync.observer import FlowObserver, NullObserver
from brygga.sync.order_document import STOCKHOLM, build_document

__all__ = ["OrdersFlow", "Replay", "document_reference", "replay_of", "replay_payload"]

log = logging.getLogger(__name__)

REGISTER = Register.ORDERS.value
WRITEBACK = "orders.writeback"
#: transient failures are retried this many times before the record goes to the error queue
MAX_TRANSIENT_ATTEMPTS = 25
#: while a write is in doubt, it is looked up by reference this often (seconds), so one that
#: lands late is bound soon, long before the settle period allows a new send
DOUBT_RECHECK = 10.0


def document_reference(connection: str, shop: str, shop_order_id: str) -> str:
    """The ERP external reference for a shop order: stable, so a lookup finds earlier sends."""
    return f"brygga:{connection}:{shop}:{shop_order_id}"


@dataclass(frozen=True)
class Replay:
    """A forced replay, kept in an orders item's payload as ``{"replay": n, "replaces": doc}``:
    generation ``n`` > 0 sends a NEW document with reference ``document_reference(...)#r<n>``
    in place of ERP document ``replaces``."""

    generation: int = 0
    replaces: str = ""

    def reference(self, connection: str, shop: str, shop_order_id: str) -> str:
        base = document_reference(connection, shop, shop_order_id)
        return f"{base}#r{self.generation}" if self.generation > 0 else base


def replay_of(payload: bytes | None) -> Replay:
    """The replay generation in an orders item's payload (none, or anything else: 0)."""
    try:
        data = json.loads(payload or b"")
    except ValueError:
        return Replay()
    if not isinstance(data, dict) or not isinstance(data.get("replay"), int):
        return Replay()
    return Replay(data["replay"], str(data.get("replaces", "")))


def replay_payload(replay: Replay) -> bytes:
    return json.dumps({"replay": replay.generation, "replaces": replay.replaces}).encode()


def _cursor_text(when: datetime) -> str:
    return when.isoformat()


@dataclass
class OrdersFlow:
    """One connection's orders flow. Pollers and workers are run by the connection actor."""

    connection: str
    erp_name: str
    store: Store
    shops: MappingT[str, ShopAdapter]
    erp: ErpAdapter
    options: OrdersConfig
    clock: Clock
    run_id: str
    mappings: Sequence[Mapping] = ()
    observer: FlowObserver = field(default_factory=NullObserver)
    lookup_by_reference: bool = True
    rng: random.Random = field(default_factory=random.Random)
    #: seconds an in-doubt write is given to land before an empty lookup allows a new send
    settle: float = 60.0
    #: each shop's time zone (documents are dated in it); Europe/Stockholm when missing
    timezones: MappingT[str, tzinfo] = field(default_factory=dict)
    _customer_locks: KeyedLocks = field(default_factory=KeyedLocks)
    _wake: anyio.Event = field(default_factory=anyio.Event)
    _pokes: dict[str, anyio.Event] = field(default_factory=dict)

    # -- discovery -------------------------------------------------------------------------

    def _ready(self, status: str) -> bool:
        if status in self.options.cancelled_statuses:
            return True  # the worker records it as nothing-to-do
        return not self.options.ready_statuses or status in self.options.ready_statuses

    async def poll_once(self, shop_name: str) -> int:
        """Read one closed window of the shop's change feed; return how many items were new.

        The window is ``[cursor - overlap, now)``; records committed late or seen twice in
        overlapping windows are no-ops. The cursor moves only after every item is recorded.
        """
        shop = self.shops[shop_name]
        now = self.clock.now()
        position = await self.store.cursors.get(self.connection, shop_name, REGISTER)
        if position is None:
            start = self.options.start_from or now - timedelta(seconds=self.options.lookback)
        else:
            start = datetime.fromisoformat(position) - timedelta(seconds=self.options.overlap)
        created = 0
        async for change in shop.changed_orders(start, now):
            outcome = await self.store.items.enqueue(
                connection=self.connection,
                register=REGISTER,
                instance=shop_name,
                external_id=change.shop_order_id,
                now=self.clock.now(),
                ready=self._ready(change.status),
                source_time=change.modified_at,
            )
            if outcome in (Enqueued.CREATED, Enqueued.PROMOTED):
                created += 1
        await self.store.cursors.set(
            self.connection, shop_name, REGISTER, _cursor_text(now), self.clock.now()
        )
        await self.store.status.success(self.connection, REGISTER, shop_name, self.clock.now())
        if created:
            self.wake()
        return created

    def poke(self, shop_name: str) -> None:
        """A shop said something changed (webhook) or the daemon is stopping: poll now."""
        self._pokes.setdefault(shop_name, anyio.Event()).set()

    async def wait_for_poke(self, shop_name: str, seconds: float) -> None:
        """Sleep until the next poll is due or a poke arrives, whichever is first."""
        event = self._pokes.setdefault(shop_name, anyio.Event())
        with anyio.move_on_after(seconds):
            await event.wait()
        if event.is_set():
            self._pokes[shop_name] = anyio.Event()

    def wake(self) -> None:
        """Tell idle workers there is work (the durable part is already in the store)."""
        self._wake.set()
        self._wake = anyio.Event()

    async def wait_for_work(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await self._wake.wait()

    # -- transfer --------------------------------------------------------------------------

    async def claim(self, register: str = REGISTER) -> WorkItem | None:
        return await self.store.items.claim(
            connection=self.connection, register=register, now=self.clock.now(), run_id=self.run_id
        )

    async def process(self, item: WorkItem) -> ItemState:
        """Run one claimed item to its next state; never raises for the record's own errors.

        The handler decides an :class:`Outcome`; the store applies all of it (state, binding,
        events, the write-back, the register's health) in one transaction."""
        latency: float | None = None
        try:
            if item.register == WRITEBACK:
                outcome = await self._write_back(item)
            else:
                outcome, latency = await self._transfer(item)
        except NothingToDo as skip:
            outcome = Outcome(state="skipped", error=str(skip), events=(("skipped", str(skip)),))
        except TransientError as exc:
            outcome = self._retry_or_fail(item, exc)
        except PermanentError as exc:
            outcome = self._failed(item, str(exc))
        except Exception as exc:
            log.exception(
                "internal error on %s %s/%s", item.register, item.instance, item.external_id
            )
            outcome = self._failed(item, f"internal error ({type(exc).__name__}): {exc}")
        await self.store.items.apply(item, outcome, self.clock.now())
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
        if latency is not None:
            self.observer.transferred(self.connection, REGISTER, latency)
        if outcome.follow_ups:
            self.wake()
        return ItemState(outcome.state)

    def _failed(self, item: WorkItem, error: str) -> Outcome:
        return Outcome(
            state="failed",
            error=error,
            events=(("failed", error),),
            health=Health(item.register, ok=False, error=error),
        )

    def _retry_or_fail(self, item: WorkItem, exc: TransientError) -> Outcome:
        now = self.clock.now()
        if item.attempts >= MAX_TRANSIENT_ATTEMPTS:
            return self._failed(item, f"gave up after {item.attempts} attempts; last error: {exc}")
        if exc.in_doubt and item.register == REGISTER:
            # the document may still land: no new send before the settle period and a lookup
            until = now + timedelta(seconds=self.settle)
            return Outcome(
                state="reconcile",
                error=str(exc),
                next_attempt=min(until, now + timedelta(seconds=DOUBT_RECHECK)),
                doubt_until=until,
                events=(
                    (
                        "in doubt",
                        f"{exc}; the ERP may still create it, so brygga looks it up by "
                        "reference and sends nothing new before "
                        f"{until.isoformat(timespec='seconds')}",
                    ),
                ),
            )
        delay = retry_delay(
            item.attempts,
            base=1.0,
            cap=max(1.0, self.options.retry_max),
            retry_after=exc.retry_after,
            rng=self.rng,
        )
        return Outcome(
            state="retry",
            error=str(exc),
            next_attempt=now + timedelta(seconds=delay),
            events=(("retry", str(exc)),),
        )

    async def _transfer(self, item: WorkItem) -> tuple[Outcome, float | None]:
        shop = self.shops.get(item.instance)
        if shop is None:
            raise PermanentError(
                f"order {item.external_id}: shop {item.instance!r} is no longer in this "
                "connection's config; add it back or resolve the record"
            )
        now = self.clock.now()
        replay = replay_of(item.payload)
        reference = replay.reference(self.connection, item.instance, item.external_id)
        bound = await self.store.bindings.target_of(
            self.connection, REGISTER, item.instance, item.external_id
        )
        replacing = bool(bound and replay.generation and bound.target_id == replay.replaces)
        if bound is not None and not replacing:
            # (re-)queue the write-back too: a crash may have lost it on an older version
            return self._bound(item, bound.target_id, "already transferred", replay), None
        # An earlier attempt recorded its intent: the document may exist. Look it up before
        # anything else (readiness, cancellation), and never send again while in doubt.
        found: DocumentRef | None = None
        earlier_intent = bool(item.reference) or item.state is ItemState.RECONCILE
        if earlier_intent and self.lookup_by_reference:
            found = await self.erp.find_document(reference, self.options.document)
            if found is not None:
                return await self._reconciled(item, found, replay, replacing), None
        if earlier_intent and item.doubt_until is not None and now < item.doubt_until:
            wait = (
                f"an earlier send may still land; no document with reference {reference} yet, "
                f"sending nothing new before {item.doubt_until.isoformat(timespec='seconds')}"
            )
            again = min(item.doubt_until, now + timedelta(seconds=DOUBT_RECHECK))
            return Outcome(state="reconcile", error=wait, next_attempt=again, revisit=True), None
        order = await shop.fetch_order(item.external_id)
        if order.status in self.options.cancelled_statuses:
            raise NothingToDo(f"order {order.shop_order_id} was cancelled before transfer")
        if self.options.ready_statuses and order.status not in self.options.ready_statuses:
            note = (
                f"waiting for status {' / '.join(self.options.ready_statuses)} "
                f"(now {order.status!r})"
            )
            first = item.last_error != note  # an event when it starts or the status moves
            return Outcome(
                state="waiting",
                error=note,
                next_attempt=now + timedelta(seconds=self.options.revisit),
                revisit=True,
                events=(("waiting", note),) if first else (),
            ), None
        order = apply_mappings(
            order,
            self.mappings,
            MappingContext(self.connection, item.instance, self.erp_name, Register.ORDERS),
        )
        document = build_document(
            order,
            reference=reference,
            document_type=self.options.document,
            customer_number="",
            fee_articles=self.options.fee_articles,
            book=self.options.book,
            timezone=self.timezones.get(item.instance, STOCKHOLM),
        )
        if isinstance(self.erp, DocumentChecker):
            # everything that can fail for good is checked before anything remote is created
            await self.erp.check_document(document)
        document = msgspec.structs.replace(document, customer_number=await self._customer(order))
        await self.store.items.record_intent(item.id, reference, self.clock.now())
        created = await self.erp.create_document(document)
        note = f"{created.document_type.value} created"
        latency = max(0.0, (self.clock.now() - order.created_at).total_seconds())
        return self._bound(item, created.number, note, replay, replacing=replacing), latency

    async def _reconciled(
        self, item: WorkItem, found: DocumentRef, replay: Replay, replacing: bool
    ) -> Outcome:
        note = f"found {found.number} by reference"
        if self.options.book and not found.booked:
            if isinstance(self.erp, DocumentBooker):
                found = await self.erp.book_document(found)
                note += f", booked as {found.number}"
            else:
                note += "; this ERP adapter cannot book a found draft: book it by hand"
        return self._bound(item, found.number, note, replay, replacing=replacing, reconciled=True)

    def _bound(
        self,
        item: WorkItem,
        number: str,
        note: str,
        replay: Replay,
        *,
        replacing: bool = False,
        reconciled: bool = False,
    ) -> Outcome:
        """Done: the binding, the write-back of ``number`` and the events, as one outcome."""
        events: list[tuple[str, str]] = []
        if reconciled:
            events.append(("reconciled", f"an earlier send landed: {note}"))
        if replacing:
            events.append(
                (
                    "replaced",
                    f"replay {replay.generation}: ERP document {replay.replaces} is no longer "
                    f"bound to this order; document {number} (reference "
                    f"{replay.reference(self.connection, item.instance, item.external_id)}) "
                    "replaces it",
                )
            )
        events.append(("done", f"{note}: {number}"))
        return Outcome(
            state="done",
            result=number,
            bind=Binding(REGISTER, item.instance, item.external_id, self.erp_name, number),
            replace_binding=replacing,
            events=tuple(events),
            follow_ups=(
                FollowUp(
                    WRITEBACK,
                    item.instance,
                    item.external_id,
                    payload=number.encode(),
                    reopen=replay.generation > 0,
                ),
            ),
            health=Health(REGISTER, ok=True),
        )

    async def _customer(self, order: Order) -> str:
        """Find or create the ERP customer; orders sharing a match key resolve one at a time,
        so several workers never create the same new customer twice."""
        customer = order.customer
        keys = match_keys(customer, self.options.customer_match)
        async with self._customer_locks.hold(keys):
            number = await self.erp.find_customer(customer, self.options.customer_match)
            if number is None:
                number = await self.erp.create_customer(customer, order.currency)
        return number

    async def _write_back(self, item: WorkItem) -> Outcome:
        """Write the ERP document number back to the shop order (idempotent upsert)."""
        shop = self.shops.get(item.instance)
        if shop is None:
            raise NothingToDo(f"shop {item.instance!r} is no longer configured")
        number = (item.payload or b"").decode()
        bound = await self.store.bindings.target_of(
            self.connection, REGISTER, item.instance, item.external_id
        )
        if bound is None:
            raise PermanentError(
                f"order {item.external_id}: no ERP document recorded to write back"
            )
        await shop.mark_exported(
            item.external_id,
            DocumentRef(
                document_type=self.options.document, number=number or bound.target_id, reference=""
            ),
        )
        return Outcome(state="done", result=number, health=Health(WRITEBACK, ok=True))
