"""Serialise customer resolution per match key, so concurrent orders never create one twice."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import anyio

from brygga.models import Customer

__all__ = ["KeyedLocks", "match_keys"]


def match_keys(customer: Customer, match_on: Sequence[str]) -> list[str]:
    """The keys two orders of the same customer share: the configured match fields that are
    set (e-mail compared case-insensitively, as the ERPs do), else one key for the guest."""
    values = {
        "customer_number": customer.customer_number.strip(),
        "email": customer.email.strip().casefold(),
        "org_number": customer.org_number.strip(),
    }
    keys = [f"{name}:{values[name]}" for name in match_on if values.get(name)]
    return keys or [f"guest:{customer.name.strip().casefold()}"]


class KeyedLocks:
    """One lock per key, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[anyio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, keys: Iterable[str]) -> AsyncIterator[None]:
        """Hold every key's lock (taken in sorted order, so two holders never deadlock)."""
        wanted = sorted(set(keys))
        for key in wanted:
            lock, users = self._locks.get(key, (anyio.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            async with AsyncExitStack() as stack:
                for key in wanted:
                    await stack.enter_async_context(self._locks[key][0])
                yield
        finally:
            for key in wanted:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
