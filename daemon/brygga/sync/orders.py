"""The orders register: the transfer of each shop order to the ERP (handler) and its plan row.

Exactly-once (DESIGN §2.1): the poller records a work item before it moves its cursor; the
claim records the worker's intent (the ERP reference) before the ERP call; an item whose intent
was recorded earlier — after a crash, a timeout, or a commit-then-fail — is looked up in the
ERP by that reference before anything is sent again.
"""

from __future__ import annotations

import random
from collections.abc import Mapping as MappingT
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

import msgspec

from brygga.adapters import (
    CustomerGroups,
    DocumentBooker,
    DocumentChecker,
    ErpAdapter,
    ShopAdapter,
)
from brygga.clock import Clock
from brygga.config import OrdersConfig
from brygga.documents import Document
from brygga.errors import NothingToDo, PermanentError, TransientError
from brygga.mappings import Mapping, MappingContext, apply_mappings
from brygga.models import DocumentRef, Order, Register
from brygga.store import Binding, FollowUp, Health, ItemState, Outcome, Store, WorkItem
from brygga.sync.customer_keys import KeyedLocks, match_keys
from brygga.sync.engine import Engine, Transferred, before_send
from brygga.sync.flow import Flow, PlanRow
from brygga.sync.order_document import STOCKHOLM, build_document
from brygga.sync.order_feed import OrderFeed
from brygga.sync.references import Replay, document_reference, replay_of, replay_payload
from brygga.sync.shop_changes import (
    CHANGED,
    SHOP_CHANGE,
    ShopChangeAction,
    ShopChangeCheck,
    order_fingerprint,
)
from brygga.sync.status_watch import watch_follow_up
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
#: write-backs claimed and finished per transaction
WRITEBACK_BATCH = 20
#: while a write is in doubt, it is looked up by reference this often (seconds), so one that
#: lands late is bound soon, long before the settle period allows a new send
DOUBT_RECHECK = 10.0


@dataclass
class OrdersHandler:
    """Transfers one shop order to the ERP, exactly once (looked up by reference first when an
    earlier attempt recorded its intent)."""

    connection: str
    erp_name: str
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
    #: the status register runs: each transferred order's document is watched (a follow-up)
    watch_status: bool = False
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

    @property
    def binds(self) -> str:
        """The claim reads each order's binding (its ERP document, once transferred)."""
        return REGISTER

    def intent(self, item: WorkItem) -> str:
        """The ERP reference, recorded with the claim: durable before the send at no extra
        transaction, and withdrawn when the attempt ends before it (:func:`before_send`)."""
        return replay_of(item.payload).reference(self.connection, item.instance, item.external_id)

    async def handle(self, item: WorkItem) -> Outcome:
        replay = replay_of(item.payload)
        with before_send():
            prepared = await self._prepare(item, replay)
        if isinstance(prepared, Outcome):
            return prepared
        order, document, replacing = prepared
        created = await self.erp.create_document(document)
        note = f"{created.document_type.value} created"
        latency = max(0.0, (self.clock.now() - order.created_at).total_seconds())
        return self._bound(
            item,
            created.number,
            note,
            replay,
            replacing,
            latency=latency,
            booked=created.booked,
            fingerprint=order_fingerprint(order),
        )

    async def _prepare(
        self, item: WorkItem, replay: Replay
    ) -> Outcome | tuple[Order, Document, bool]:
        """Everything before the send: the binding, a lookup of an earlier send, readiness,
        the document (checked) and its customer; an outcome when nothing is to be sent."""
        shop = self.shops.get(item.instance)
        if shop is None:
            raise PermanentError(
                f"order {item.external_id}: shop {item.instance!r} is no longer in this "
                "connection's config; add it back or resolve the record"
            )
        now = self.clock.now()
        reference = replay.reference(self.connection, item.instance, item.external_id)
        replacing = bool(item.bound and replay.generation and item.bound == replay.replaces)
        if item.bound and not replacing:
            # (re-)queue the write-back too: a crash may have lost it on an older version
            return self._bound(item, item.bound, "already transferred", replay)
        # An earlier attempt recorded its intent: the document may exist. Look it up before
        # anything else (readiness, cancellation), and never send again while in doubt.
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
        waiting = self._not_ready(item, order, now)
        if waiting is not None:
            return waiting
        if order.exported_as and not replay.generation:
            # the shop says it went to the ERP, the state file does not know it (restored
            # from an older backup, or another daemon): never a second document
            if self.lookup_by_reference and not earlier_intent:
                found = await self.erp.find_document(reference, self.options.document)
                if found is not None:
                    return await self._reconciled(item, found, replay, replacing)
            raise PermanentError(_marked_but_unknown(item, order.exported_as, reference))
        settings = self.options.shop(item.instance)
        if settings.currency is not None and order.currency != settings.currency:
            raise PermanentError(
                f"order {order.shop_order_id} (number {order.number or 'none'}) from shop "
                f"{item.instance!r} is in {order.currency}, but "
                f"[connection.orders.shops.{item.instance}] currency says {settings.currency}; "
                "no document was made. Correct the shop's currency setting or the order, then "
                f"`brygga errors retry {item.id}`"
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
            number_prefix=settings.number_prefix,
        )
        if isinstance(self.erp, DocumentChecker):
            # everything that can fail for good is checked before anything remote is created
            await self.erp.check_document(document)
        number = await self._customer(order, settings.customer_group)
        document = msgspec.structs.replace(document, customer_number=number)
        return order, document, replacing

    def _not_ready(self, item: WorkItem, order: Order, now: datetime) -> Outcome | None:
        """Skip a cancelled order; wait (revisit) for one not in a ready status yet."""
        if order.status in self.options.cancelled_in(item.instance):
            raise NothingToDo(f"order {order.shop_order_id} was cancelled before transfer")
        ready = self.options.ready_in(item.instance)
        if not ready or order.status in ready:
            return None
        note = f"waiting for status {' / '.join(ready)} (now {order.status!r})"
        first = item.last_error != note  # an event when it starts or the status moves
        return Outcome(
            state="waiting",
            error=note,
            next_attempt=now + timedelta(seconds=self.options.revisit),
            revisit=True,
            events=(("waiting", note),) if first else (),
        )

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
        return self._bound(
            item, found.number, note, replay, replacing, reconciled=True, booked=found.booked
        )

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
        booked: bool | None = None,
        fingerprint: str | None = None,
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
        follow_ups = [
            FollowUp(
                WRITEBACK,
                item.instance,
                item.external_id,
                payload=number.encode(),
                reopen=replay.generation > 0,
            )
        ]
        if self.watch_status:
            document = DocumentRef(
                document_type=self.options.document,
                number=number,
                reference=replay.reference(self.connection, item.instance, item.external_id),
                booked=self.options.book if booked is None else booked,
            )
            follow_ups.append(watch_follow_up(item.instance, item.external_id, document))
        return Transferred(
            latency=latency,
            state="done",
            result=number,
            bind=Binding(REGISTER, item.instance, item.external_id, self.erp_name, number),
            replace_binding=replacing,
            events=tuple(events),
            follow_ups=tuple(follow_ups),
            health=Health(REGISTER, ok=True),
            # what the document was made from: a later edit in the shop is told from it
            written=fingerprint,
        )

    async def _customer(self, order: Order, group: int | str | None = None) -> str:
        """Find or create the ERP customer; orders sharing a match key resolve one at a time,
        so several workers never create the same new customer twice. A new customer goes
        into the shop's ``customer_group`` when one is set (a found one keeps its group)."""
        customer = order.customer
        keys = match_keys(customer, self.options.customer_match)
        async with self._customer_locks.hold(keys):
            number = await self.erp.find_customer(customer, self.options.customer_match)
            if number is None and group is not None:
                if not isinstance(self.erp, CustomerGroups):  # config load refuses this
                    raise PermanentError(
                        f"order {order.shop_order_id}: this ERP adapter cannot create customers "
                        "in a chosen group; remove customer_group from [connection.orders.shops]"
                    )
                number = await self.erp.create_customer_in_group(customer, order.currency, group)
            elif number is None:
                number = await self.erp.create_customer(customer, order.currency)
        return number


def _marked_but_unknown(item: WorkItem, number: str, reference: str) -> str:
    return (
        f"order {item.external_id}: shop {item.instance} marks it as already exported to the "
        f"ERP as document {number}, but this state file has no record of that (restored from "
        f"an older backup?) and the ERP has no document with reference {reference}; if "
        f"{number} is this order's document, close this record with `brygga errors resolve "
        f"{item.id} --note ...`; if not, remove the export mark from the order in the shop "
        f"and `brygga errors retry {item.id}`"
    )


def orders_plan(*, handler: OrdersHandler, store: Store, interval: float = 60.0) -> PlanRow:
    """The orders row of a connection's plan: the feed, the transfer and the write-back."""
    feed = OrderFeed(
        connection=handler.connection,
        store=store,
        shops=handler.shops,
        options=handler.options,
        clock=handler.clock,
        interval=interval,
    )
    back = WriteBackHandler(
        connection=handler.connection,
        shops=handler.shops,
        document_type=handler.options.document,
    )
    if handler.options.shop_changes == "ignore":
        return PlanRow(
            handlers=(handler, back),
            discoverers=(feed,),
            workers={REGISTER: max(1, handler.options.workers), WRITEBACK: 1},
            batch={WRITEBACK: WRITEBACK_BATCH},
        )
    check = ShopChangeCheck(
        connection=handler.connection, shops=handler.shops, options=handler.options
    )
    act = ShopChangeAction(
        connection=handler.connection,
        erp=handler.erp,
        options=handler.options,
        settle=handler.settle,
    )
    return PlanRow(
        handlers=(handler, back, check, act),
        discoverers=(feed,),
        workers={
            REGISTER: max(1, handler.options.workers),
            WRITEBACK: 1,
            CHANGED: 1,
            SHOP_CHANGE: 1,
        },
        batch={WRITEBACK: WRITEBACK_BATCH, CHANGED: WRITEBACK_BATCH},
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
        rng: random.Random,
        run_id: str,
        lookup_by_reference: bool = True,
        settle: float = 60.0,
    ) -> None:
        handler = OrdersHandler(
            connection=connection,
            erp_name=erp_name,
            shops=shops,
            erp=erp,
            options=options,
            clock=clock,
            lookup_by_reference=lookup_by_reference,
            settle=settle,
        )
        row = orders_plan(handler=handler, store=store)
        engine = Engine(
            connection=connection,
            store=store,
            clock=clock,
            run_id=run_id,
            handlers={h.register: h for h in row.handlers},
            rng=rng,
            retry_max=float(options.retry_max),
        )
        super().__init__(engine=engine, rows=[row], erp=erp, shops=shops, settle=settle)
