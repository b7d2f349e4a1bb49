"""The status watch: each transferred order's ERP document, asked about in batches until done.

A watch item (register ``status.watch``, one per shop order) is queued with the order's
transfer and carries the document brygga created. Its worker claims due watch items in
batches and asks the ERP about all of them in one go (``StatusSource.document_states``).
What the ERP says is compared with what it said last time (kept as the item's ``written``
value); anything new queues the order's status item (``status``) with every event so far.
A young order is asked about at every status poll; an older one less often (a tenth of its
age, at most hourly). The watch ends when the order is cancelled, when every event the
connection has a rule for (and the ERP can report) has happened, or after
``[connection.status] watch``.

An order transferred before the status register first ran on the connection gets a watch item
then (:mod:`brygga.sync.status_backfill`), with its transfer time as the item's source time:
its age counts from the transfer, and its first look only records what the ERP says, so what
happened to it before is not sent to the shop (only what happens from then on).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from brygga.clock import Clock
from brygga.errors import BryggaError, PermanentError
from brygga.models import DocumentRef, DocumentState, OrderEvent
from brygga.registers import StatusSource
from brygga.store import FollowUp, Health, Outcome, Reads, WorkItem
from brygga.store.db import from_ts

__all__ = [
    "STATUS",
    "WATCH",
    "WATCH_BATCH",
    "StatusWatchHandler",
    "watch_follow_up",
]

#: the register of the shop writes (one reopening item per order)
STATUS = "status"
#: the register of the ERP watch (one item per transferred order)
WATCH = "status.watch"
#: documents asked about per ERP request batch
WATCH_BATCH = 50
#: an order is asked about again after this share of its age (at least the poll interval)
_AGE_SHARE = 0.1
#: and at least this often (seconds)
_LONGEST_WAIT = 3600.0


def watch_follow_up(shop: str, shop_order_id: str, document: DocumentRef) -> FollowUp:
    """The watch item queued with an order's transfer (its document as the payload)."""
    return FollowUp(WATCH, shop, shop_order_id, payload=msgspec.json.encode(document))


def status_payload(state: DocumentState) -> bytes:
    return msgspec.json.encode(state)


def read_status_payload(payload: bytes | None) -> DocumentState:
    return msgspec.json.decode(payload or b"", type=DocumentState)


@dataclass
class StatusWatchHandler:
    """Asks the ERP what became of transferred orders' documents, a batch at a time."""

    #: None when the ERP reports no events (only the ``transferred`` rule is served)
    erp: StatusSource | None
    clock: Clock
    #: the events the connection has rules for and the ERP can report: when all happened,
    #: nothing more is to be learnt
    wanted: Collection[OrderEvent]
    #: seconds between looks at a young order (``[connection.poll] status``)
    interval: float
    #: seconds after the transfer the watch ends (``[connection.status] watch``)
    horizon: float
    register: str = WATCH
    _answers: dict[int, DocumentState | BryggaError | None] = field(default_factory=dict)

    @property
    def reads(self) -> Reads:
        """The claim reads what the ERP said last time (the item's ``written``)."""
        return Reads(written=True)

    async def prepare(self, items: Sequence[WorkItem]) -> None:
        """One ERP request batch for the claimed items; ``handle`` answers from it."""
        self._answers = {}
        documents: dict[int, DocumentRef] = {}
        for item in items:
            try:
                documents[item.id] = _current_document(item)
            except PermanentError as exc:
                self._answers[item.id] = exc
        if self.erp is None or not self.wanted:
            self._answers.update(
                (item_id, DocumentState(reference=d.reference, number=d.number, booked=d.booked))
                for item_id, d in documents.items()
            )
            return
        try:
            states = await self.erp.document_states(list(documents.values()))
        except BryggaError as exc:
            self._answers.update((item_id, exc) for item_id in documents)
            return
        by_reference = {state.reference: state for state in states}
        for item_id, document in documents.items():
            self._answers[item_id] = by_reference.get(document.reference)

    async def handle(self, item: WorkItem) -> Outcome:
        if item.id not in self._answers:
            await self.prepare([item])
        answer = self._answers.pop(item.id, None)
        if isinstance(answer, BryggaError):
            raise answer
        now = self.clock.now()
        document = _current_document(item)
        # a late watch (transferred before the status register ran) counts from its transfer
        late = bool(item.source_time)  # its source time is the transfer's
        age = (now - (from_ts(item.source_time) if late else item.created_at)).total_seconds()
        if answer is None:
            return self._again(item, now, age, "the ERP had no answer for this document yet")
        seen = _last_seen(item)
        events = answer.events | {OrderEvent.TRANSFERRED}
        state = msgspec.structs.replace(answer, events=frozenset(events))
        changed = seen is None or _differs(seen, state)
        follow_ups: tuple[FollowUp, ...] = ()
        notes: list[tuple[str, str]] = []
        if changed and seen is None and late:
            # the first look of a late watch: the baseline, nothing sent
            known = ", ".join(e.value for e in sorted(events, key=_rank))
            notes.append(
                (
                    "erp event",
                    f"document {state.number}: watched from now on; already {known} "
                    "(not sent: it happened before the status register ran)",
                )
            )
        elif changed:
            new = sorted(events - (seen.events if seen else frozenset()), key=_rank)
            follow_ups = (
                FollowUp(
                    STATUS,
                    item.instance,
                    item.external_id,
                    payload=status_payload(state),
                    source_time=now,
                ),
            )
            detail = ", ".join(e.value for e in new) or "tracking number"
            notes.append(("erp event", f"document {state.number}: {detail}"))
        finished = _finished(state, self.wanted)
        if finished or age >= self.horizon:
            why = finished or "the watch period ended"
            return Outcome(
                state="done",
                result=f"{document.number}: {why}",
                events=(*notes, ("done", f"watch ended: {why}")),
                follow_ups=follow_ups,
                written=_encode_seen(state) if changed else None,
                health=Health(self.register, ok=True),
            )
        if not changed:
            return self._again(item, now, age, "")
        return Outcome(
            state="waiting",
            error="",
            next_attempt=now + timedelta(seconds=self._wait(age)),
            events=tuple(notes),
            follow_ups=follow_ups,
            written=_encode_seen(state),
            health=Health(self.register, ok=True),
        )

    def _again(self, item: WorkItem, now: datetime, age: float, note: str) -> Outcome:
        """Nothing new: look again later (the attempt is given back, no history grows)."""
        return Outcome(
            state="waiting",
            error=note,
            next_attempt=now + timedelta(seconds=self._wait(age)),
            revisit=True,
            health=Health(self.register, ok=True),
        )

    def _wait(self, age: float) -> float:
        return max(self.interval, min(_LONGEST_WAIT, age * _AGE_SHARE))


def _rank(event: OrderEvent) -> int:
    return list(OrderEvent).index(event)


def _finished(state: DocumentState, wanted: Collection[OrderEvent]) -> str:
    """Why the watch of this document can end ("" while something may still happen)."""
    if OrderEvent.CANCELLED in state.events:
        return "cancelled in the ERP"
    if not wanted:
        return "no ERP events to watch for"
    if all(event in state.events for event in wanted):
        return "every event with a rule has happened"
    return ""


def _differs(seen: DocumentState, now: DocumentState) -> bool:
    return (
        seen.events != now.events
        or seen.tracking_number != now.tracking_number
        or seen.carrier != now.carrier
        or seen.number != now.number
    )


def _current_document(item: WorkItem) -> DocumentRef:
    """The document as brygga knows it now: the queued one, with the number and booked
    flag the ERP reported last (a draft's number changes when it is booked)."""
    try:
        document = msgspec.json.decode(item.payload or b"", type=DocumentRef)
    except msgspec.DecodeError as exc:
        raise PermanentError(
            f"order {item.external_id}: the status watch has no readable ERP document ({exc}); "
            f"resolve the record with `brygga errors resolve {item.id}`"
        ) from None
    seen = _last_seen(item)
    if seen is None or seen.reference != document.reference:
        return document  # nothing seen yet, or a replay's new document
    return msgspec.structs.replace(document, number=seen.number, booked=seen.booked)


def _last_seen(item: WorkItem) -> DocumentState | None:
    if not item.written:
        return None
    return msgspec.json.decode(item.written, type=DocumentState)


def _encode_seen(state: DocumentState) -> str:
    return msgspec.json.encode(state).decode()
