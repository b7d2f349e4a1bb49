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
from datetime import datetime, timedelta

import anyio

from brygga.adapters import ErpAdapter, ShopAdapter
from brygga.clock import Clock
from brygga.config import OrdersConfig
from brygga.errors import NothingToDo, PermanentError, TransientError
from brygga.mappings import Mapping, MappingContext, apply_mappings
from brygga.models import DocumentRef, Order, Register
from brygga.runtime.backoff import retry_delay
from brygga.store import Binding, Enqueued, Event, ItemState, Store, WorkItem
from brygga.store.workitems import IN_FLIGHT
from brygga.sync.observer import FlowObserver, NullObserver
from brygga.sync.order_document import build_document

__all__ = ["OrdersFlow", "Replay", "document_reference", "replay_of", "replay_payload"]

log = logging.getLogger(__name__)

REGISTER = Register.ORDERS.value
WRITEBACK = "orders.writeback"
#: transient failures are retried this many times before the record goes to the error queue
MAX_TRANSIENT_ATTEMPTS = 25


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
        """Run one claimed item to its next state; never raises for the record's own errors."""
        try:
            if item.register == WRITEBACK:
                await self._write_back(item)
            else:
                await self._transfer(item)
        except _Waiting as waiting:
            await self._finish(item, ItemState.WAITING, next_attempt=waiting.until)
            return ItemState.WAITING
        except NothingToDo as skip:
            await self._finish(item, ItemState.SKIPPED, error=str(skip))
            return ItemState.SKIPPED
        except TransientError as exc:
            return await self._retry_or_fail(item, exc)
        except PermanentError as exc:
            await self._finish(item, ItemState.FAILED, error=str(exc))
            return ItemState.FAILED
        except Exception as exc:
            log.exception(
                "internal error on %s %s/%s", item.register, item.instance, item.external_id
            )
            await self._finish(
                item, ItemState.FAILED, error=f"internal error ({type(exc).__name__}): {exc}"
            )
            return ItemState.FAILED
        return ItemState.DONE

    async def _retry_or_fail(self, item: WorkItem, exc: TransientError) -> ItemState:
        if item.attempts >= MAX_TRANSIENT_ATTEMPTS:
            await self._finish(
                item,
                ItemState.FAILED,
                error=f"gave up after {item.attempts} attempts; last error: {exc}",
            )
            return ItemState.FAILED
        delay = retry_delay(
            item.attempts,
            base=1.0,
            cap=max(1.0, self.options.retry_max),
            retry_after=exc.retry_after,
            rng=self.rng,
        )
        await self._finish(
            item,
            ItemState.RETRY,
            error=str(exc),
            next_attempt=self.clock.now() + timedelta(seconds=delay),
        )
        return ItemState.RETRY

    async def _finish(
        self,
        item: WorkItem,
        state: ItemState,
        *,
        error: str = "",
        result: str = "",
        next_attempt: datetime | None = None,
    ) -> None:
        now = self.clock.now()
        await self.store.items.finish(
            item.id, state, now, result=result, error=error, next_attempt=next_attempt
        )
        if state is not ItemState.DONE:
            await self._event(item, state.value, error or state.value)
        register = Register.ORDERS.value
        if state is ItemState.FAILED:
            await self.store.status.failure(self.connection, register, item.instance, error, now)
        self.observer.item_finished(self.connection, item.register, state.value)

    async def _event(self, item: WorkItem, kind: str, message: str) -> None:
        await self.store.events.add(
            Event(
                at=self.clock.now(),
                connection=self.connection,
                register=item.register,
                instance=item.instance,
                external_id=item.external_id,
                kind=kind,
                message=message,
                work_item_id=item.id,
            )
        )

    async def _transfer(self, item: WorkItem) -> None:
        shop = self.shops.get(item.instance)
        if shop is None:
            raise PermanentError(
                f"order {item.external_id}: shop {item.instance!r} is no longer in this "
                "connection's config; add it back or resolve the record"
            )
        replay = replay_of(item.payload)
        reference = replay.reference(self.connection, item.instance, item.external_id)
        bound = await self.store.bindings.target_of(
            self.connection, REGISTER, item.instance, item.external_id
        )
        if bound is not None and replay.generation and bound.target_id == replay.replaces:
            # a forced replay: the document it replaces stays in the ERP, unbound
            await self.store.bindings.unbind(
                self.connection, REGISTER, item.instance, item.external_id
            )
            await self._event(
                item,
                "replaced",
                f"replay {replay.generation}: ERP document {replay.replaces} is no longer "
                f"bound to this order; a new document with reference {reference} replaces it",
            )
        elif bound is not None:
            await self._done(item, bound.target_id, note="already transferred")
            return
        order = await shop.fetch_order(item.external_id)
        if order.status in self.options.cancelled_statuses:
            raise NothingToDo(f"order {order.shop_order_id} was cancelled before transfer")
        if self.options.ready_statuses and order.status not in self.options.ready_statuses:
            until = self.clock.now() + timedelta(seconds=self.options.revisit)
            raise _Waiting(until)
        # An earlier attempt recorded its intent: the document may exist. Look before sending.
        earlier_intent = item.reference or item.state is ItemState.RECONCILE
        if earlier_intent and self.lookup_by_reference:
            found = await self.erp.find_document(reference, self.options.document)
            if found is not None:
                await self._event(item, "reconciled", f"found {found.number} by reference")
                await self._created(item, order, found)
                return
        order = apply_mappings(
            order,
            self.mappings,
            MappingContext(self.connection, item.instance, self.erp_name, Register.ORDERS),
        )
        customer_number = await self._customer(order)
        document = build_document(
            order,
            reference=reference,
            document_type=self.options.document,
            customer_number=customer_number,
            fee_articles=self.options.fee_articles,
            book=self.options.book,
        )
        await self.store.items.record_intent(item.id, reference, self.clock.now())
        created = await self.erp.create_document(document)
        await self._created(item, order, created)

    async def _customer(self, order: Order) -> str:
        customer = order.customer
        number = await self.erp.find_customer(customer, self.options.customer_match)
        if number is None:
            number = await self.erp.create_customer(customer, order.currency)
        return number

    async def _created(self, item: WorkItem, order: Order, document: DocumentRef) -> None:
        now = self.clock.now()
        await self.store.bindings.bind(
            self.connection,
            Binding(REGISTER, item.instance, item.external_id, self.erp_name, document.number),
            now,
        )
        await self._done(item, document.number, note=f"{document.document_type.value} created")
        self.observer.transferred(
            self.connection, REGISTER, max(0.0, (now - order.created_at).total_seconds())
        )
        queued = await self.store.items.enqueue(
            connection=self.connection,
            register=WRITEBACK,
            instance=item.instance,
            external_id=item.external_id,
            now=now,
            ready=True,
            payload=document.number.encode(),
        )
        if queued is not Enqueued.CREATED and replay_of(item.payload).generation:
            # a replay: the shop must learn the new number (unless a write-back is mid-call)
            written = await self.store.items.find(
                connection=self.connection,
                register=WRITEBACK,
                instance=item.instance,
                external_id=item.external_id,
            )
            if written is not None and written.state not in IN_FLIGHT:
                await self.store.items.reopen(
                    written.id, now, from_states=[written.state], payload=document.number.encode()
                )
        self.wake()

    async def _done(self, item: WorkItem, number: str, *, note: str) -> None:
        await self._event(item, "done", f"{note}: {number}")
        await self._finish(item, ItemState.DONE, result=number)
        await self.store.status.success(self.connection, REGISTER, item.instance, self.clock.now())

    async def _write_back(self, item: WorkItem) -> None:
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
        await self._finish(item, ItemState.DONE, result=number)
        await self.store.status.success(self.connection, WRITEBACK, item.instance, self.clock.now())


class _Waiting(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__("not ready")
        self.until = until
