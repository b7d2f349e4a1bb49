"""The status write: an order's ERP events become one shop status, once, never backwards.

A status item (register ``status``, one per shop order, queued again whenever the ERP says
something new) carries every event of the order so far. The shop gets the status of the
furthest event the connection has a rule for (``EVENT_RANK``); what was last written is the
item's ``written`` value, so an event of a lower rank arriving late is recorded but never
moves the order back, and one already written is not written again.

Exactly once per effect (status, e-mail, capture are one shop call): the intent is recorded
with the claim; a write whose outcome is unknown is given the settle period to land before
the next attempt, and every attempt reads the order first (``StatusSink.set_status``), so a
write that landed is never repeated and a payment is never captured twice. An event for an
order that is not in the ERP yet is parked until the order's transfer binds it.

The plugins' ``status`` mappings run on the order's DocumentState (its ERP events, number,
tracking) before the shop status is chosen from the rules (:meth:`StatusHandler._mapped`, the
one place; the recorded intent reads the same mapped state). A Skip records the item as skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from brygga.adapters import ShopAdapter
from brygga.clock import Clock
from brygga.config import StatusRule
from brygga.errors import NothingToDo, PermanentError, TransientError
from brygga.mappings import Mapping as FieldMapping
from brygga.mappings import MappingContext, apply_mappings
from brygga.models import EVENT_RANK, DocumentState, OrderEvent, Register
from brygga.registers import StatusSink
from brygga.store import Health, Outcome, Reads, WorkItem
from brygga.sync.engine import before_send
from brygga.sync.status_watch import STATUS

__all__ = ["StatusHandler"]

#: while a write is in doubt, the item is looked at again this often (seconds)
_DOUBT_RECHECK = 10.0


class _Applied(msgspec.Struct, frozen=True):
    """What the shop was last given for an order (the item's ``written`` value)."""

    event: OrderEvent
    shop_status: str
    tracking_number: str = ""


@dataclass
class StatusHandler:
    """Writes the shop status of an order's furthest ERP event that has a rule."""

    connection: str
    shops: Mapping[str, ShopAdapter]
    #: shop name → its rules by event (the connection's, with the shop's own in their place)
    rules: Mapping[str, Mapping[OrderEvent, StatusRule]]
    clock: Clock
    #: seconds a write in doubt is given to land before it may be sent again
    settle: float
    #: seconds a parked event (order not transferred yet) waits before it is looked at again
    park: float = 300.0
    #: the plugins' status mappings, run on each order's ERP state before the rules
    mappings: Sequence[FieldMapping] = ()
    #: the connection's ERP instance (the events' source, for the mapping context)
    erp_name: str = ""
    register: str = STATUS

    @property
    def binds(self) -> str:
        """The claim reads the order's binding: an order not in the ERP yet is parked."""
        return Register.ORDERS.value

    @property
    def reads(self) -> Reads:
        """The claim reads what the shop was last given (the item's ``written``)."""
        return Reads(written=True)

    def intent(self, item: WorkItem) -> str:
        """The status write about to happen, recorded with the claim."""
        target = self._target(item)
        return f"status:{target[0].value}" if target else ""

    def in_doubt(self, item: WorkItem, error: TransientError, now: datetime) -> Outcome:
        """The shop may still apply the write: nothing is sent before the settle period."""
        until = now + timedelta(seconds=self.settle)
        return Outcome(
            state="reconcile",
            error=str(error),
            next_attempt=until,
            doubt_until=until,
            events=(
                (
                    "in doubt",
                    f"{error}; the shop may still apply it, so brygga reads the order and "
                    f"writes nothing before {until.isoformat(timespec='seconds')}",
                ),
            ),
        )

    async def handle(self, item: WorkItem) -> Outcome:
        with before_send():
            shop = self.shops.get(item.instance)
            if shop is None:
                raise NothingToDo(f"shop {item.instance!r} is no longer configured")
            if not item.bound:
                return self._parked(item)
            state = self._mapped(item)
            target = self._target(item, state)
            applied = _applied(item)
            if target is None:
                return _recorded(state, "no status rule for it")
            event, rule = target
            tracking = state.tracking_number if rule.tracking else ""
            if applied is not None and EVENT_RANK[applied.event] > EVENT_RANK[event]:
                return _recorded(
                    state,
                    f"the order stays at {applied.event.value} ({applied.shop_status}): a "
                    "late event never moves it back",
                )
            if applied == _Applied(event, rule.shop_status, tracking):
                return _recorded(state, f"{event.value} was already written")
            if not isinstance(shop, StatusSink):
                raise PermanentError(
                    f"order {item.external_id}: shop {item.instance!r} takes no order statuses; "
                    "remove the [connection.status] rules or switch status off"
                )
            now = self.clock.now()
            if item.doubt_until is not None and now < item.doubt_until:
                return Outcome(
                    state="reconcile",
                    error="an earlier status write may still land",
                    next_attempt=min(item.doubt_until, now + timedelta(seconds=_DOUBT_RECHECK)),
                    revisit=True,
                )
        wrote = await shop.set_status(
            item.external_id,
            rule.shop_status,
            email=rule.email,
            capture=rule.capture,
            tracking_number=tracking,
            carrier=state.carrier if rule.tracking else "",
        )
        effects = [f"shop status {rule.shop_status!r}"]
        effects += [e for e, on in (("e-mail", rule.email), ("capture", rule.capture)) if on]
        if tracking:
            effects.append(f"tracking {tracking}")
        what = ", ".join(effects)
        message = (
            f"{event.value} (document {state.number}): {what}"
            if wrote
            else f"{event.value} (document {state.number}): the order already had {what}"
        )
        return Outcome(
            state="done",
            result=rule.shop_status,
            events=(("status", message),),
            written=msgspec.json.encode(_Applied(event, rule.shop_status, tracking)).decode(),
            health=Health(STATUS, ok=True),
        )

    def _mapped(self, item: WorkItem) -> DocumentState:
        """The item's ERP state through the plugins' status mappings (Skip: NothingToDo)."""
        state = _state(item)
        if not self.mappings:
            return state
        context = MappingContext.between(
            self.connection,
            Register.STATUS,
            source=self.erp_name,
            target=item.instance,
            erp=self.erp_name,
        )
        return apply_mappings(
            state, self.mappings, context, record=f"status of order {item.external_id}"
        )

    def _target(
        self, item: WorkItem, state: DocumentState | None = None
    ) -> tuple[OrderEvent, StatusRule] | None:
        """The furthest event of the order that has a rule, and the rule."""
        if state is None:
            try:
                state = self._mapped(item)
            except (PermanentError, NothingToDo):
                return None
        rules = self.rules.get(item.instance, {})
        ruled = [e for e in state.events if e in rules]
        if not ruled:
            return None
        event = max(ruled, key=EVENT_RANK.__getitem__)
        return event, rules[event]

    def _parked(self, item: WorkItem) -> Outcome:
        note = "parked: the order is not in the ERP yet; applied once its transfer is done"
        first = item.last_error != note
        return Outcome(
            state="waiting",
            error=note,
            next_attempt=self.clock.now() + timedelta(seconds=self.park),
            revisit=True,
            events=(("parked", note),) if first else (),
        )


def _state(item: WorkItem) -> DocumentState:
    try:
        return msgspec.json.decode(item.payload or b"", type=DocumentState)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise PermanentError(
            f"order {item.external_id}: the status record is unreadable ({exc}); resolve it "
            f"with `brygga errors resolve {item.id}`"
        ) from None


def _applied(item: WorkItem) -> _Applied | None:
    if not item.written:
        return None
    return msgspec.json.decode(item.written, type=_Applied)


def _recorded(state: DocumentState, why: str) -> Outcome:
    events = ", ".join(sorted(e.value for e in state.events))
    return Outcome(
        state="done",
        result="unchanged",
        events=(("recorded", f"ERP events {events} (document {state.number}); {why}"),),
        health=Health(STATUS, ok=True),
    )
