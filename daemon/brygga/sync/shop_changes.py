"""Orders changed in the shop after their transfer: edits flagged, cancellations flagged or
cancelled in the ERP (``[connection.orders] shop_changes``).

The orders feed queues a check (register ``orders.changed``, reopening, one per order) for
every change it sees of an order that is already bound to its ERP document. The check reads
the order and compares it with what was transferred (a fingerprint of its lines and totals,
recorded with the transfer): our own writes (the export mark, a status) change neither, so
they are no edit. A cancellation is the shop's own unless the shop status is the one brygga
wrote. What is found becomes an action item (register ``orders.shop_change``, one per order
and version): ``flag`` fails it with a sentence naming the order, the document and the fix,
so it waits in the error queue for a person; ``cancel`` cancels the ERP document where the
ERP adapter can (``DocumentCanceller``) and flags it where it cannot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from brygga.adapters import DocumentCanceller, ErpAdapter, ShopAdapter
from brygga.config import OrdersConfig
from brygga.errors import NothingToDo, PermanentError, TransientError
from brygga.models import Order, Register
from brygga.store import FollowUp, Health, Outcome, Reads, WorkItem
from brygga.sync.engine import before_send
from brygga.sync.references import document_reference
from brygga.sync.status_watch import STATUS

__all__ = [
    "CHANGED",
    "SHOP_CHANGE",
    "ShopChangeAction",
    "ShopChangeCheck",
    "order_fingerprint",
]

#: checks of orders changed in the shop after their transfer
CHANGED = "orders.changed"
#: what a check found: flagged for a person, or a cancellation to carry out in the ERP
SHOP_CHANGE = "orders.shop_change"
ORDERS = Register.ORDERS.value


def order_fingerprint(order: Order) -> str:
    """What the ERP document was made from: lines, totals and currency (not the status, the
    export mark or notes, which change after the transfer by design)."""
    lines = [
        (
            line.kind.value,
            line.sku,
            str(line.quantity.normalize()),
            str(line.unit_price.normalize()),
            str(line.discount.normalize()),
            str(line.vat_rate.normalize()),
        )
        for line in order.lines
    ]
    shape = (order.currency, str(order.total.normalize()), str(order.total_vat.normalize()), lines)
    return hashlib.sha256(msgspec.json.encode(shape)).hexdigest()[:24]


class _Action(msgspec.Struct, frozen=True):
    """An action item's payload."""

    action: str  # "flag" or "cancel"
    message: str
    document: str


@dataclass
class ShopChangeCheck:
    """Compares an order changed in the shop with what was transferred."""

    connection: str
    shops: Mapping[str, ShopAdapter]
    options: OrdersConfig
    register: str = CHANGED

    @property
    def binds(self) -> str:
        return ORDERS

    @property
    def reads(self) -> Reads:
        """The fingerprint of the last look (own), of the transfer (orders), and the shop
        status brygga last wrote (status)."""
        return Reads(written=True, written_of=(ORDERS, STATUS))

    async def handle(self, item: WorkItem) -> Outcome:
        shop = self.shops.get(item.instance)
        if shop is None:
            raise NothingToDo(f"shop {item.instance!r} is no longer configured")
        if not item.bound:
            raise NothingToDo(f"order {item.external_id} is not in the ERP: nothing to compare")
        order = await shop.fetch_order(item.external_id)
        now = order_fingerprint(order)
        seen = item.written or item.written_of.get(ORDERS, "")
        document = item.bound
        actions: list[FollowUp] = []
        notes: list[tuple[str, str]] = []
        cancelled = order.status in self.options.cancelled_in(item.instance)
        if cancelled and order.status != _written_status(item.written_of.get(STATUS, "")):
            action = "cancel" if self.options.shop_changes == "cancel" else "flag"
            message = (
                f"order {item.external_id} (number {order.number or 'none'}) was cancelled in "
                f"shop {item.instance!r} after its transfer to ERP document {document}; "
                "cancel or credit the document in the ERP by hand, then close this record "
                "with `brygga errors resolve <id> --note ...`"
            )
            actions.append(_action(item, "cancelled", action, message, document))
            notes.append(("shop change", f"cancelled in the shop ({action})"))
        elif seen and now != seen:
            message = (
                f"order {item.external_id} (number {order.number or 'none'}) was edited in "
                f"shop {item.instance!r} after its transfer (its lines or totals changed); "
                f"ERP document {document} still has the order as it was. Correct the "
                "document in the ERP, then close this record with `brygga errors resolve "
                "<id> --note ...`"
            )
            actions.append(_action(item, now, "flag", message, document))
            notes.append(("shop change", "edited in the shop after the transfer (flagged)"))
        return Outcome(
            state="done",
            result="changed in the shop" if actions else "no change to the transferred order",
            events=tuple(notes),
            follow_ups=tuple(actions),
            written=now,
            health=Health(CHANGED, ok=True),
        )


def _action(item: WorkItem, version: str, action: str, message: str, document: str) -> FollowUp:
    """One action item per order and version of it (an edit flags once per version)."""
    return FollowUp(
        SHOP_CHANGE,
        item.instance,
        f"{item.external_id}@{version}",
        payload=msgspec.json.encode(_Action(action, message, document)),
    )


def _written_status(written: str) -> str:
    """The shop status brygga last wrote for the order ("" for none)."""
    if not written:
        return ""
    try:
        value = msgspec.json.decode(written)
    except msgspec.DecodeError:
        return ""
    return str(value.get("shop_status", "")) if isinstance(value, dict) else ""


@dataclass
class ShopChangeAction:
    """Carries out what a check found: a flag for a person, or the ERP cancellation."""

    connection: str
    erp: ErpAdapter
    options: OrdersConfig
    settle: float = 60.0
    register: str = SHOP_CHANGE

    def intent(self, item: WorkItem) -> str:
        return "cancel" if _payload(item).action == "cancel" else ""

    def in_doubt(self, item: WorkItem, error: TransientError, now: datetime) -> Outcome:
        """A cancellation may have landed: looked up again after the settle period."""
        until = now + timedelta(seconds=self.settle)
        return Outcome(state="reconcile", error=str(error), next_attempt=until, doubt_until=until)

    async def handle(self, item: WorkItem) -> Outcome:
        with before_send():
            found = _payload(item)
            if found.action != "cancel":
                raise PermanentError(found.message.replace("<id>", str(item.id)))
            if not isinstance(self.erp, DocumentCanceller):
                raise PermanentError(found.message.replace("<id>", str(item.id)))
            order_id = item.external_id.rsplit("@", 1)[0]
            reference = document_reference(self.connection, item.instance, order_id)
            current = await self.erp.find_document(reference, self.options.document)
            if current is None:
                return Outcome(
                    state="done",
                    result="no document any more",
                    events=(("cancelled", f"ERP document {found.document} is gone already"),),
                )
        try:
            await self.erp.cancel_document(current)
        except PermanentError as exc:
            raise PermanentError(
                f"{found.message.replace('<id>', str(item.id))} (brygga could not: {exc})"
            ) from None
        return Outcome(
            state="done",
            result=f"cancelled {current.number}",
            events=(
                (
                    "cancelled",
                    f"order {order_id} was cancelled in the shop: ERP document "
                    f"{current.number} cancelled",
                ),
            ),
        )


def _payload(item: WorkItem) -> _Action:
    try:
        return msgspec.json.decode(item.payload or b"", type=_Action)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise PermanentError(
            f"shop change record {item.external_id} is unreadable; resolve it with "
            f"`brygga errors resolve {item.id}`"
        ) from None
