"""The orders register: the shop change feed (discoverer) and the transfer of each order (handler).

Exactly-once (DESIGN §2.1): the poller records a work item before it moves its cursor; the
worker records its intent (the ERP reference) before the ERP call; an item whose intent was
recorded earlier — after a crash, a timeout, or a commit-then-fail — is looked up in the ERP
by that reference before anything is sent again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping as MappingT
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

import msgspec

from brygga.adapters import DocumentBooker, DocumentChecker, ErpAdapter, ShopAdapter
from brygga.clock import Clock
from brygga.config import OrdersConfig
from brygga.errors import NothingToDo, PermanentError, TransientError
from brygga.mappings import Mapping, MappingContext, apply_mappings
from brygga.models import DocumentRef, Order, Register
from brygga.store import Binding, Discovered, FollowUp, Health, ItemState, Outcome, Store, WorkItem
from brygga.sync.customer_keys import KeyedLocks, match_keys
from brygga.sync.engine import Engine, Transferred
from brygga.sync.flow import Flow, PlanRow
from brygga.sync.order_document import STOCKHOLM, build_document
from brygga.sync.writeback import WRITEBACK, WriteBackHandler

__all__ = [
    "REGISTER",
    "WRITEBACK",
    "OrderFeed",
    "OrdersFlow",
    "OrdersHandler",
    "Replay",
    "document_reference",
    "orders_plan",
    "replay_of",
    "replay_payload",
]

REGISTER = Register.ORDERS.value
#: discovered orders recorded per transaction
PAGE = 200
#: write-backs claimed and finished per transaction
WRITEBACK_BATCH = 20
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
class OrderFeed:
    """Discovers orders in each shop's change feed (one poller per shop)."""

    connection: str
    store: Store
    shops: MappingT[str, ShopAdapter]
    options: OrdersConfig
    clock: Clock
    interval: float = 60.0
    register: str = REGISTER

    @property
    def instances(self) -> Sequence[str]:
        return list(self.shops)

    def _ready(self, status: str) -> bool:
        if status in self.options.cancelled_statuses:
            return True  # the worker records it as nothing-to-do
        return not self.options.ready_statuses or status in self.options.ready_statuses

    async def discover(self, instance: str) -> int:
        """Read one closed window of the shop's change feed; return how many items were new.

        The window is ``[cursor - overlap, now)``; records committed late or seen twice in
        overlapping windows are no-ops. The cursor moves only after every item is recorded.
        """
        shop = self.shops[instance]
        now = self.clock.now()
        position = await self.store.cursors.get(self.connection, instance, REGISTER)
        if position is None:
            start = self.options.start_from or now - timedelta(seconds=self.options.lookback)
        else:
            start = datetime.fromisoformat(position) - timedelta(seconds=self.options.overlap)
        created = 0
        page: list[Discovered] = []
        async for change in shop.changed_orders(start, now):
            ready = self._ready(change.status)
            page.append(Discovered(change.shop_order_id, ready, change.modified_at))
            if len(page) >= PAGE:
                created += await self._record(instance, page)
                page = []
        created += await self._record(instance, page)
        await self.store.cursors.set(
            self.connection, instance, REGISTER, _cursor_text(now), self.clock.now()
        )
        await self.store.status.success(self.connection, REGISTER, instance, self.clock.now())
        return created

    async def _record(self, instance: str, page: Sequence[Discovered]) -> int:
        return await self.store.items.enqueue_many(
            connection=self.connection,
            register=REGISTER,
            instance=instance,
            records=page,
            now=self.clock.now(),
        )


@dataclass
class OrdersHandler:
    """Transfers one shop order to the ERP, exactly once (looked up by reference first when an
    earlier attempt recorded its intent)."""

    connection: str
    erp_name: str
    store: Store
    shops: MappingT[str, ShopAdapter]
    erp: ErpAdapter
    options: OrdersConfig
    clock: Clock
    mappings: Sequence[Mapping] = ()
    lookup_by_reference: bool = True
    #: seconds an in-doubt write is given to land before an empty lookup allows a new send
    settle: float = 60.0
    #: each shop's time zone (documents are dated in it); Europe/Stockholm when missing
    timezones: MappingT[str, tzinfo] = field(default_factory=dict)
    register: str = REGISTER
    _customer_locks: KeyedLocks = field(default_factory=KeyedLocks)

    def in_doubt(self, item: WorkItem, error: TransientError, now: datetime) -> Outcome:
        """The document may still land: no new send before the settle period and a lookup."""
        until = now + timedelta(seconds=self.settle)
        return Outcome(
            state="reconcile",
            error=str(error),
            next_attempt=min(until, now + timedelta(seconds=DOUBT_RECHECK)),
            doubt_until=until,
            events=(
                (
                    "in doubt",
                    f"{error}; the ERP may still create it, so brygga looks it up by "
                    "reference and sends nothing new before "
                    f"{until.isoformat(timespec='seconds')}",
                ),
            ),
        )

    async def handle(self, item: WorkItem) -> Outcome:
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
            return self._bound(item, bound.target_id, "already transferred", replay)
        # An earlier attempt recorded its intent: the document may exist. Look it up before
        # anything else (readiness, cancellation), and never send again while in doubt.
        found: DocumentRef | None = None
        earlier_intent = bool(item.reference) or item.state is ItemState.RECONCILE
        if earlier_intent and self.lookup_by_reference:
            found = await self.erp.find_document(reference, self.options.document)
            if found is not None:
                return await self._reconciled(item, found, replay, replacing)
        if earlier_intent and item.doubt_until is not None and now < item.doubt_until:
            wait = (
                f"an earlier send may still land; no document with reference {reference} yet, "
                f"sending nothing new before {item.doubt_until.isoformat(timespec='seconds')}"
            )
            again = min(item.doubt_until, now + timedelta(seconds=DOUBT_RECHECK))
            return Outcome(state="reconcile", error=wait, next_attempt=again, revisit=True)
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
            )
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
        # the intent, durably, just before the send (not with the claim: a record that fails
        # before anything is sent must not look as if it had been sent)
        await self.store.items.record_intent(item.id, reference, self.clock.now())
        created = await self.erp.create_document(document)
        note = f"{created.document_type.value} created"
        latency = max(0.0, (self.clock.now() - order.created_at).total_seconds())
        return self._bound(item, created.number, note, replay, replacing, latency=latency)

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
        return self._bound(item, found.number, note, replay, replacing, reconciled=True)

    def _bound(
        self,
        item: WorkItem,
        number: str,
        note: str,
        replay: Replay,
        replacing: bool = False,
        *,
        reconciled: bool = False,
        latency: float | None = None,
    ) -> Outcome:
        """Done: the binding, the write-back of ``number`` and the events, as one outcome;
        with the order's ``latency`` when this attempt created the document."""
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
        return Transferred(
            latency=latency,
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


def orders_plan(
    *,
    handler: OrdersHandler,
    interval: float = 60.0,
) -> PlanRow:
    """The orders row of a connection's plan: the feed, the transfer and the write-back."""
    feed = OrderFeed(
        connection=handler.connection,
        store=handler.store,
        shops=handler.shops,
        options=handler.options,
        clock=handler.clock,
        interval=interval,
    )
    back = WriteBackHandler(
        connection=handler.connection,
        shops=handler.shops,
        bindings=handler.store.bindings,
        document_type=handler.options.document,
    )
    return PlanRow(
        handlers=(handler, back),
        discoverers=(feed,),
        workers={REGISTER: max(1, handler.options.workers), WRITEBACK: 1},
        batch={WRITEBACK: WRITEBACK_BATCH},
    )


class OrdersFlow(Flow):
    """A flow of the orders register alone, built from its parts (tests build one by hand)."""

    def __init__(
        self,
        *,
        connection: str,
        erp_name: str,
        store: Store,
        shops: MappingT[str, ShopAdapter],
        erp: ErpAdapter,
        options: OrdersConfig,
        clock: Clock,
        run_id: str,
        lookup_by_reference: bool = True,
        settle: float = 60.0,
    ) -> None:
        handler = OrdersHandler(
            connection=connection,
            erp_name=erp_name,
            store=store,
            shops=shops,
            erp=erp,
            options=options,
            clock=clock,
            lookup_by_reference=lookup_by_reference,
            settle=settle,
        )
        row = orders_plan(handler=handler)
        engine = Engine(
            connection=connection,
            store=store,
            clock=clock,
            run_id=run_id,
            handlers={h.register: h for h in row.handlers},
            retry_max=float(options.retry_max),
        )
        super().__init__(engine=engine, rows=[row], erp=erp, shops=shops, settle=settle)
