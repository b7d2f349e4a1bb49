"""Keep the state file bounded: forget finished history older than ``[daemon] keep_history``."""

from __future__ import annotations

import logging
from datetime import timedelta

from brygga.clock import Clock
from brygga.store import Store

__all__ = ["PRUNE_EVERY", "keep_history_bounded"]

log = logging.getLogger(__name__)

#: how often old history is pruned (seconds)
PRUNE_EVERY = 3600.0


async def keep_history_bounded(
    store: Store, keep: float, clock: Clock, *, every: float = PRUNE_EVERY
) -> None:
    """Prune now and then every ``every`` seconds, forever (the daemon's task group owns it).

    Done, skipped and resolved records and events older than ``keep`` seconds go; failed
    records stay in the error queue and bindings stay (they make each transfer exactly once).
    """
    while True:
        records, events = await store.prune_history(clock.now() - timedelta(seconds=keep))
        if records or events:
            log.info(
                "pruned history older than %s: %d finished record(s), %d event(s)",
                timedelta(seconds=keep),
                records,
                events,
            )
        await clock.sleep(every)
