"""The idempotency key of a work item."""

from __future__ import annotations

__all__ = ["work_key"]


def work_key(connection: str, register: str, instance: str, external_id: str) -> str:
    """The idempotency key of a record: one work item per (connection, register, shop, id)."""
    return "\x1f".join((connection, register, instance, external_id))
