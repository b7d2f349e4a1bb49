"""Durable per-account adapter state as an adapter sees it, and an in-memory stand-in."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["AdapterStateStore", "MemoryAdapterState"]


class AdapterStateStore(Protocol):
    """Opaque bytes by (account, key) that survive a restart: a rotating refresh token, an
    import job's id, orders a platform pushed. ``account`` names the remote account as the
    adapter chooses (e.g. ``"fortnox:<tenant>"``), so two connections on one account share
    it. Values may be secrets: the daemon never logs them."""

    async def get(self, account: str, key: str) -> bytes | None: ...

    async def put(self, account: str, key: str, value: bytes, now: datetime) -> None: ...

    async def delete(self, account: str, key: str) -> bool: ...

    async def replace(
        self, account: str, key: str, old: bytes | None, new: bytes, now: datetime
    ) -> bool:
        """Compare and set: store ``new`` only if the value is still ``old`` (None: only if
        there is none); False when somebody changed it first."""
        ...

    async def keys(self, account: str, prefix: str = "") -> list[str]:
        """The account's keys that start with ``prefix``, sorted."""
        ...


class MemoryAdapterState:
    """The same contract in memory: what an adapter gets where the daemon has no state file
    (``brygga check`` without one, adapter unit tests). Nothing survives the process."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], bytes] = {}

    async def get(self, account: str, key: str) -> bytes | None:
        return self._values.get((account, key))

    async def put(self, account: str, key: str, value: bytes, now: datetime) -> None:
        self._values[(account, key)] = bytes(value)

    async def delete(self, account: str, key: str) -> bool:
        return self._values.pop((account, key), None) is not None

    async def replace(
        self, account: str, key: str, old: bytes | None, new: bytes, now: datetime
    ) -> bool:
        if self._values.get((account, key)) != old:
            return False
        self._values[(account, key)] = bytes(new)
        return True

    async def keys(self, account: str, prefix: str = "") -> list[str]:
        return sorted(k for a, k in self._values if a == account and k.startswith(prefix))
