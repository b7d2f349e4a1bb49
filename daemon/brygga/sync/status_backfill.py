"""Orders transferred before the status register first ran on a connection are watched too."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import msgspec

from brygga.clock import Clock
from brygga.models import DocumentRef, DocumentType
from brygga.store import Discovered, Store
from brygga.sync.references import document_reference
from brygga.sync.status_watch import WATCH

__all__ = ["BACKFILL_ACCOUNT", "backfill_watch"]

#: the state key that says a connection's transferred orders were given watch items
BACKFILL_ACCOUNT = "brygga"
#: the register whose bindings are the transferred orders
_ORDERS = "orders"


async def backfill_watch(
    store: Store,
    *,
    connection: str,
    document_type: DocumentType,
    booked: bool,
    horizon: float,
    clock: Clock,
) -> int:
    """Once per connection (the first time its status register runs): a watch item for each
    order transferred within the last ``horizon`` seconds that has none yet. Each carries its
    transfer time, so its age counts from then and its first look is only a baseline (see
    :mod:`brygga.sync.status_watch`). Returns how many were queued."""
    key = f"status-backfill/{connection}"
    if await store.adapter_state.get(BACKFILL_ACCOUNT, key) is not None:
        return 0
    now = clock.now()
    rows = await store.bindings.transferred_since(
        connection, _ORDERS, now - timedelta(seconds=horizon)
    )
    by_shop: dict[str, list[Discovered]] = defaultdict(list)
    for row in rows:
        shop, order = row.binding.source_instance, row.binding.source_id
        document = DocumentRef(
            document_type=document_type,
            number=row.binding.target_id,
            reference=row.reference or document_reference(connection, shop, order),
            booked=booked,
        )
        payload = msgspec.json.encode(document)
        by_shop[shop].append(Discovered(order, True, source_time=row.at, payload=payload))
    queued = 0
    for shop, records in by_shop.items():
        queued += await store.items.enqueue_many(
            connection=connection, register=WATCH, instance=shop, records=records, now=now
        )
    await store.adapter_state.put(BACKFILL_ACCOUNT, key, now.isoformat().encode(), now)
    return queued
