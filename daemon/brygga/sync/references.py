"""The ERP external reference of a shop order, and the forced-replay generation that varies it."""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["Replay", "document_reference", "replay_of", "replay_payload"]


def document_reference(connection: str, shop: str, shop_order_id: str) -> str:
    """The ERP external reference for a shop order: stable, so a lookup finds earlier sends."""
    return f"brygga:{connection}:{shop}:{shop_order_id}"


@dataclass(frozen=True)
class Replay:
    """A forced replay, kept in an orders item's payload as ``{"replay": n, "replaces": doc}``:
    generation ``n`` > 0 sends a NEW document with reference ``document_reference(...)#r<n>``
    in place of ERP document ``replaces``."""

    generation: int = 0
    replaces: str = ""

    def reference(self, connection: str, shop: str, shop_order_id: str) -> str:
        base = document_reference(connection, shop, shop_order_id)
        return f"{base}#r{self.generation}" if self.generation > 0 else base


def replay_of(payload: bytes | None) -> Replay:
    """The replay generation in an orders item's payload (none, or anything else: 0)."""
    try:
        data = json.loads(payload or b"")
    except ValueError:
        return Replay()
    if not isinstance(data, dict) or not isinstance(data.get("replay"), int):
        return Replay()
    return Replay(data["replay"], str(data.get("replaces", "")))


def replay_payload(replay: Replay) -> bytes:
    return json.dumps({"replay": replay.generation, "replaces": replay.replaces}).encode()
