"""Adapter state for a command run before any daemon: the state file is made at the first write.

`brygga check --remote` and a dry-run `sync products` may run on a fresh machine, where no
state file exists yet. Most adapters only read their state, and then nothing is created. One
that rotates its credentials (Fortnox: single-use refresh tokens) must keep the new token, or
the configured one is spent and the daemon that starts next cannot sign in: its first write
opens (creates) the state file, as the daemon would, and the value lives there from then on.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from brygga.store import Store

__all__ = ["StateOnWrite"]


class StateOnWrite:
    """An :class:`~brygga.accountstate.AdapterStateStore` that reads nothing while no state
    file exists and creates it at ``path`` at the first write. :meth:`aclose` closes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None

    @property
    def created(self) -> bool:
        """Whether a write created the state file."""
        return self._store is not None

    async def _opened(self) -> Store:
        if self._store is None:
            self._store = await Store.open(self.path)
        return self._store

    async def get(self, account: str, key: str) -> bytes | None:
        if self._store is None:
            return None
        return await self._store.adapter_state.get(account, key)

    async def put(self, account: str, key: str, value: bytes, now: datetime) -> None:
        await (await self._opened()).adapter_state.put(account, key, value, now)

    async def delete(self, account: str, key: str) -> bool:
        if self._store is None:
            return False
        return await self._store.adapter_state.delete(account, key)

    async def replace(
        self, account: str, key: str, old: bytes | None, new: bytes, now: datetime
    ) -> bool:
        return await (await self._opened()).adapter_state.replace(account, key, old, new, now)

    async def keys(self, account: str, prefix: str = "") -> list[str]:
        if self._store is None:
            return []
        return await self._store.adapter_state.keys(account, prefix)

    async def aclose(self) -> None:
        if self._store is not None:
            await self._store.close()
