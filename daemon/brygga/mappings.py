"""Field mappings from plugins: ordered, synchronous transforms of canonical objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from brygga.errors import NothingToDo, PermanentError
from brygga.models import Register

__all__ = ["Mapping", "MappingContext", "Skip", "apply_mappings"]

T = TypeVar("T")


class Skip(Exception):
    """Raised by a transform to skip the record; ``reason`` is shown to the merchant."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MappingContext:
    """Where a record is going: a transform may act differently per connection or shop."""

    connection: str
    shop: str
    erp: str
    register: Register


@dataclass(frozen=True)
class Mapping:
    """A named transform of one register's canonical objects (e.g. Order for ``orders``)."""

    name: str
    register: Register
    transform: Callable[[Any, MappingContext], Any]
    order: int = 100
    description: str = ""
    plugin: str = ""


def apply_mappings(obj: T, mappings: Iterable[Mapping], context: MappingContext) -> T:
    """Run the register's mappings in order. A Skip becomes NothingToDo; any other exception
    becomes a PermanentError naming the mapping, so a broken plugin fails one record, not the
    daemon."""
    for mapping in sorted(
        (m for m in mappings if m.register == context.register), key=lambda m: (m.order, m.name)
    ):
        try:
            result = mapping.transform(obj, context)
        except Skip as skip:
            raise NothingToDo(f"skipped by mapping {mapping.name!r}: {skip.reason}") from None
        except Exception as exc:
            raise PermanentError(
                f"mapping {mapping.name!r} ({mapping.plugin or 'unknown plugin'}) failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if type(result) is not type(obj):
            raise PermanentError(
                f"mapping {mapping.name!r} returned {type(result).__name__}, "
                f"expected {type(obj).__name__}"
            )
        obj = result
    return obj
