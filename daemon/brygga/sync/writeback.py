"""The write-back handler: the ERP document number goes back onto the shop order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from brygga.adapters import ShopAdapter
from brygga.errors import NothingToDo, PermanentError
from brygga.models import DocumentRef, DocumentType, Register
from brygga.store import Health, Outcome, WorkItem

__all__ = ["WRITEBACK", "WriteBackHandler"]

WRITEBACK = "orders.writeback"


@dataclass
class WriteBackHandler:
    """Marks a transferred shop order as exported with its ERP document (idempotent upsert)."""

    connection: str
    shops: Mapping[str, ShopAdapter]
    document_type: DocumentType
    register: str = WRITEBACK

    @property
    def binds(self) -> str:
        """The claim reads the order's binding: its document when the payload has none."""
        return Register.ORDERS.value

    async def handle(self, item: WorkItem) -> Outcome:
        shop = self.shops.get(item.instance)
        if shop is None:
            raise NothingToDo(f"shop {item.instance!r} is no longer configured")
        number = (item.payload or b"").decode() or item.bound
        if not number:
            raise PermanentError(
                f"order {item.external_id}: no ERP document recorded to write back"
            )
        await shop.mark_exported(
            item.external_id,
            DocumentRef(document_type=self.document_type, number=number, reference=""),
        )
        return Outcome(state="done", result=number, health=Health(WRITEBACK, ok=True))
