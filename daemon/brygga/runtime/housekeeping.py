"""Keep the state file bounded (``[daemon] keep_history``) and work due on the clock's time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import anyio

from brygga.clock import Clock
from brygga.store import Store
from brygga.store.workitems import CLOCK_SLACK

__all__ = ["CLOCK_CHECK_EVERY", "PRUNE_EVERY", "keep_history_bounded"]

log = logging.getLogger(__name__)

#: how often old history is pruned (seconds)
PRUNE_EVERY = 3600.0
#: how often the clock is compared with the latest time seen (seconds; no store access)
CLOCK_CHECK_EVERY = 60.0


async def keep_history_bounded(
    store: Store,
    keep: float,
    clock: Clock,
    *,
    every: float = PRUNE_EVERY,
    check: float = CLOCK_CHECK_EVERY,
) -> None:
    """Prune now and then every ``every`` seconds, forever (the daemon's task group owns it).

    Done, skipped and resolved records and events older than ``keep`` seconds go; failed
    records stay in the error queue and bindings stay (they make each transfer exactly once).

    Records written under a clock that has since gone back are moved back first (each pass),
    and every ``check`` seconds the clock is compared with the latest time seen: once it is
    more than :data:`~brygga.store.workitems.CLOCK_SLACK` behind, they are moved back at once.
    """
    async with anyio.create_task_group() as tg:
        tg.start_soon(_watch_clock, store, clock, check)
        while True:
            await _rewind(store, clock.now())
            records, events = await store.prune_history(clock.now() - timedelta(seconds=keep))
            if records or events:
                log.info(
                    "pruned history older than %s: %d finished record(s), %d event(s)",
                    timedelta(seconds=keep),
                    records,
                    events,
                )
            await clock.sleep(every)


async def _watch_clock(store: Store, clock: Clock, check: float) -> None:
    """Every ``check`` seconds: has the clock gone back? (A comparison; the store is read
    only when it has.)"""
    seen = clock.now()
    while True:
        await clock.sleep(check)
        now = clock.now()
        if now < seen - timedelta(seconds=CLOCK_SLACK):
            log.warning(
                "this host's clock went back by %s", str(seen - now).split(".", maxsplit=1)[0]
            )
            await _rewind(store, now)
        seen = now


async def _rewind(store: Store, now: datetime) -> None:
    rewound = await store.items.rewind_future(now)
    if rewound.rows:
        log.warning("%s", rewound.describe())
